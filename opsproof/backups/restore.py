"""The restore drill: prove an archive restores, into a scratch target only, and time it (RTO, RPO).

Steps, each timed: verify the archive end to end; extract it into a fresh temporary folder with
tarfile's `data` filter; load it into a scratch target (a temporary SQLite file, checked with
`PRAGMA integrity_check`; or a scratch PostgreSQL database created for the drill, restored with
`pg_restore --no-owner --no-privileges` and dropped afterwards); run the smoke queries; compare every
table's row count with the MANIFEST. Never the live database. RTO is the time from the start to a
restored database that answered the smoke queries; the archive's age (MANIFEST created_at) gives RPO.
Standard library only (isal optional): this module also runs on a remote target.
"""
from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Union

from . import archive
from . import pgtools

Query = Union[str, dict]


class DrillError(Exception):
    """Why the drill failed; the text is the reason an auditor reads."""


@dataclass(frozen=True)
class RestoreResult:
    ok: bool
    archive: str
    engine: Optional[str] = None
    created_at: Optional[str] = None
    age_hours: Optional[float] = None      # how old the restored data is (RPO of this archive)
    rto_seconds: Optional[float] = None    # start of the drill -> restored database answered the smoke queries
    scratch: Optional[str] = None          # the temporary SQLite file or scratch database name
    dropped: bool = False                  # the scratch target was removed afterwards
    steps: list[dict] = field(default_factory=list)     # {step, seconds, ok, detail}
    queries: list[dict] = field(default_factory=list)   # {sql, expect, result, ok, error}
    counts: list[dict] = field(default_factory=list)    # {table, manifest, restored, ok}
    reason: Optional[str] = None

    def failure(self) -> str:
        """Why the drill did not restore, as a clause: the archive and the first step, query or count that failed."""
        return f"{self.archive} did not restore: {self.reason or 'the drill reported no reason'}"


def age_hours(created_at: Optional[str], now: Optional[float] = None) -> Optional[float]:
    if not created_at:
        return None
    try:
        when = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return round(((now if now is not None else time.time()) - when.timestamp()) / 3600, 2)


def expected_matches(result: Any, expect: Any) -> bool:
    """A smoke query's first value against `expect`: numbers numerically, booleans as t/true/1, else as text."""
    text = "" if result is None else str(result).strip()
    if isinstance(expect, bool):
        return text.lower() in (("t", "true", "1") if expect else ("f", "false", "0"))
    if isinstance(expect, (int, float)):
        try:
            return float(text) == float(expect)
        except ValueError:
            return False
    return text == ("" if expect is None else str(expect))


def _query_parts(query: Query) -> tuple[str, bool, Any]:
    if isinstance(query, dict):
        return query["sql"], "expect" in query and query["expect"] is not None, query.get("expect")
    return str(query), False, None


def _extract(path: str, into: str, deadline: Optional[float]) -> None:
    """Stream-extract every member with the `data` filter (no absolute paths, links out, devices)."""
    if not hasattr(tarfile, "data_filter"):
        raise DrillError(f"this Python ({sys.version.split()[0]}) lacks tarfile's data filter (3.10.12+, 3.11.4+, "
                         "3.12+): the drill will not extract without it")
    try:
        from isal import igzip
        stream = igzip.open(path, "rb")
    except ImportError:  # pragma: no cover - depends on the host
        import gzip
        stream = gzip.open(path, "rb")
    with stream, tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 20, copybufsize=1 << 20) as tar:
        for member in tar:
            if deadline is not None and time.monotonic() > deadline:
                raise DrillError("the drill timed out while extracting")
            try:
                tar.extract(member, into, filter="data")
            except tarfile.FilterError as exc:
                raise DrillError(f"extraction refused a member: {exc}") from None


class _Drill:
    def __init__(self, path: str, deadline: Optional[float]) -> None:
        self.path, self.deadline = path, deadline
        self.started = time.monotonic()
        self.steps: list[dict] = []
        self.queries: list[dict] = []
        self.counts: list[dict] = []
        self.rto: Optional[float] = None
        self.scratch: Optional[str] = None     # the scratch file or database
        self.created = False                   # a scratch database may exist on the server: drop it

    def step(self, name: str, fn, *args: Any) -> Any:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DrillError(f"the drill timed out before step {name!r}")
        t0 = time.monotonic()
        try:
            value = fn(*args)
        except Exception as exc:
            self.steps.append({"step": name, "seconds": round(time.monotonic() - t0, 3), "ok": False,
                               "detail": str(exc)[:500]})
            raise
        self.steps.append({"step": name, "seconds": round(time.monotonic() - t0, 3), "ok": True,
                           "detail": value if isinstance(value, str) else ""})
        return value

    def left(self) -> float:
        return 24 * 3600.0 if self.deadline is None else max(1.0, self.deadline - time.monotonic())

    def smoke(self, run_query, queries: list[Query]) -> None:
        """Run each smoke query; fail on an error, no rows, or a value other than `expect`."""
        failed = []
        for query in queries:
            sql, has_expect, expect = _query_parts(query)
            entry: dict[str, Any] = {"sql": sql, "expect": expect if has_expect else None}
            try:
                rows = run_query(sql)
                first = rows[0][0] if rows and rows[0] else None
                entry["result"] = None if first is None else str(first)[:200]
                if not rows:
                    entry.update(ok=False, error="returned no rows")
                elif has_expect and not expected_matches(first, expect):
                    entry.update(ok=False, error=f"returned {first!r}, expected {expect!r}")
                else:
                    entry["ok"] = True
            except (sqlite3.Error, pgtools.PgError) as exc:
                entry.update(ok=False, result=None, error=str(exc)[:500])
            self.queries.append(entry)
            if not entry["ok"]:
                failed.append(f"{sql!r} {entry['error']}")
        if failed:
            raise DrillError("smoke query failed: " + "; ".join(failed))
        self.rto = round(time.monotonic() - self.started, 3)
        return f"{len(queries)} quer{'y' if len(queries) == 1 else 'ies'} answered"

    def compare(self, manifest: dict[str, int], restored: dict[str, int]) -> str:
        bad = []
        for table in sorted(set(manifest) | set(restored)):
            want, got = manifest.get(table), restored.get(table)
            ok = want is not None and want == got
            self.counts.append({"table": table, "manifest": want, "restored": got, "ok": ok})
            if not ok:
                bad.append(f"{table}: MANIFEST {want if want is not None else 'does not list it'}, "
                           f"restored {got if got is not None else 'missing'}")
        if bad:
            raise DrillError("row counts differ from MANIFEST: " + "; ".join(bad[:10]))
        return f"{len(self.counts)} tables match"


def _dump_member(check: archive.Verification) -> str:
    if check.dump:
        return check.dump
    raise DrillError("MANIFEST.json names no dump member (no `dump` key, and not exactly one member to take for it)")


def _sqlite(drill: _Drill, dump: str, live: Optional[str], queries: list[Query], tables: dict[str, int]) -> None:
    if live and os.path.realpath(dump) == os.path.realpath(live):  # cannot happen: a guard, not a path
        raise DrillError("refusing to restore onto the live database")
    conn = sqlite3.connect(Path(dump).absolute().as_uri() + "?mode=ro", uri=True, timeout=5)
    try:
        def integrity() -> str:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if rows != ["ok"]:
                raise DrillError("PRAGMA integrity_check: " + "; ".join(map(str, rows[:5])))
            return "ok"

        drill.step("integrity_check", integrity)
        drill.step("smoke queries", drill.smoke, lambda sql: [list(r) for r in conn.execute(sql).fetchmany(1)], queries)
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        restored = {n: conn.execute(f'SELECT count(*) FROM "{n.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
                    for n in names}
        drill.step("row counts", drill.compare, tables, restored)
    finally:
        conn.close()


_PG_TABLES = ("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
              "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
              "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2")


def _postgresql(drill: _Drill, dump: str, admin_dsn: str, password: Optional[str], live_db: str,
                queries: list[Query], tables: dict[str, int]) -> str:
    """Returns the scratch database's name; the caller drops it."""
    name = f"opsproof_drill_{secrets.token_hex(5)}"
    if name == live_db:  # a guard: the name is fresh and random
        raise DrillError("refusing to restore onto the live database")
    drill.scratch = name
    drill.created = True  # before CREATE: one cut by its timeout may still have made it (DROP IF EXISTS then)
    try:
        drill.step("create scratch database", pgtools.psql, admin_dsn, password,
                   f"CREATE DATABASE {pgtools.quote_ident(name)}", drill.left())
    except pgtools.PgError as exc:
        if "already exists" in str(exc):
            drill.created = False  # not ours: never drop a database this drill did not create
        raise
    scratch = pgtools.with_dbname(admin_dsn, name)
    drill.step("pg_restore", pgtools.run, ["pg_restore", "-w", "--no-owner", "--no-privileges", "--exit-on-error",
                                           "--dbname", scratch, dump], password, drill.left())
    drill.step("smoke queries", drill.smoke, lambda sql: pgtools.psql(scratch, password, sql, drill.left()), queries)
    listed = pgtools.psql(scratch, password, _PG_TABLES, drill.left())
    sql = "".join(f"SELECT {i}, count(*) FROM ONLY {pgtools.quote_ident(s)}.{pgtools.quote_ident(t)};\n"
                  for i, (s, t) in enumerate(listed))
    rows = pgtools.run(["psql", "-X", "-w", "-q", "-A", "-t", "-F", pgtools.SEP, "-v", "ON_ERROR_STOP=1",
                        "--dbname", scratch, "-f", "-"], password, drill.left(), stdin=sql).splitlines() if sql else []
    restored = {}
    for line in rows:
        index, count = line.split(pgtools.SEP)
        schema, table = listed[int(index)]
        restored[f"{schema}.{table}"] = int(count)
    drill.step("row counts", drill.compare, tables, restored)
    return name


def drill(path: str, smoke_queries: list[Query], scratch_dir: Optional[str] = None, live_path: Optional[str] = None,
          dsn: Optional[str] = None, restore_dsn: Optional[str] = None, password: Optional[str] = None,
          restore_password: Optional[str] = None, deadline: Optional[float] = None,
          now: Optional[float] = None) -> RestoreResult:
    """Restore `path` into a scratch target and prove it; never raises for a failed drill."""
    d = _Drill(path, deadline)
    check: Optional[archive.Verification] = None
    tmp = None
    dropped = False
    reason = None
    admin, admin_password = None, None
    try:
        check = d.step("verify archive", archive.verify, path, deadline)
        if not check.ok:
            d.steps[-1].update(ok=False, detail=check.reason)
            raise DrillError(f"the archive does not verify: {check.reason}")
        tmp = tempfile.mkdtemp(prefix="opsproof-restore-", dir=scratch_dir)
        d.step("extract (data filter)", _extract, path, tmp, deadline)
        dump = os.path.join(tmp, _dump_member(check))
        if not os.path.isfile(dump):
            raise DrillError(f"the dump member {check.dump!r} did not extract as a file")
        if check.engine == "sqlite":
            d.scratch = dump
            _sqlite(d, dump, live_path, smoke_queries, check.tables)
        elif check.engine == "postgresql":
            if not (restore_dsn or dsn):
                raise DrillError("a PostgreSQL archive needs backups.database.dsn or backups.restore.dsn "
                                 "(a server to create the scratch database on)")
            admin, inline = pgtools.split_password(restore_dsn or dsn or "")
            admin_password = (restore_password if restore_dsn else password) or inline
            live_db = pgtools.dbname(pgtools.split_password(dsn)[0]) if dsn else ""
            _postgresql(d, dump, admin, admin_password, live_db, smoke_queries, check.tables)
        else:
            raise DrillError(f"MANIFEST engine {check.engine!r} is not one this drill restores")
    except (DrillError, pgtools.PgError, sqlite3.Error, OSError, tarfile.TarError) as exc:
        reason = str(exc)
    finally:
        if d.created and admin:
            try:
                pgtools.psql(admin, admin_password, f"DROP DATABASE IF EXISTS {pgtools.quote_ident(d.scratch)} "
                             "WITH (FORCE)", 120)
                dropped = True
            except pgtools.PgError as exc:
                reason = (reason + "; " if reason else "") + f"scratch database {d.scratch} was NOT dropped: {exc}"
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
            dropped = dropped or (check is not None and check.engine == "sqlite")
    return RestoreResult(reason is None, path, check.engine if check else None, check.created_at if check else None,
                         age_hours(check.created_at, now) if check else None, d.rto, d.scratch, dropped,
                         d.steps, d.queries, d.counts, reason)
