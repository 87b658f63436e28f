"""Backups on the target: the newest archive matching the configured glob, its age and size."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..hosts.target import Target, TargetError

FUTURE_TOLERANCE_S = 300  # clocks and file systems disagree by seconds; hours mean a wrong clock


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
        return Recency(directory, pattern, error=(f"cannot read backup folder {directory}: {st.error}" if st.error
                                                  else f"backup folder {directory} does not exist"))
    if st.is_file:  # find would list the file itself when its name matches the pattern
        return Recency(directory, pattern, error=f"backups.dir {directory} is a file, not a folder")
    try:
        found = target.files(directory, pattern)
        now = target.now()
    except TargetError as exc:
        return Recency(directory, pattern, error=str(exc))
    if not found:
        return Recency(directory, pattern, matches=0)
    path, mtime, size = max(found, key=lambda f: (f[1], f[0]))
    if mtime - now > FUTURE_TOLERANCE_S:  # a wrong clock, not a fresh backup: its age is unknown
        return Recency(directory, pattern, matches=len(found), path=path, size=size,
                       error=f"{path} is dated {(mtime - now) / 3600:.1f} h in the future of the target's clock: "
                             "its age cannot be judged (check the clocks of the host and of whatever wrote it)")
    return Recency(directory, pattern, matches=len(found), path=path,
                   age_hours=round(max(0.0, now - mtime) / 3600, 2), size=size)
