"""Find, read, validate and resolve one maintenance config; errors name file, key path and fix."""
from __future__ import annotations

import hashlib
import os
from functools import partial
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from . import hosts, inputs
from .base import DEFAULT_NAME, ENV_VAR, ConfigError, hint, key_path, message
from .model import Maint
from .openslo import resolved_slo
from .security import security_paths

_TOO_LARGE = "a maintenance config is written by hand: is this the file you meant?"


def find(cli_path: Optional[str], rootdir: str) -> tuple[Path, str]:
    """Which config file is in effect and why: --maint-config, then OPSPROOF_CONFIG, then the default."""
    if cli_path:
        return Path(cli_path).expanduser().absolute(), "--maint-config"
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser().absolute(), ENV_VAR
    return Path(rootdir, DEFAULT_NAME).absolute(), f"the default ({DEFAULT_NAME} in {rootdir})"


def load(path: Path, source: str = "") -> Maint:
    """Read, parse and validate one config file, or raise ConfigError."""
    name = str(path)
    try:
        raw, data = inputs.read_yaml(path, hint=_TOO_LARGE)
    except FileNotFoundError:
        raise ConfigError(name, "", f"no such file (chosen by {source or 'the caller'})",
                          f"write one (see maintenance.yaml in the opsproof checkout), or pass --maint-config=PATH "
                          f"or set {ENV_VAR}")
    if not isinstance(data, dict):
        raise ConfigError(name, "", f"must be a mapping of sections, got {type(data).__name__}",
                          "start from the example maintenance.yaml")
    maint = _build(name, path, hashlib.sha256(raw).hexdigest(), data)
    groups = {group: hosts.validated(name, [group], data, [spec.overrides], partial(_build, name, path, maint.sha256))
              for group, spec in (maint.hosts or {}).items()}
    maint = maint.model_copy(update={"groups": groups, "settings": data})
    for names in hosts.listed_together(maint.hosts or {}):  # as the run will combine them (hosts/fleet.py plan)
        for_groups(maint, names)
    return maint


def for_groups(maint: Maint, names: list[str]) -> Maint:
    """The config of a host in these `hosts:` groups (file order): the top level with their overrides in turn."""
    if not names:
        return maint
    if len(names) == 1:
        return maint.groups[names[0]]
    assert maint.hosts is not None
    build = partial(_build, maint.path, Path(maint.path), maint.sha256)
    return hosts.validated(maint.path, names, maint.settings, [maint.hosts[n].overrides for n in names], build)


def _build(name: str, path: Path, sha256: str, data: dict) -> Maint:
    """Validate one set of settings and resolve its paths (root against the config file's folder)."""
    try:
        maint = Maint.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        problem = message(first) + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
        raise ConfigError(name, key_path(first["loc"]), problem, hint(first))
    root = Path(path.parent, maint.root).resolve()
    updates: dict[str, Any] = {
        "root": str(root),
        "path": name,
        "sha256": sha256,
        "state_dir": str(Path(path.parent, maint.state_dir or ".opsproof").resolve()),
    }
    return _resolved(maint.model_copy(update=updates))


def _resolved(maint: Maint) -> Maint:
    """Make every configured relative path absolute against root, once."""
    r = maint.resolve
    changes: dict[str, Any] = {}
    if maint.disk:
        changes["disk"] = maint.disk.model_copy(update={"paths": [r(p) for p in maint.disk.paths]})
    if maint.logs:
        logs_update: dict[str, Any] = {"error_log": r(maint.logs.error_log)}
        if maint.logs.rotate:
            logs_update["rotate"] = maint.logs.rotate.model_copy(update={"files": [r(f) for f in maint.logs.rotate.files]})
        changes["logs"] = maint.logs.model_copy(update=logs_update)
    if maint.temp:
        changes["temp"] = maint.temp.model_copy(update={"dirs": [r(d) for d in maint.temp.dirs]})
    if maint.backups:
        b_update: dict[str, Any] = {"dir": r(maint.backups.dir)}
        db = maint.backups.database
        if db and db.path:
            b_update["database"] = db.model_copy(update={"path": r(db.path)})
        if maint.backups.restore.scratch_dir:
            b_update["restore"] = maint.backups.restore.model_copy(update={"scratch_dir": r(maint.backups.restore.scratch_dir)})
        changes["backups"] = maint.backups.model_copy(update=b_update)
    if maint.rollback_plan:
        changes["rollback_plan"] = r(maint.rollback_plan)
    changes["work_dir"] = r(maint.work_dir)
    if maint.docs:
        changes["docs"] = maint.docs.model_copy(update={"dir": r(maint.docs.dir)})
    if maint.attestations:
        changes["attestations"] = maint.attestations.model_copy(update={"file": r(maint.attestations.file)})
    changes.update(security_paths(maint, r))  # security, dependencies, config_audit
    if maint.slo:  # OpenSLO documents become objectives; a bad one is a ConfigError
        changes["slo"] = resolved_slo(maint.slo, r, maint.path)
    return maint.model_copy(update=changes)
