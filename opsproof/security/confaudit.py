"""Configuration audit: files under config_audit.files against a baseline of SHA-256 checksums (sha256sum's
format, so `cd ROOT && sha256sum -c BASELINE` reads it), and their permissions. Only names reach the evidence:
configuration files hold secrets, so neither contents nor checksums are reported."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Optional

from ..config.security import ConfigAudit
from ..hosts.target import Target, TargetError

_GLOB = re.compile(r"[*?\[]")


@dataclass
class ConfigAuditResult:
    baseline: str
    files: int = 0
    added: list[str] = field(default_factory=list)        # present now, not in the baseline
    removed: list[str] = field(default_factory=list)      # in the baseline, gone now
    changed: list[str] = field(default_factory=list)      # checksum differs from the baseline
    world_readable: list[str] = field(default_factory=list)
    world_writable: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)    # globs that matched no file
    error: Optional[str] = None
    fix: str = ""

    @property
    def drift(self) -> list[str]:
        return ([f"added: {n}" for n in self.added] + [f"removed: {n}" for n in self.removed]
                + [f"changed: {n}" for n in self.changed])


def _find(target: Target, pattern: str) -> list[tuple[str, int]]:
    """(path, mode) of regular files matching a glob whose folders are fixed: find at the glob's exact depth."""
    parts = pattern.split("/")
    fixed = next((i for i, p in enumerate(parts) if _GLOB.search(p)), len(parts) - 1)
    base = "/".join(parts[:fixed]) or "/"
    depth = len(parts) - fixed
    run = target.run("find %s -mindepth %s -maxdepth %s -path %s -type f -printf '%%m %%p\\n'",
                     base, depth, depth, pattern, check=False)
    if run.rc != 0 and "No such file" not in run.stderr:
        raise TargetError(f"{target.name}: cannot list {pattern}: {run.stderr.strip()[:300]}")
    out = []
    for line in run.stdout.splitlines():
        mode, path = line.split(" ", 1)
        out.append((path, int(mode, 8)))
    return out


def _shown(root: str, path: str) -> str:
    """A path as the baseline writes it: relative to root when inside it, so sha256sum -c runs from root."""
    rel = posixpath.relpath(path, root)
    return path if rel.startswith("..") else rel


def scan(target: Target, cfg: ConfigAudit, root: str) -> tuple[dict[str, str], dict[str, int], list[str]]:
    """({shown path: sha256}, {shown path: mode}, globs matching nothing) of the configured files, on the target."""
    modes: dict[str, int] = {}
    real: dict[str, str] = {}
    unmatched = []
    for pattern in cfg.files:
        found = _find(target, pattern)
        if not found:
            unmatched.append(_shown(root, pattern))
        for path, mode in found:
            if path == cfg.baseline:                 # the baseline is not a configuration file of its own
                continue
            modes[_shown(root, path)] = mode
            real[_shown(root, path)] = path
    sums: dict[str, str] = {}
    paths = sorted(real.values())
    for start in range(0, len(paths), 200):
        chunk = paths[start:start + 200]
        out = target.run("sha256sum -- " + " ".join(["%s"] * len(chunk)), *chunk).stdout
        for line in out.splitlines():
            digest, path = line.split("  ", 1)
            sums[_shown(root, path)] = digest.lstrip("\\")
    return sums, modes, unmatched


def read_baseline(text: str) -> dict[str, str]:
    """sha256sum's lines `<hex>  <path>` (or `<hex> *<path>`) as {path: hex}."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\\?([0-9a-f]{64}) [ *](.+)$", line.strip())
        if m:
            out[m.group(2)] = m.group(1)
    return out


def audit(target: Target, cfg: ConfigAudit, root: str) -> ConfigAuditResult:
    result = ConfigAuditResult(_shown(root, cfg.baseline))
    try:
        st = target.stat(cfg.baseline)
        if not st.exists:
            result.error = f"no baseline {cfg.baseline} on {target.name}: drift cannot be measured"
            result.fix = "write it once the files are as approved: opsproof baseline --maint-config=PATH"
            return result
        baseline = read_baseline(target.read_range(cfg.baseline, 0, st.size or 0).decode("utf-8", "replace"))
        sums, modes, result.unmatched = scan(target, cfg, root)
    except TargetError as exc:
        result.error = str(exc)
        return result
    if not sums:
        gone = f" (the baseline lists {len(baseline)} file(s), none there now)" if baseline else ""
        result.error = (f"config_audit.files match no file on {target.name}: {', '.join(result.unmatched)}{gone}: "
                        "nothing to audit")
        result.fix = "fix config_audit.files (globs relative to root, or absolute paths on the target)"
        return result
    result.files = len(sums)
    result.added = sorted(set(sums) - set(baseline))
    result.removed = sorted(set(baseline) - set(sums))
    result.changed = sorted(p for p in set(sums) & set(baseline) if sums[p] != baseline[p])
    result.world_readable = sorted(p for p, m in modes.items() if m & 0o004)
    result.world_writable = sorted(p for p, m in modes.items() if m & 0o002)
    return result


@dataclass
class BaselineWritten:
    path: str
    files: list[str]
    unmatched: list[str]                             # when not empty, nothing was written

    @property
    def written(self) -> bool:
        return not self.unmatched


def write_baseline(target: Target, cfg: ConfigAudit, root: str) -> BaselineWritten:
    """Write cfg.baseline on the target (a temp name, then renamed): one sha256sum line per file, sorted.
    A pattern matching no file writes nothing: the audit would otherwise approve a typo for good."""
    sums, _, unmatched = scan(target, cfg, root)
    if unmatched:
        return BaselineWritten(cfg.baseline, sorted(sums), unmatched)
    text = "".join(f"{sums[p]}  {p}\n" for p in sorted(sums))
    tmp = f"{cfg.baseline}.tmp"
    target.run("mkdir -p %s && printf '%%s' %s > %s && mv -f %s %s", posixpath.dirname(cfg.baseline), text, tmp, tmp,
               cfg.baseline)
    return BaselineWritten(cfg.baseline, sorted(sums), unmatched)
