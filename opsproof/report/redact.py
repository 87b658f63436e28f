"""Keep secrets out of everything a run writes: reports, JSON, JUnit, logs.

Two layers: patterns for the shapes secrets take (a password in a URL or DSN, a token in a
query string, an Authorization or Cookie header), and the literal values the configuration
itself declares secret (header values, URL passwords), replaced wherever they turn up.
"""
from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from typing import Any, Iterable

MASK = "***"

_SECRET_NAMES = (
    r"pass(?:word|wd)?|pwd|secret|token|access_token|refresh_token|api[_-]?key|apikey|"
    r"auth|authorization|cookie|set-cookie|session|sig|signature|private[_-]?key|x-api-key|x-auth-token"
)
_PATTERNS = [
    # scheme://user:password@host  ->  scheme://user:***@host
    (re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]*:)[^@\s'\"/]+(?P<post>@)"), r"\g<pre>***\g<post>"),
    # ?token=abc&key=...  (query strings, form bodies)
    (re.compile(rf"(?P<pre>[?&;](?:{_SECRET_NAMES})[^=&\s]*=)[^&\s#'\"]+", re.I), r"\g<pre>***"),
    # Authorization: Bearer x / 'Cookie': 'a=b'  (headers, dict reprs, JSON)
    (re.compile(r"(?P<pre>['\"]?(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|x-auth-token)['\"]?\s*[:=]\s*['\"]?)"
                r"[^'\"\n]+", re.I), r"\g<pre>***"),
    # DSN keyword form: password=secret / PGPASSWORD=secret
    (re.compile(r"(?P<pre>\b(?:password|pgpassword|passwd)\s*=\s*['\"]?)[^\s'\"&]+", re.I), r"\g<pre>***"),
]


class Redactor:
    """Replaces secret shapes and known secret values in text and in nested records."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.known = sorted({k for k in known if k and len(k) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.known:
            value = value.replace(secret, MASK)
        for pattern, repl in _PATTERNS:
            value = pattern.sub(repl, value)
        return value

    def data(self, value: Any) -> Any:
        """A JSON-ready copy of value (dataclasses, dicts, lists, scalars) with secrets masked."""
        if is_dataclass(value) and not isinstance(value, type):
            return {f.name: self.data(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                key = str(k)
                if re.fullmatch(rf"(?:{_SECRET_NAMES})", key, re.I) and v not in (None, ""):
                    out[key] = MASK
                else:
                    out[key] = self.data(v)
            return out
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.data(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        return self.text(str(value))


def redact(text: str) -> str:
    """Mask secret shapes in text (no known values)."""
    return Redactor().text(text)
