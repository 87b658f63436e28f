"""The backups section and the database it dumps: which folder, which names, how old and how large, from what is there.

opsproof's own checks read archives in its own format (a .tar.gz with MANIFEST.json: what its backup action writes,
and what `ctl.py backup` in the example writes): the daily "newest archive is intact" check proves every byte of one.
A folder of pg_dump files, SQL dumps or plain tarballs is reported, with its pattern, age and size, but written
commented out: live, that check would fail on the first run. Its comment says how to move to archives opsproof
verifies (`database:` plus `pytest -m daily --apply`).
"""
from __future__ import annotations

import fnmatch
from typing import Optional

from . import decide
from .draft_files import rel
from .yamltext import Block, pair

RECENT = 30                       # archives the pattern and sizes are read from, newest first
FORMATS = {"opsproof": "opsproof archives (tar.gz with MANIFEST.json)", "pg_dump custom": "pg_dump custom-format dumps",
           "sql.gz": "gzipped SQL dumps", "tar.gz": "tarballs without MANIFEST.json", "gzip": "gzip files",
           "sql": "SQL dumps"}


Database = tuple[Optional[dict], list[str]]


def database(survey: dict) -> Database:
    """(the backups.database mapping, sentences saying where it was found) — never with a password. Read once
    (compose.py): the backups section and the summary of what was found both use it."""
    root, found = survey.get("root"), survey.get("found", {})
    for proc in survey.get("processes", []):
        for name, value in sorted(proc.get("env", {}).items()):
            if value.startswith("postgresql://"):
                dsn, _, secret = value.partition(" ")
                return {"engine": "postgresql", "dsn": dsn}, [
                    f"PostgreSQL from ${name} in the service's environment"
                    + ("; its password is not written here: give it to the run as PGPASSWORD (environment) or in "
                       "~/.pgpass (never on a command line)" if secret else "")]
    for item in found.get("dsns", []):
        return {"engine": "postgresql", "dsn": item["dsn"]}, [
            f"PostgreSQL named in {rel(item['source'], root)}"
            + ("; its password is not written here: give it as PGPASSWORD or in ~/.pgpass" if item["password"] else "")]
    env = {k: v for p in survey.get("processes", []) for k, v in p.get("env", {}).items()}
    if env.get("PGDATABASE") or env.get("PGHOST"):
        dsn = (f"postgresql://{env.get('PGUSER', 'postgres')}@{env.get('PGHOST', '127.0.0.1')}:"
               f"{env.get('PGPORT', '5432')}/{env.get('PGDATABASE', 'postgres')}")
        return {"engine": "postgresql", "dsn": dsn}, ["PostgreSQL from the PG* variables in the service's environment"]
    sqlite = sorted(found.get("sqlite", []), key=lambda db: (not db["held"], db["path"]))
    if sqlite:
        db = sqlite[0]
        how = "held open by the service" if db["held"] else "found in its folder"
        return {"engine": "sqlite", "path": rel(db["path"], root), "tables": db["tables"]}, [
            f"SQLite database {rel(db['path'], root)} ({how}; tables: {', '.join(db['tables']) or 'none'})"]
    return None, []


def _database_lines(db: Optional[dict]) -> list[str]:
    if not db:
        return ["  # database: {engine: sqlite, path: data/app.db}   # or {engine: postgresql, dsn: \"postgresql://"
                "app@127.0.0.1:5432/app\"}: none found"]
    shown = {k: v for k, v in db.items() if k != "tables"}
    lines = [pair("database", shown, "the backup action dumps it; the monthly drill restores it into scratch")]
    smoke = [f'SELECT count(*) FROM "{table}"' for table in db.get("tables", [])[:2]]
    lines += ["  restore:", pair("rto_minutes", 30, "the guide's recovery time objective", 4),
              pair("rpo_hours", 24, "the newest archive that restores is at most a day old", 4)]
    lines += [pair("smoke_queries", smoke, "run on the restored copy", 4)] if smoke else \
        ["    # smoke_queries: [\"SELECT count(*) FROM orders\"]   # a query that proves the restored data is there"]
    return lines


def _chosen(groups: dict) -> Optional[tuple[str, str, list[dict]]]:
    """(folder, format, its archives of that format, newest first): opsproof's own format first, then the freshest."""
    best = None
    for folder, files in groups.items():
        by_format: dict[str, list[dict]] = {}
        for item in files:
            by_format.setdefault(item["format"], []).append(item)
        for kind, items in by_format.items():
            items = sorted(items, key=lambda f: -f["mtime"])[:RECENT]
            rank = (kind == "opsproof", items[0]["mtime"])
            if best is None or rank > best[0]:
                best = (rank, folder, kind, items)
    return best[1:] if best else None


def _others(groups: dict, chosen: tuple, root: Optional[str], now: float) -> str:
    """A sentence naming the backup files discovery found besides the chosen ones."""
    parts = []
    for folder, files in sorted(groups.items()):
        for kind in sorted({f["format"] for f in files}):
            if (folder, kind) == chosen[:2]:
                continue
            items = sorted((f for f in files if f["format"] == kind), key=lambda f: -f["mtime"])
            parts.append(f"{len(items)} {FORMATS.get(kind, kind)} in {rel(folder, root)} (pattern "
                         f"{decide.backup_pattern([f['name'] for f in items[:RECENT]])}, newest "
                         f"{(now - items[0]['mtime']) / 3600:.1f} h old, {items[0]['size']} B)")
    return f" Also found: {'; '.join(parts)}." if parts else ""


def backups(survey: dict, database_found: Database) -> Block:
    """`database_found`: database(survey)."""
    root, now = survey.get("root"), survey.get("now", 0)
    db, db_notes = database_found
    groups = survey.get("found", {}).get("backups", {})
    chosen = _chosen(groups)
    if chosen is None:
        body = ["backups:", pair("dir", "backups"), pair("pattern", "daily_*.tar.gz")] + _database_lines(db)
        return Block("backups", ["backups (daily ... quarterly): no recent *.tar.gz, *.sql.gz or *.dump was found. "
                                 + ("; ".join(db_notes) + ": with this section live, `pytest -m daily --apply` takes "
                                    "the first archive." if db else "Name the folder and the archives' pattern.")],
                     body, False, "backups: left out (no backup folder found)")
    folder, kind, items = chosen
    names = [f["name"] for f in items]
    pattern = decide.backup_pattern(names)
    if not all(fnmatch.fnmatchcase(n, pattern) for n in names):
        pattern = decide.backup_pattern(names[:1])
    age, why_age = decide.backup_age([f["mtime"] for f in items], now)
    size, why_size = decide.min_size([f["size"] for f in items[:5]])
    kept, why_keep = decide.keep(len(items))
    newest = items[0]
    found = (f"Found {len(items)} {FORMATS.get(kind, kind)} in {rel(folder, root)}: newest {newest['name']}, "
             f"{(now - newest['mtime']) / 3600:.1f} h old, {newest['size']} B.")
    body = ["backups:", pair("dir", rel(folder, root)), pair("pattern", pattern, "the archives' names, the part that "
                                                                                "changes as *"),
            pair("max_age_hours", age, why_age), pair("min_size_bytes", size, why_size),
            pair("keep", kept, why_keep)] + _database_lines(db)
    text = ("backups (daily: exists, fresh, not trivial, intact; weekly: every kept archive intact; monthly and "
            "quarterly: restore drills, with --apply). " + found + _others(groups, chosen, root, now)
            + (" " + "; ".join(db_notes) + "." if db_notes else ""))
    if kind != "opsproof":
        return Block("backups", [text + " Left commented: opsproof verifies archives in its own format (a .tar.gz "
                                 "with MANIFEST.json), so its daily integrity check would fail on these. With "
                                 "`database:` set and pattern \"daily_*.tar.gz\", `pytest -m daily --apply` takes "
                                 "such archives beside them."], body, False,
                     f"backups: left out ({len(items)} {kind} file(s) in {folder}, pattern {pattern!s}: not a format "
                     "opsproof verifies)")
    return Block("backups", [text], body,
                 summary=f"backups: {rel(folder, root)}/{pattern}, {len(items)} archive(s), newest "
                         f"{(now - newest['mtime']) / 3600:.1f} h old; database {db['engine'] if db else 'none'}")


def database_summary(database_found: Database) -> str:
    """What was found of the database, in words; `database_found`: database(survey)."""
    db, notes = database_found
    return f"database: {notes[0]}" if db else "database: none found (no SQLite file, no PostgreSQL DSN)"
