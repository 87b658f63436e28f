"""Take a backup: a consistent dump, a MANIFEST, one .tar.gz that appears under its final name only when complete.

SQLite through the online backup API (a consistent snapshot while the application keeps writing);
PostgreSQL through `pg_dump -Fc` (password from the environment or ~/.pgpass, never a command line).
The dump and the archive are written in a private partial folder inside the backup folder, fsynced,
verified end to end (opsproof.backups.archive), and only then linked to their final name, so a process killed
mid-backup leaves nothing that the recency check accepts. Retention then keeps the `keep` newest
archives, deletes only files matching the pattern, and never the archive just verified.
Standard library only (isal optional): this module also runs on a remote target.
"""
from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from . import archive
from . import pgtools

PARTIAL = ".opsproof-partial-"


class BackupError(Exception):
    """Why no archive was produced."""


@dataclass(frozen=True)
class BackupResult:
    ok: bool
    engine: str
    source: str                          # the database, password removed
    directory: str
    path: Optional[str] = None           # the final archive
    size: int = 0
    seconds: float = 0.0
    steps: list[dict] = field(default_factory=list)     # {step, seconds}
    tables: dict[str, int] = field(default_factory=dict)
    verified: bool = False
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)    # retention
    stale_partials_removed: list[str] = field(default_factory=list)
    error: Optional[str] = None


@dataclass(frozen=True)
class BackupPlan:
    """What the backup action would do (a run without --apply)."""
    engine: str
    source: str
    directory: str
    would_write: str
    keep: int
    would_remove: list[str] = field(default_factory=list)
    error: Optional[str] = None


def archive_name(pattern: str, when: datetime, taken: set[str] = frozenset()) -> str:
    """A file name matching `pattern` with the UTC time in place of its one `*`."""
    if pattern.count("*") != 1 or any(c in pattern for c in "?[]"):
        raise BackupError(f"backups.pattern {pattern!r} needs exactly one '*' (and no ? or [ ]) to name a new archive")
    stamp = when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name, n = pattern.replace("*", stamp), 1
    while name in taken:  # two backups in one second
        n += 1
        name = pattern.replace("*", f"{stamp}-{n}")
    if fnmatch.fnmatchcase(PARTIAL + "x", pattern):
        raise BackupError(f"backups.pattern {pattern!r} also matches partial files ({PARTIAL}*): make it more specific")
    return name


def matching(directory: str, pattern: str) -> list[tuple[str, float]]:
    """(name, mtime) of regular files (not links) in `directory` matching `pattern`, newest first."""
    out = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if fnmatch.fnmatchcase(entry.name, pattern) and entry.is_file(follow_symlinks=False):
                out.append((entry.name, entry.stat(follow_symlinks=False).st_mtime))
    return sorted(out, key=lambda e: (e[1], e[0]), reverse=True)


def retention_split(names_newest_first: list[str], keep: int, protect: Optional[str]) -> tuple[list[str], list[str]]:
    """(kept, to delete): the `keep` newest, plus `protect` (the newest verified archive) wherever it is."""
    kept = names_newest_first[:keep]
    drop = [n for n in names_newest_first[keep:] if n != protect]
    if protect and protect not in kept and protect in names_newest_first:
        kept.append(protect)
    return kept, drop


def plan_backup(listing: list[tuple[str, float]], directory: str, pattern: str, keep: int, engine: str,
                source: str, now: Optional[datetime] = None) -> BackupPlan:
    """The plan, from the current listing [(name, mtime)] of the backup folder."""
    now = now or datetime.now(timezone.utc)
    names = [n for n, _ in sorted(listing, key=lambda e: (e[1], e[0]), reverse=True)]
    try:
        name = archive_name(pattern, now, set(names))
    except BackupError as exc:
        return BackupPlan(engine, source, directory, "", keep, error=str(exc))
    _, drop = retention_split([name] + names, keep, name)
    return BackupPlan(engine, source, directory, os.path.join(directory, name), keep,
                      [os.path.join(directory, n) for n in drop])


def _remaining(deadline: Optional[float]) -> float:
    if deadline is None:
        return 24 * 3600.0
    left = deadline - time.monotonic()
    if left <= 0:
        raise BackupError("the backup did not finish within backups.timeout_s")
    return left


def _remove_stale_partials(directory: str) -> list[str]:
    """Partial folders left by killed backups (their process is gone)."""
    removed = []
    for entry in os.scandir(directory):
        if not entry.name.startswith(PARTIAL) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            pid = int(entry.name[len(PARTIAL):].split("-", 1)[0])
            os.kill(pid, 0)
            continue  # still running: another backup in progress
        except (ValueError, ProcessLookupError):
            pass
        except PermissionError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _sqlite_dump(path: str, out: str, deadline: Optional[float]) -> dict[str, int]:
    if not os.path.isfile(path):
        raise BackupError(f"SQLite database {path} does not exist")
    # mode=rw: never create an empty database where the configured one is missing.
    src = sqlite3.connect(Path(path).absolute().as_uri() + "?mode=rw", uri=True, timeout=1)
    try:
        dst = sqlite3.connect(out)
        try:
            # One step: a consistent snapshot even while writers commit. The progress callback also runs
            # while the source is locked (busy retries), so a lock held forever meets the deadline.
            src.backup(dst, pages=-1, progress=lambda *_: _remaining(deadline))
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file, no -wal beside it
            names = [r[0] for r in dst.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            return {n: dst.execute(f'SELECT count(*) FROM "{n.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
                    for n in names}
        finally:
            dst.close()
    finally:
        src.close()


def _pg_dump(dsn: str, password: Optional[str], out: str, deadline: Optional[float]) -> dict[str, int]:
    # -Z0: the archive's gzip layer compresses (once), and its CRC then covers every byte of the dump.
    pgtools.run(["pg_dump", "-w", "-Fc", "-Z", "0", "--file", out, "--dbname", dsn], password, _remaining(deadline))
    return pgtools.dump_row_counts(out, _remaining(deadline))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        while True:
            n = fh.readinto(buf)
            if not n:
                return digest.hexdigest()
            digest.update(view[:n])


def _gzip_writer(raw: io.BufferedWriter, mtime: float):
    try:
        from isal import igzip
        return igzip.GzipFile(fileobj=raw, mode="wb", compresslevel=2, mtime=mtime)
    except ImportError:  # pragma: no cover - depends on the host
        import gzip
        return gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=mtime)


def write_archive(out: str, dump: str, member: str, manifest: dict) -> None:
    """MANIFEST.json first (so a verifier can compare as it streams), then the dump; fsynced."""
    data = json.dumps(manifest, indent=1, sort_keys=True).encode()
    stamp = int(time.time())
    with open(out, "xb") as raw:
        os.chmod(out, 0o600)
        with _gzip_writer(raw, stamp) as gz, tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT,
                                                         copybufsize=1 << 20) as tar:
            info = tarfile.TarInfo(archive.MANIFEST)
            info.size, info.mtime, info.mode = len(data), stamp, 0o600
            tar.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo(member)
            info.size, info.mtime, info.mode = os.path.getsize(dump), stamp, 0o600
            with open(dump, "rb") as fh:
                tar.addfile(info, fh)
        raw.flush()
        os.fsync(raw.fileno())


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def take_backup(directory: str, pattern: str, keep: int, engine: str, path: Optional[str] = None,
                dsn: Optional[str] = None, password: Optional[str] = None, deadline: Optional[float] = None,
                now: Optional[datetime] = None) -> BackupResult:
    """Dump, archive, verify, publish under the final name, apply retention. Never raises for a failed backup."""
    started = time.monotonic()
    steps: list[dict] = []
    if engine == "postgresql":
        dsn, inline = pgtools.split_password(dsn or "")
        password = password if password is not None else inline
        source = dsn
    else:
        source = path or ""
    base = BackupResult(False, engine, source, directory)

    def step(name: str, t0: float) -> None:
        steps.append({"step": name, "seconds": round(time.monotonic() - t0, 3)})

    scratch = published = None
    try:
        if not os.path.isdir(directory):
            raise BackupError(f"backup folder {directory} does not exist")
        stale = _remove_stale_partials(directory)
        now = now or datetime.now(timezone.utc)
        name = archive_name(pattern, now, {n for n, _ in matching(directory, pattern)})
        scratch = tempfile.mkdtemp(prefix=f"{PARTIAL}{os.getpid()}-", dir=directory)
        t0 = time.monotonic()
        if engine == "sqlite":
            member = os.path.basename(path or "database.sqlite3")
            dump = os.path.join(scratch, member)
            tables = _sqlite_dump(path or "", dump, deadline)
        elif engine == "postgresql":
            member = (pgtools.dbname(dsn or "") or "database") + ".pgdump"
            dump = os.path.join(scratch, member)
            tables = _pg_dump(dsn or "", password, dump, deadline)
        else:
            raise BackupError(f"unknown engine {engine!r}")
        step("dump", t0)
        _remaining(deadline)
        t0 = time.monotonic()
        manifest = {"format": 1, "engine": engine, "source": source,
                    "created_at": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "dump": member,
                    "members": [{"name": member, "size": os.path.getsize(dump), "sha256": _sha256(dump)}],
                    "tables": tables}
        partial = os.path.join(scratch, "archive.tar.gz")
        write_archive(partial, dump, member, manifest)
        step("archive", t0)
        t0 = time.monotonic()
        check = archive.verify(partial, deadline=deadline)
        step("verify", t0)
        if not check.ok:
            raise BackupError(f"the new archive failed its own verification: {check.reason}")
        final = os.path.join(directory, name)
        try:
            os.link(partial, final)  # never replaces an existing file
        except FileExistsError:
            raise BackupError(f"{final} appeared while the backup ran (is another backup running?)") from None
        except OSError:
            if os.path.exists(final):
                raise BackupError(f"{final} already exists") from None
            os.rename(partial, final)
        _fsync_dir(directory)
        published = final
        t0 = time.monotonic()
        kept, drop = retention_split([n for n, _ in matching(directory, pattern)], keep, name)
        removed = []
        for victim in drop:
            os.unlink(os.path.join(directory, victim))
            removed.append(os.path.join(directory, victim))
        step("retention", t0)
        return BackupResult(True, engine, source, directory, final, os.path.getsize(final),
                            round(time.monotonic() - started, 3), steps, tables, True,
                            [os.path.join(directory, n) for n in kept], removed, stale)
    except (BackupError, pgtools.PgError, sqlite3.Error, OSError) as exc:
        reason = str(exc) if not isinstance(exc, sqlite3.Error) else f"SQLite: {exc}"
        if published:
            reason = f"{published} was published, but retention failed: {reason}"
        return BackupResult(**{**base.__dict__, "seconds": round(time.monotonic() - started, 3), "steps": steps,
                               "path": published, "verified": bool(published), "error": reason})
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
