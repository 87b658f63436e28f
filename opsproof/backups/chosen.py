"""Which archives a backup check reads, and what it says when there is none to read.

- The kept archives (the newest backups.keep matching backups.pattern): on a local target listed at collection, so
  each is its own item and one damaged archive never hides another; elsewhere (or when none exists yet) one item,
  EVERY, checks each kept archive found when it runs. How many were kept is a coverage note, not a skipped item per
  missing position.
- The backup maintenance can fall back on: the one this run took (premaintenance with --apply), else the newest.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from ..charts.drawing import Chart
from ..config import Backups
from ..hosts.target import Target, TargetError
from .archive import Verification
from .take import BackupResult
from .work import Archive, BackupWork, list_archives

EVERY = None  # the kept archive of an item that checks every kept archive found when it runs


def kept_paths(target: Target, backups: Backups) -> list[Optional[str]]:
    """The kept archives' paths on `target`, newest first; [EVERY] when none can be listed (yet)."""
    try:
        found = list_archives(target, backups)[:backups.keep]
    except TargetError:
        found = []
    return [a.path for a in found] or [EVERY]


def item_id(path: Optional[str]) -> str:
    return os.path.basename(path) if path else "every-kept"


def missing(archives: list[Archive], backups: Backups) -> Optional[str]:
    """Why there is nothing to check (no archive at all), or None."""
    if archives:
        return None
    return (f"no file matches {backups.pattern!r} in {backups.dir}: there is no backup to check — take one "
            "(pytest -m daily --apply) and find why the schedule stopped")


@dataclass(frozen=True)
class Kept:
    """The positions (in the listing read now) an item checks, the coverage note, and why its archive is gone."""

    positions: list[int] = field(default_factory=list)
    note: str = ""
    gone: Optional[str] = None


def kept(archives: list[Archive], kept_archive: Optional[str], backups: Backups) -> Kept:
    """The item's own archive (`kept_archive`, listed at collection), or every kept one (EVERY)."""
    count = min(len(archives), backups.keep)
    note = f"backups: {count} archive{'' if count == 1 else 's'} kept, backups.keep = {backups.keep}"
    if kept_archive is EVERY:
        return Kept(list(range(count)), note)
    paths = [a.path for a in archives]
    if kept_archive not in paths:
        return Kept([], note, f"{os.path.basename(kept_archive)} is no longer in {backups.dir}: removed since "
                              f"collection (by this run's backup retention, backups.keep = {backups.keep}, or by hand)")
    return Kept([paths.index(kept_archive)], note)


@dataclass
class BackupBeforeMaintenance:
    """The backup maintenance can fall back on: taken by this run (--apply) or the newest found; its age and its
    reading."""

    path: Optional[str]
    taken_by_this_run: bool
    age_minutes: Optional[float] = None
    verified: bool = False
    reason: Optional[str] = None        # why it does not read end to end
    error: Optional[str] = None


def takes_fresh(run: Any, backups: Optional[Backups]) -> bool:
    """Whether `run` (a report.run.RunRecord) takes a fresh backup before maintenance, before any recency is read: a
    premaintenance run with --apply, with a database to dump."""
    return bool(run.apply and run.selects("premaintenance") and backups and backups.database)


def before_maintenance(work: BackupWork, taken: Optional[BackupResult]
                       ) -> tuple[BackupBeforeMaintenance, Optional[Verification]]:
    """The backup `taken` by this run (None: none was), else the newest found, read end to end (once per run); and
    that reading (None when there was nothing to read). Raises TargetError when the archives cannot be listed."""
    if taken is not None and taken.error:
        return BackupBeforeMaintenance(taken.path, True, error=f"the backup failed: {taken.error}"), None
    backups = work.backups
    archives, now = work.archives(), work.target.now()
    chosen = [a for a in archives if a.path == taken.path] if taken else archives[:1]
    if not chosen:
        why = (f"the backup action reported {taken.path}, which is not among the files matching {backups.pattern!r} "
               f"in {backups.dir}" if taken else f"no file matches {backups.pattern!r} in {backups.dir}")
        return BackupBeforeMaintenance(None, taken is not None, error=why), None
    archive = chosen[0]
    check = work.verified(archive)
    return BackupBeforeMaintenance(archive.path, taken is not None, round(max(0.0, now - archive.mtime) / 60, 1),
                                   check.ok, check.reason), check


def sizes_chart(archives: list[Archive], backups: Backups, host: str) -> Chart:
    """Every archive matching backups.pattern, its size by date against backups.min_size_bytes (a picture of the
    trend the one-number check cannot show: a dump that shrinks a little every night)."""
    title = f"{len(archives)} archive(s) matching {backups.pattern} in {backups.dir} on {host}"
    return Chart("opsproof.charts.backups:sizes_chart", ([(a.mtime, a.size) for a in archives],
                                                         backups.min_size_bytes, title), "backup sizes over time")
