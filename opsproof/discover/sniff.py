"""What a file is, from its first or last bytes: a backup's format, a SQLite database, an access log, an nginx error log.
Standard library only (shipped to a target); every read is bounded.
"""
from __future__ import annotations

import os
import re
import tarfile
from typing import Optional

from ..slo.accesslog.lines import LineParser

SAMPLE = 64 * 1024              # bytes read from a log's end to tell what it is
TAR_MEMBERS = 16                # members looked at for MANIFEST.json before giving up
ERROR_PATTERNS = {"plain": "ERROR|CRITICAL|FATAL",           # the config's default
                  "nginx": r"\[(error|crit|alert|emerg)\]"}    # nginx's own levels, bracketed
NGINX_ERROR = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(debug|info|notice|warn|error|crit|alert|emerg)\] ")


def head(path: str, size: int = 16) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def tail_lines(path: str, size: int = SAMPLE) -> list[str]:
    """The complete lines in the last `size` bytes of a file."""
    try:
        with open(path, "rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, end - size))
            raw = fh.read(size)
    except OSError:
        return []
    lines = raw.decode("utf-8", "replace").splitlines()
    return lines[1:] if len(raw) == size and len(lines) > 1 else lines


def backup_format(path: str) -> Optional[str]:
    """`opsproof` (a .tar.gz holding MANIFEST.json, what opsproof's backup writes and verifies), `tar.gz`, `sql.gz`,
    `gzip`, `pg_dump custom`, `sql`, or None when the file is none of these."""
    first = head(path, 8)
    name = os.path.basename(path)
    if first.startswith(b"PGDMP"):
        return "pg_dump custom"
    if first.startswith(b"\x1f\x8b"):
        if name.endswith((".tar.gz", ".tgz")):
            return "opsproof" if _has_manifest(path) else "tar.gz"
        return "sql.gz" if name.endswith(".sql.gz") else "gzip"
    if name.endswith(".sql") and first.strip():
        return "sql"
    return None


def _has_manifest(path: str) -> bool:
    try:
        with tarfile.open(path, "r:gz") as tar:
            for count, member in enumerate(tar):
                if member.name.lstrip("./") == "MANIFEST.json":
                    return True
                if count >= TAR_MEMBERS:
                    return False
    except (OSError, tarfile.TarError, EOFError):
        return False
    return False


def is_sqlite(path: str) -> bool:
    return head(path, 16) == b"SQLite format 3\x00"


def sqlite_tables(path: str, limit: int = 20) -> list[str]:
    """The database's table names (opened read-only; nothing is written, not even a journal)."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                "ORDER BY name LIMIT ?", (limit,)).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []
    return [row[0] for row in rows]


def access_log_format(path: str) -> Optional[dict]:
    """{lines, parsed, with_duration} when most of the file's last lines are nginx/Apache combined lines; else None."""
    lines = [line for line in tail_lines(path) if line.strip()][-500:]
    if not lines:
        return None
    parser = LineParser("combined")
    parsed = [parser.combined_line(line) for line in lines]
    good = [p for p in parsed if p is not None]
    if len(good) < max(1, 0.8 * len(lines)):
        return None
    return {"lines": len(lines), "parsed": len(good), "with_duration": sum(p[2] >= 0 for p in good)}


def error_log_style(path: str) -> str:
    """`nginx` when the file's lines look like nginx's error log (`2026/01/02 10:00:00 [error] ...`), else `plain`."""
    lines = [line for line in tail_lines(path, 16 * 1024) if line.strip()][-50:]
    if lines and sum(bool(NGINX_ERROR.match(line)) for line in lines) >= 0.8 * len(lines):
        return "nginx"
    return "plain"
