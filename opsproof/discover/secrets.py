"""A database reference without its password: what discovery may carry off a host. Standard library only (shipped).

A written config never holds a password: the run gives it to the PostgreSQL tools through the environment
(`PGPASSWORD`) or `~/.pgpass`, and the generated comment says which variable held it.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

DSN = re.compile(r"""(?:postgres|postgresql)://[^\s'"<>`]+""")
_QUERY_SECRET = re.compile(r"(^|&)(password|sslpassword)=[^&]*", re.I)


def clean_dsn(dsn: str) -> tuple[str, bool]:
    """(the DSN without a password — in the user part or the query —, whether it had one)."""
    try:
        parts = urlsplit(dsn.strip())
    except ValueError:
        return "<unreadable DSN>", True
    had = parts.password is not None
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}@{host}" if user.split(":", 1)[0] else host
    query = _QUERY_SECRET.sub("", parts.query).lstrip("&")
    had = had or query != parts.query
    scheme = "postgresql" if parts.scheme in ("postgres", "postgresql") else parts.scheme
    return urlunsplit((scheme, netloc, parts.path, query, "")), had


def dsns_in(text: str) -> list[tuple[str, bool]]:
    """Every PostgreSQL URL in a text, cleaned (clean_dsn), in order, once each."""
    out: list[tuple[str, bool]] = []
    for match in DSN.finditer(text):
        item = clean_dsn(match.group(0).rstrip(",;)]}"))
        if item not in out:
            out.append(item)
    return out
