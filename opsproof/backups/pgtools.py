"""PostgreSQL through its own client tools (pg_dump, pg_restore, psql) on the host that runs them.

Passwords never appear on a command line (`ps` shows those): a password in the DSN is taken out
and handed to the tool as PGPASSWORD in its environment; otherwise libpq's own PGPASSWORD or
~/.pgpass applies. Every tool runs with -w (never prompt) and a timeout. Standard library only.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from typing import Optional
from urllib.parse import quote, unquote, urlsplit, urlunsplit

SEP = "\x1f"  # psql field separator: a byte that never appears in our identifiers or counts


class PgError(Exception):
    """A PostgreSQL tool failed; the text says which and why (never a password)."""


def _is_url(dsn: str) -> bool:
    return dsn.startswith(("postgresql://", "postgres://"))


_KEYWORD = re.compile(r"\s*([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']*)")


def _keywords(dsn: str) -> list[tuple[str, str]]:
    pairs, pos = [], 0
    while pos < len(dsn.rstrip()):
        m = _KEYWORD.match(dsn, pos)
        if not m:
            raise PgError(f"cannot parse the connection string near {dsn[pos:pos + 20]!r}")
        key, value = m.group(1), m.group(2)
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        pairs.append((key, value))
        pos = m.end()
    return pairs


def _join(pairs: list[tuple[str, str]]) -> str:
    def q(v: str) -> str:
        return v if v and re.fullmatch(r"[^\s'\\]+", v) else "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return " ".join(f"{k}={q(v)}" for k, v in pairs)


def split_password(dsn: str) -> tuple[str, Optional[str]]:
    """(the DSN without its password, the password or None). URL and keyword forms."""
    if _is_url(dsn):
        parts = urlsplit(dsn)
        userinfo, at, hosts = parts.netloc.rpartition("@")
        password = None
        if at and ":" in userinfo:
            user, _, raw = userinfo.partition(":")
            password = unquote(raw)
            userinfo = user
        query = [kv for kv in parts.query.split("&") if kv and not kv.lower().startswith("password=")]
        for kv in parts.query.split("&"):
            if kv.lower().startswith("password="):
                password = unquote(kv.split("=", 1)[1])
        netloc = f"{userinfo}@{hosts}" if at else hosts
        return urlunsplit((parts.scheme, netloc, parts.path, "&".join(query), parts.fragment)), password
    pairs = _keywords(dsn)
    password = next((v for k, v in pairs if k == "password"), None)
    return _join([(k, v) for k, v in pairs if k != "password"]), password


def dbname(dsn: str) -> str:
    if _is_url(dsn):
        return unquote(urlsplit(dsn).path.lstrip("/")) or _user(dsn)
    pairs = dict(_keywords(dsn))
    return pairs.get("dbname") or pairs.get("user") or os.environ.get("PGDATABASE") or ""


def _user(dsn: str) -> str:
    userinfo, at, _ = urlsplit(dsn).netloc.rpartition("@")
    return unquote(userinfo.partition(":")[0]) if at else os.environ.get("PGUSER", "")


def with_dbname(dsn: str, name: str) -> str:
    """The same server and role, another database."""
    if _is_url(dsn):
        parts = urlsplit(dsn)
        return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name, safe=""), parts.query, parts.fragment))
    return _join([(k, v) for k, v in _keywords(dsn) if k != "dbname"] + [("dbname", name)])


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def env(password: Optional[str]) -> dict[str, str]:
    out = dict(os.environ)
    out.setdefault("PGCONNECT_TIMEOUT", "10")
    if password is not None:
        out["PGPASSWORD"] = password
    return out


def tool(name: str, bin_dir: Optional[str] = None) -> str:
    return os.path.join(bin_dir, name) if bin_dir else name


def run(argv: list[str], password: Optional[str], timeout: float, stdin: Optional[str] = None) -> str:
    """Run a PostgreSQL tool; its stdout, or PgError with its stderr."""
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env(password),
                              timeout=max(1.0, timeout))
    except FileNotFoundError:
        raise PgError(f"{argv[0]} is not installed on this host (PostgreSQL client tools)") from None
    except subprocess.TimeoutExpired:
        raise PgError(f"{os.path.basename(argv[0])} did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise PgError(f"{os.path.basename(argv[0])} exited {proc.returncode}: {proc.stderr.strip()[-1500:]}")
    return proc.stdout


def psql(dsn: str, password: Optional[str], sql: str, timeout: float, bin_dir: Optional[str] = None) -> list[list[str]]:
    """Rows of the last statement of `sql`, each a list of text fields."""
    out = run([tool("psql", bin_dir), "-X", "-w", "-q", "-A", "-t", "-F", SEP, "-v", "ON_ERROR_STOP=1",
               "--dbname", dsn, "-f", "-"], password, timeout, stdin=sql)
    return [line.split(SEP) for line in out.splitlines()]


def _qualified(text: bytes) -> tuple[str, bytes]:
    """Parse `schema.table` (each part maybe "quoted") from the start of a COPY line; (name, rest)."""
    parts, pos = [], 0
    while True:
        if text[pos:pos + 1] == b'"':
            end = pos + 1
            while True:
                end = text.index(b'"', end)
                if text[end + 1:end + 2] == b'"':
                    end += 2
                    continue
                break
            parts.append(text[pos + 1:end].replace(b'""', b'"').decode())
            pos = end + 1
        else:
            m = re.match(rb"[^\s.(]+", text[pos:])
            if not m:
                raise PgError(f"cannot read a table name in {text[:80]!r}")
            parts.append(m.group(0).decode())
            pos += m.end()
        if text[pos:pos + 1] == b".":
            pos += 1
            continue
        return ".".join(parts), text[pos:]


def dump_row_counts(dump: str, timeout: float, bin_dir: Optional[str] = None) -> dict[str, int]:
    """Rows per table in a pg_dump custom-format file, counted from its COPY data (consistent with the dump)."""
    argv = [tool("pg_restore", bin_dir), "--data-only", "-f", "-", dump]
    errors = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, bufsize=1 << 20)
    except FileNotFoundError:
        errors.close()
        raise PgError(f"{argv[0]} is not installed on this host (PostgreSQL client tools)") from None
    counts: dict[str, int] = {}
    current: Optional[str] = None
    fired: list[bool] = []
    timer = threading.Timer(max(1.0, timeout), lambda: (fired.append(True), proc.kill()))  # cut a hung listing
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if current is None:
                if line.startswith(b"COPY "):
                    current, _ = _qualified(line[5:])
                    counts[current] = 0
            elif line == b"\\.\n":
                current = None
            else:
                counts[current] += 1
        proc.wait()
        errors.seek(0)
        err = errors.read()
    finally:
        errors.close()
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if fired:
        raise PgError(f"pg_restore did not list the dump within {timeout:.0f} s")
    if proc.returncode != 0:
        raise PgError(f"pg_restore cannot read the dump: {err.decode(errors='replace').strip()[-1500:]}")
    return counts
