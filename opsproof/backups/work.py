"""Backup work on a target from the validated `backups` config: plan or take, verify, restore drill, RPO; each done
once per run (RunCache), and what a run without --apply would do, in words.

The host-side entry point the fixtures call. The work itself runs where the archives are, through
opsproof.hosts.ship: opsproof.backups.take, .archive and .restore in this process for the local host,
shipped to python3 on a remote one. Passwords: for the local host a password in the DSN is handed to
pg_dump/pg_restore/psql through their environment; for a remote host it must come from the target's
own environment or ~/.pgpass (a password would otherwise travel on a command line).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..config import Backups
from ..hosts import ship as shipped
from ..hosts.target import Target, TargetError
from .archive import Verification
from .pgtools import split_password
from .restore import RestoreResult
from .take import BackupPlan, BackupResult, plan_backup

SHIP_ENV = "OPSPROOF_SHIP"  # "1": ship even to the local host (the tests prove the remote path this way)


@dataclass(frozen=True)
class Archive:
    path: str
    mtime: float
    size: int


def _ship() -> bool:
    return os.environ.get(SHIP_ENV) == "1"


def _remote(target: Target) -> bool:
    return not shipped.in_process(target, _ship())


def _password_problem(target: Target, backups: Backups) -> Optional[str]:
    dsns = [("backups.database.dsn", backups.database.dsn if backups.database else None),
            ("backups.restore.dsn", backups.restore.dsn)]
    for key, dsn in dsns:
        if dsn and split_password(dsn)[1] is not None and _remote(target):
            return (f"{key} carries a password, which cannot reach remote host {target.name} without showing on a "
                    "command line: remove it from the DSN and put it in ~/.pgpass (or PGPASSWORD) on the target")
    return None


def source_of(backups: Backups) -> tuple[str, str]:
    """(engine, source with the password removed) of the configured database."""
    db = backups.database
    if db is None:
        return "", ""
    return db.engine, (db.path or "") if db.engine == "sqlite" else split_password(db.dsn or "")[0]


def list_archives(target: Target, backups: Backups) -> list[Archive]:
    """Regular files in backups.dir matching backups.pattern, newest first (by modification time)."""
    found = target.files(backups.dir, backups.pattern)
    return [Archive(p, m, s) for p, m, s in sorted(found, key=lambda f: (f[1], f[0]), reverse=True)]


def plan(target: Target, backups: Backups) -> BackupPlan:
    engine, source = source_of(backups)
    if backups.database is None:
        return BackupPlan(engine, source, backups.dir, "", backups.keep,
                          error="no backups.database in the config: nothing to back up")
    try:
        listing = [(os.path.basename(a.path), a.mtime) for a in list_archives(target, backups)]
    except TargetError as exc:
        return BackupPlan(engine, source, backups.dir, "", backups.keep, error=str(exc))
    return plan_backup(listing, backups.dir, backups.pattern, backups.keep, engine, source)


def take(target: Target, backups: Backups) -> BackupResult:
    engine, source = source_of(backups)
    db = backups.database
    if db is None:
        return BackupResult(False, engine, source, backups.dir, error="no backups.database in the config")
    problem = _password_problem(target, backups)
    if problem:
        return BackupResult(False, engine, source, backups.dir, error=problem)
    kwargs = {"directory": backups.dir, "pattern": backups.pattern, "keep": backups.keep, "engine": db.engine,
              "path": db.path, "dsn": db.dsn}
    try:
        return shipped.call(target, "opsproof.backups.take:take_backup", kwargs, backups.timeout_s, BackupResult,
                            ship=_ship())
    except TargetError as exc:
        return BackupResult(False, engine, source, backups.dir, error=str(exc))


def unfinished(run: BackupResult) -> str:
    """Why a backup left no verified archive under its final name, as a sentence (its steps are in the evidence)."""
    if run.error:
        return f"the backup of {run.source} into {run.directory} failed: {run.error}"
    done = ", ".join(str(s.get("step")) for s in run.steps) or "no step"
    return (f"the backup of {run.source} into {run.directory} ended without a verified archive under its final name "
            f"(steps done: {done})")


def planned(plan: BackupPlan) -> str:
    """What the backup action would do, for a run that only plans."""
    removes = ", ".join(os.path.basename(p) for p in plan.would_remove) or "nothing"
    return (f"plan only (no --apply): would dump {plan.engine} {plan.source} into {plan.would_write}; "
            f"retention (backups.keep = {plan.keep}) would remove {removes}")


def verify(target: Target, path: str, backups: Backups) -> Verification:
    try:
        return shipped.call(target, "opsproof.backups.archive:verify", {"path": path}, backups.timeout_s,
                            Verification, ship=_ship())
    except TargetError as exc:
        return Verification(path, False, str(exc))


def drill(target: Target, path: str, backups: Backups) -> RestoreResult:
    problem = _password_problem(target, backups)
    if problem:
        return RestoreResult(False, path, reason=problem)
    db = backups.database
    queries: list[Any] = [q if isinstance(q, str) else q.model_dump() for q in backups.restore.smoke_queries]
    kwargs = {"path": path, "smoke_queries": queries, "scratch_dir": backups.restore.scratch_dir,
              "live_path": db.path if db else None, "dsn": db.dsn if db else None,
              "restore_dsn": backups.restore.dsn}
    try:
        return shipped.call(target, "opsproof.backups.restore:drill", kwargs, backups.timeout_s, RestoreResult,
                            ship=_ship())
    except TargetError as exc:
        return RestoreResult(False, path, reason=str(exc))


def drill_planned(backups: Backups, archives: list[Archive]) -> str:
    """What the restore drill would do, for a run that only plans."""
    where = (f"a scratch database on {backups.restore.dsn or 'the server of backups.database.dsn'}"
             if backups.database and backups.database.engine == "postgresql"
             else f"a temporary SQLite file in {backups.restore.scratch_dir or 'the temp folder'}")
    return (f"plan only (no --apply): would restore {', '.join(a.path for a in archives)} into {where}, run the smoke "
            "queries, compare row counts and drop it; the drill runs with --apply")


class RunCache:
    """Work done once per run, however many checks ask for it: by what it is and what it is done to."""

    def __init__(self) -> None:
        self._done: dict[tuple[Any, ...], Any] = {}

    def once(self, key: tuple[Any, ...], work: Callable[[], Any]) -> Any:
        if key not in self._done:
            self._done[key] = work()
        return self._done[key]


@dataclass(frozen=True)
class BackupWork:
    """The backup work on one target under its `backups` config, each piece done once per run (`cache`, the run's): a
    backup per host, a verification and a drill per archive (by host, path, mtime and size) — `-m "daily or weekly"`
    reads the newest archive once, and the RPO search reuses the monthly drill."""

    target: Target
    backups: Backups
    cache: RunCache

    def archives(self) -> list[Archive]:
        return list_archives(self.target, self.backups)

    def plan(self) -> BackupPlan:
        return plan(self.target, self.backups)

    def take(self) -> BackupResult:
        return self.cache.once(("take", self.target.name), lambda: take(self.target, self.backups))

    def verified(self, archive: Archive) -> Verification:
        return self.cache.once(("verify", self.target.name, archive.path, archive.mtime, archive.size),
                               lambda: verify(self.target, archive.path, self.backups))

    def drilled(self, archive: Archive) -> RestoreResult:
        return self.cache.once(("drill", self.target.name, archive.path, archive.mtime, archive.size),
                               lambda: drill(self.target, archive.path, self.backups))

    def newest_restorable(self, archives: list[Archive]) -> Rpo:
        """The RPO search over the kept archives, reusing this run's drills."""
        return newest_restorable(archives, self.backups.keep, self.drilled)


@dataclass(frozen=True)
class SizeAgainstPrevious:
    """An archive's size against the one before it (a sudden shrink means a partial dump)."""
    path: str
    size: int
    previous: Optional[str] = None
    previous_size: Optional[int] = None
    ratio: Optional[float] = None


def size_against_previous(archives: list[Archive], index: int) -> SizeAgainstPrevious:
    current = archives[index]
    if index + 1 >= len(archives):
        return SizeAgainstPrevious(current.path, current.size)
    prev = archives[index + 1]
    ratio = round(current.size / prev.size, 3) if prev.size else None
    return SizeAgainstPrevious(current.path, current.size, prev.path, prev.size, ratio)


@dataclass(frozen=True)
class Rpo:
    """The newest archive that restored, and its age: the data a disaster would lose at most."""
    newest_restorable: Optional[str]
    created_at: Optional[str]
    age_hours: Optional[float]
    tried: list[dict]                     # {archive, ok, reason}, newest first


def newest_restorable(archives: list[Archive], keep: int, restore: Callable[[Archive], RestoreResult]) -> Rpo:
    """The RPO search: the kept archives (newest first, at most `keep`) restored one by one with `restore` until one
    restores; every attempt is listed. No archive restoring leaves the RPO unknown (`newest_restorable` None)."""
    tried = []
    for archive in archives[:keep]:
        result = restore(archive)
        tried.append({"archive": archive.path, "ok": result.ok, "reason": result.reason})
        if result.ok:
            return Rpo(archive.path, result.created_at, result.age_hours, tried)
    return Rpo(None, None, None, tried)
