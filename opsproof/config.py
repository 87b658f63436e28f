"""maintenance.yaml: the contract users write, validated into one immutable object.

A bad file raises ConfigError naming the file, the key path and what is wrong; nothing else
in the suite runs before this succeeds. Paths: `root` is relative to the config file's
directory, every other relative path is relative to `root` (made absolute here, once).
"""
from __future__ import annotations

import hashlib
import os
import posixpath
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_NAME = "maintenance.yaml"
ENV_VAR = "OPSPROOF_CONFIG"


class ConfigError(Exception):
    """A configuration the suite cannot run with: file, key path, what is wrong, what to do."""

    def __init__(self, file: str, key: str, problem: str, hint: str = "") -> None:
        self.file, self.key, self.problem, self.hint = file, key, problem, hint
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + problem + (f" — {hint}" if hint else ""))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Percent = Field(ge=0, le=100)


class Disk(_Section):
    paths: list[str] = Field(min_length=1)
    max_used_percent: float = Field(85, ge=0, le=100)
    max_inodes_used_percent: float = Field(90, ge=0, le=100)
    forecast_min_days: float = Field(90, ge=0)


class Rotate(_Section):
    files: list[str] = Field(min_length=1)
    max_size_mb: float = Field(100, gt=0)
    keep: int = Field(7, ge=1)
    compress: bool = True
    every: Optional[str] = None
    postrotate: Optional[str] = None
    copytruncate: bool = False


class Logs(_Section):
    error_log: str
    error_pattern: str = "ERROR|CRITICAL|FATAL"
    max_new_errors: int = Field(0, ge=0)
    show_lines: int = Field(20, ge=0, le=1000)
    rotate: Optional[Rotate] = None

    @field_validator("error_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a Python regular expression ({exc}); nginx's [error] is written \\[error\\]")
        return value


class Temp(_Section):
    dirs: list[str] = Field(min_length=1)
    max_age_days: float = Field(7, gt=0)


class Database(_Section):
    engine: Literal["sqlite", "postgresql"]
    path: Optional[str] = None
    dsn: Optional[str] = None

    @model_validator(mode="after")
    def _needs_location(self) -> "Database":
        if self.engine == "sqlite" and not self.path:
            raise ValueError("engine sqlite needs path")
        if self.engine == "postgresql" and not self.dsn:
            raise ValueError("engine postgresql needs dsn")
        return self


class SmokeQuery(_Section):
    sql: str
    expect: Any = None


class Restore(_Section):
    rto_minutes: float = Field(30, gt=0)
    rpo_hours: float = Field(24, gt=0)
    smoke_queries: list[Union[str, SmokeQuery]] = []
    dsn: Optional[str] = None


class Backups(_Section):
    dir: str
    pattern: str = Field(min_length=1)
    max_age_hours: float = Field(26, gt=0)
    keep: int = Field(14, ge=1)
    min_size_bytes: int = Field(1024, ge=0)
    min_size_ratio: float = Field(0.5, ge=0, le=1)
    database: Optional[Database] = None
    restore: Restore = Restore()

    @field_validator("pattern")
    @classmethod
    def _plain_glob(cls, value: str) -> str:
        if "/" in value:
            raise ValueError("a file-name glob without '/': put the folder in backups.dir")
        return value


class Endpoint(_Section):
    url: str
    name: Optional[str] = None
    status: int = Field(200, ge=100, le=599)
    json_: Optional[dict[str, Any]] = Field(None, alias="json")
    contains: Optional[str] = None
    max_latency_ms: float = Field(1000, gt=0)
    timeout_s: float = Field(5, gt=0, le=300)
    retries: int = Field(0, ge=0, le=10)
    retry_delay_s: float = Field(1, ge=0, le=60)
    headers: dict[str, str] = {}
    verify_tls: bool = True

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or ''}{parts.path}".replace(":/", "/")


class Services(_Section):
    processes: list[str] = []
    ports: list[int] = []

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 0 < port < 65536:
                raise ValueError(f"port {port} is outside 1..65535")
        return value


class Monitoring(_Section):
    url: str
    timeout_s: float = Field(5, gt=0)


class Maint(_Section):
    """The validated configuration. `path`/`sha256` say where it came from."""

    service: str = Field(min_length=1)
    root: str = "."
    state_dir: Optional[str] = None
    command_timeout_s: float = Field(60, gt=0, le=3600)
    disk: Optional[Disk] = None
    logs: Optional[Logs] = None
    temp: Optional[Temp] = None
    backups: Optional[Backups] = None
    health: Optional[list[Endpoint]] = None
    services: Optional[Services] = None
    monitoring: Optional[Monitoring] = None
    rollback_plan: Optional[str] = None
    # Sections whose checks come with later work; accepted (the contract names them) and kept as given.
    slo: Optional[dict[str, Any]] = None
    security: Optional[dict[str, Any]] = None
    dependencies: Optional[dict[str, Any]] = None
    config_audit: Optional[dict[str, Any]] = None
    docs: Optional[dict[str, Any]] = None
    attestations: Optional[dict[str, Any]] = None
    window: Optional[dict[str, Any]] = None
    notify: Optional[dict[str, Any]] = None

    # Filled by load(), not by the user.
    path: str = Field("", exclude=True)
    sha256: str = Field("", exclude=True)

    def resolve(self, relative: str) -> str:
        """An absolute path on the target: relative paths resolve against `root`."""
        return posixpath.normpath(posixpath.join(self.root, relative))

    def secrets(self) -> list[str]:
        """Values the config itself marks secret: header values and URL passwords."""
        from urllib.parse import parse_qsl, urlsplit

        found: list[str] = []
        urls = [e.url for e in self.health or []]
        urls += [self.monitoring.url] if self.monitoring else []
        if self.backups and self.backups.database and self.backups.database.dsn:
            urls.append(self.backups.database.dsn)
        if self.backups and self.backups.restore.dsn:
            urls.append(self.backups.restore.dsn)
        if self.notify and isinstance(self.notify.get("webhook"), str):
            urls.append(self.notify["webhook"])
        for url in urls:
            parts = urlsplit(url)
            if parts.password:
                found.append(parts.password)
            for key, value in parse_qsl(parts.query):
                if any(word in key.lower() for word in ("token", "key", "secret", "pass", "sig", "auth")):
                    found.append(value)
        for endpoint in self.health or []:
            for key, value in endpoint.headers.items():
                if key.lower() in ("authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"):
                    found.append(value)
                    found.extend(value.split()[1:])  # the token after "Bearer"/"Basic"
        return found


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("json_",):
            out += ".json"
        else:
            out += ("." if out else "") + str(part)
    return out


def _hint(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "remove it or check its spelling against the README's config reference"
    if kind == "missing":
        return "add it: it names what to check"
    return "see the README's config reference"


def _message(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = err.get("msg", "invalid").removeprefix("Value error, ")
    if "input" in err and kind not in ("model_type", "dict_type", "list_type"):
        msg += f" (got {err['input']!r})"
    return msg


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
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(name, "", f"no such file (chosen by {source or 'the caller'})",
                          f"write one (see maintenance.yaml in the opsproof checkout), or pass --maint-config=PATH "
                          f"or set {ENV_VAR}")
    except OSError as exc:
        raise ConfigError(name, "", f"cannot be read: {exc.strerror}")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(name, "", f"YAML syntax error at {where}{problem}", "fix the YAML syntax")
    if not isinstance(data, dict):
        raise ConfigError(name, "", f"must be a mapping of sections, got {type(data).__name__}",
                          "start from the example maintenance.yaml")
    try:
        maint = Maint.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        key = _key_path(first["loc"])
        problem = _message(first) + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
        raise ConfigError(name, key, problem, _hint(first))
    root = Path(path.parent, maint.root).resolve()
    updates: dict[str, Any] = {
        "root": str(root),
        "path": name,
        "sha256": hashlib.sha256(raw).hexdigest(),
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
        changes["backups"] = maint.backups.model_copy(update=b_update)
    if maint.rollback_plan:
        changes["rollback_plan"] = r(maint.rollback_plan)
    return maint.model_copy(update=changes)
