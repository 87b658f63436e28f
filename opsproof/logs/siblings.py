"""A log's rotated siblings in logrotate's order: NAME.1, NAME.2.gz, ..., then dateext copies NAME-20260101[.gz].

One reading of logrotate's naming for every reader of rotated logs (the error scan, the access-log
aggregates, the rotation outcome). Numbered copies come newest first (logrotate renames NAME to NAME.1
and shifts the older ones up), a plain copy before a compressed one of the same number (NAME.1 while
NAME.1.gz is being written). Dateext copies (`-%Y%m%d`, hourly `-%Y%m%d%H`, or `-%s`: eight digits or
more) follow, newest first. Standard library only: it may be shipped to a target.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional

COMPRESSED = (".gz", ".bz2", ".xz", ".zst")
_SUFFIX = re.compile(r"(?:\.(?P<number>\d+)|-(?P<date>\d{8,}))(?P<compression>\.gz|\.bz2|\.xz|\.zst)?")
_TAIL = re.compile(_SUFFIX.pattern + "$")


@dataclass(frozen=True)
class Rotated:
    """One rotated copy of a log, as its name tells (and, when listed on a target, its mtime and size)."""

    path: str
    number: Optional[int] = None     # NAME.N
    date: Optional[str] = None       # NAME-DATE (logrotate's dateext)
    compression: str = ""            # "", ".gz", ".bz2", ".xz" or ".zst"
    mtime: float = 0.0
    size: int = 0

    @property
    def compressed(self) -> bool:
        return bool(self.compression)


def parse(log: str, path: str, mtime: float = 0.0, size: int = 0) -> Optional[Rotated]:
    """`path` as a rotated copy of `log`, or None when its name is not one."""
    if not path.startswith(log):
        return None
    found = _SUFFIX.fullmatch(path[len(log):])
    if found is None:
        return None
    number = found.group("number")
    return Rotated(path, int(number) if number else None, found.group("date"), found.group("compression") or "",
                   mtime, size)


def _order(r: Rotated) -> tuple:
    if r.number is not None:
        return (0, r.number, r.compressed)
    return (1, -int(r.date or 0), r.compressed)


def select(log: str, listing: Iterable[Any]) -> list[Rotated]:
    """The rotated copies of `log` among `listing` (paths, or (path, mtime, size) as Target.files gives), in order."""
    found = []
    for entry in listing:
        path, mtime, size = (entry, 0.0, 0) if isinstance(entry, str) else entry
        rotated = parse(log, path, mtime, size)
        if rotated is not None:
            found.append(rotated)
    return sorted(found, key=_order)


def is_rotated(path: str) -> bool:
    """Whether the name ends like a rotated copy (NAME.1, NAME.2.gz, NAME-20260101): not an active log."""
    return _TAIL.search(path) is not None
