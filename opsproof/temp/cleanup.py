"""Temp cleanup: regular files older than temp.max_age_days (by mtime) and empty directories, safely.

The walk (opsproof/temp/walk.py) runs where the files are, through opsproof.hosts.ship: in this
process for a local target, shipped to python3 on a remote one (the same code, standard library
only; a target without python3 is told so, nothing is removed). Age is mtime only: atime is
unreliable (noatime/relatime mounts) and reading a file must not keep it alive; ctime changes on
chmod/chown/link counts and cannot be set back, so a restore or a `chown -R` would make every file
look new.
"""
from __future__ import annotations

import json
import os
import posixpath
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from . import walk as tempwalk
from ..hosts import ship as shipped
from ..hosts.target import Target, TargetError


@dataclass
class CleanupResult:
    """What the cleanup of one temp dir removed (apply) or would remove (plan), and what it kept and why."""

    dir: str
    mode: str                                   # plan | apply
    max_age_days: float
    cutoff_utc: str = ""
    removed_count: int = 0                      # files removed (or that would be)
    bytes_freed: int = 0                        # their sizes
    disk_bytes_freed: int = 0                   # their allocated blocks
    removed: list[str] = field(default_factory=list)        # first 200, relative to dir
    dirs_removed: list[str] = field(default_factory=list)
    kept_young: int = 0
    oldest_left_days: float = 0.0               # age of the oldest regular file left that no safety rule protects
    skipped: dict[str, list[str]] = field(default_factory=dict)  # why kept although old: open, symlink, ...
    unreadable_processes: int = 0               # processes whose open files could not be seen (not root)
    walker: str = ""                            # in-process | python3 on the target
    duration_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    error: Optional[str] = None                 # the dir could not be cleaned at all


def _keep(directory: str, work_dir: Optional[str]) -> list[str]:
    if work_dir and (work_dir + "/").startswith(directory.rstrip("/") + "/") and work_dir != directory:
        return [posixpath.relpath(work_dir, directory)]
    return []


def clean_dir(target: Target, directory: str, max_age_days: float, apply: bool, exclude: list[str] = (),
              remove_empty: bool = True, work_dir: Optional[str] = None, ship: bool = False) -> CleanupResult:
    """Clean one directory on the target (plan without `apply`); `ship` as in opsproof.hosts.ship.call."""
    started = time.monotonic()
    out = CleanupResult(dir=directory, mode="apply" if apply else "plan", max_age_days=max_age_days)
    args: dict[str, Any] = {"root": directory, "max_age_s": max_age_days * 86400, "apply": apply,
                            "exclude": list(exclude), "remove_empty": remove_empty, "keep": _keep(directory, work_dir)}
    out.walker = "in-process" if shipped.in_process(target, ship) else "python3 on the target"
    try:
        raw = shipped.call(target, "opsproof.temp.walk:clean", args, target.timeout_s, dict, ship=ship)
    except shipped.NoPython:
        out.error = (f"python3 is not installed on {target.name}: the safe cleanup walk (descriptor-relative, "
                     "no symlinks followed) runs with it; nothing was removed")
        return out
    except (TargetError, ValueError, OSError) as exc:
        out.error = str(exc)
        return out
    finally:
        out.duration_s = round(time.monotonic() - started, 3)
    out.error = raw.get("error")
    out.cutoff_utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(raw["cutoff"]))
    out.unreadable_processes = raw.get("unreadable_processes", 0)
    for key in ("removed_count", "bytes_freed", "disk_bytes_freed", "removed", "dirs_removed", "kept_young",
                "oldest_left_days", "errors"):
        if key in raw:
            setattr(out, key, raw[key])
    out.skipped = {k: v for k, v in raw.get("skipped", {}).items() if v}
    return out


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


if __name__ == "__main__":  # pragma: no cover - a manual entry point: python -m opsproof.temp.cleanup DIR DAYS
    import sys

    print(json.dumps(tempwalk.clean(os.path.abspath(sys.argv[1]), float(sys.argv[2]) * 86400, apply=False), indent=1))


def clean_dirs(target: Target, temp: Any, apply: bool, work_dir: Optional[str] = None) -> dict[str, CleanupResult]:
    """Every dir of the config's temp: section cleaned (planned without `apply`), by dir."""
    return {d: clean_dir(target, d, temp.max_age_days, apply, temp.exclude, temp.remove_empty_dirs, work_dir)
            for d in temp.dirs}
