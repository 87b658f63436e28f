"""Backups on the target: the newest archive matching the configured glob, its age and size."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .target import Target, TargetError


@dataclass(frozen=True)
class Recency:
    directory: str
    pattern: str
    matches: int = 0
    path: Optional[str] = None      # newest match, or None when the glob matched nothing
    age_hours: Optional[float] = None
    size: Optional[int] = None
    error: Optional[str] = None


def newest_backup(target: Target, directory: str, pattern: str) -> Recency:
    """The newest regular file in `directory` whose name matches `pattern` (by modification time)."""
    st = target.stat(directory)
    if not st.exists:
        return Recency(directory, pattern, error=f"backup folder {directory} does not exist"
                       + (f" ({st.error})" if st.error else ""))
    try:
        found = target.files(directory, pattern)
        now = target.now()
    except TargetError as exc:
        return Recency(directory, pattern, error=str(exc))
    if not found:
        return Recency(directory, pattern, matches=0)
    path, mtime, size = max(found, key=lambda f: (f[1], f[0]))
    return Recency(directory, pattern, matches=len(found), path=path,
                   age_hours=round(max(0.0, now - mtime) / 3600, 2), size=size)
