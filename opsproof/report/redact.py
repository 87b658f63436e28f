"""Keep secrets out of everything a run writes: reports, JSON, JUnit, logs.

Two layers: patterns for the shapes secrets take (a password in a URL or DSN, a token in a
query string, an Authorization or Cookie header, `name=value` or `name: value` in free text
whose name is a secret word, a bare Bearer/Basic credential), and the literal values the
configuration itself declares secret (header values, URL passwords), replaced wherever they
turn up; config_secrets() says which values those are.

A free-text name is secret when it is one of _SECRET_WORD or ends in one after `_`, `-` or `.`
(db_password, AWS_SECRET_ACCESS_KEY, X-Api-Key, github.token). A longer word is not (tokens=5,
token_count=3, passes=2), nor are `key`, `pass` and `sig` alone: in logs they are far more often
counts and words than secrets. Its value is masked up to the next blank (or closing quote).
`printable` and `one_line` show control characters escaped, never raw, on a terminal.
"""
from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from typing import Any, Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from ..backups.pgtools import PgError, split_password
from ..config import Maint

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

# Free text: the secret words a name is, or ends in (see the module's docstring).
_SECRET_WORD = (r"token|secret|password|passwd|passphrase|pwd|pgpassword|api[_-]?key|apikey|access[_-]?key|"
                r"private[_-]?key|secret[_-]?key|client[_-]?secret|auth|authorization|cookie|session(?:[_-]?id)?|"
                r"credentials?|signature")
_SECRET_NAME = rf"(?:[a-z0-9]+[_.-])*(?:{_SECRET_WORD})"
_NAMED = re.compile(
    # token=x, api_key: x, 'token': 'x', "client_secret": "x" (not `==`, not a node id's `::`)
    rf"(?P<pre>(?<![\w.-])(?P<q>['\"]?){_SECRET_NAME}(?P=q)[ \t]*(?:=(?!=)|:(?!:))[ \t]*"
    r"(?:(?:bearer|basic|token|digest)[ \t]+)?)"
    r"(?:'(?P<sq>[^'\n]*)'|\"(?P<dq>[^\"\n]*)\"|[^\s'\"&]+)", re.I)
# A bare credential after its scheme: "Bearer eyJ..." (not a plain word: "Basic Authentication", "Bearer token").
_BARE = re.compile(r"(?P<pre>\b(?i:bearer|basic)[ \t]+)(?![A-Za-z][a-z]*\b)[A-Za-z0-9._~+/=-]{8,}")
_HINT = re.compile(r"[:=]|bearer|basic", re.I)   # every pattern needs one: most values have none


def _named(match: re.Match) -> str:
    quote = "'" if match.group("sq") is not None else '"' if match.group("dq") is not None else ""
    return f"{match.group('pre')}{quote}{MASK}{quote}"


_SECRET_KEY = re.compile(rf"(?:{_SECRET_NAMES})|{_SECRET_NAME}", re.I)


class Redactor:
    """Replaces secret shapes and known secret values in text and in nested records."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.known = sorted({k for k in known if k and len(k) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.known:
            value = value.replace(secret, MASK)
        if _HINT.search(value):
            for pattern, repl in _PATTERNS:
                value = pattern.sub(repl, value)
            value = _BARE.sub(rf"\g<pre>{MASK}", _NAMED.sub(_named, value))
        return value

    def data(self, value: Any) -> Any:
        """A JSON-ready copy of value (dataclasses, dicts, lists, scalars) with secrets masked."""
        if isinstance(value, str):  # the commonest first: records are mostly text and numbers
            return self.text(value)
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        if is_dataclass(value) and not isinstance(value, type):
            # Through the dict branch: a field named like a secret (password, token) is masked as a key would be.
            return self.data({f.name: getattr(value, f.name) for f in fields(value)})
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                key = str(k)
                if _SECRET_KEY.fullmatch(key) and v not in (None, ""):
                    out[key] = MASK
                else:
                    out[key] = self.data(v)
            return out
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.data(v) for v in value]
        return self.text(str(value))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Control characters (terminal escapes: ESC]0;title BEL, ESC[2J) shown as \\x1b, never sent raw to a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str) -> str:
    """Operator input (a name, a reason) as one line: printable, and a line break shown as \\n, never starting a line."""
    for raw, shown in (("\n", "\\n"), ("\t", "\\t"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, shown)
    return printable(text)


def redact(text: str) -> str:
    """Mask secret shapes in text (no known values)."""
    return Redactor().text(text)


def config_secrets(maint: Maint) -> list[str]:
    """Values the config itself marks secret: header values, URL and DSN passwords, webhook tokens."""
    found: list[str] = []
    urls = [e.url for e in maint.health or []]
    urls += [maint.monitoring.url] if maint.monitoring else []
    if maint.backups and maint.backups.database and maint.backups.database.dsn:
        urls.append(maint.backups.database.dsn)
    if maint.backups and maint.backups.restore.dsn:
        urls.append(maint.backups.restore.dsn)
    if maint.backups:
        for dsn in (maint.backups.database and maint.backups.database.dsn, maint.backups.restore.dsn):
            if not dsn:
                continue
            found.extend(re.findall(r"\bpassword\s*=\s*'((?:[^'\\]|\\.)*)'", dsn))  # quoted, as written
            try:  # URL or keyword form (password='...'), percent-decoded as libpq reads it
                found.append(split_password(dsn)[1] or "")
            except PgError:
                found.extend(re.findall(r"\bpassword\s*=\s*'?([^\s']+)", dsn, re.I))
    if maint.slo and maint.slo.source.prometheus:
        urls.append(maint.slo.source.prometheus)
        found.extend(v for value in maint.slo.source.headers.values() for v in (value, *value.split()[1:]))
    for hook in (maint.notify, maint.notify and maint.notify.users):  # the team's webhook, and the users' one
        if not hook:
            continue
        urls.append(hook.webhook)
        # Chat webhooks carry their token in the path (Slack's /services/T../B../XXXX): long segments are secret.
        found.extend(seg for seg in urlsplit(hook.webhook).path.split("/") if len(seg) >= 16)
        found.extend(v for value in hook.headers.values() for v in (value, *value.split()[1:]))
    for url in urls:
        parts = urlsplit(url)
        if parts.password:
            found.append(parts.password)
            found.append(unquote(parts.password))  # libpq decodes %XX: the decoded form is the secret too
        for key, value in parse_qsl(parts.query):
            if any(word in key.lower() for word in ("token", "key", "secret", "pass", "sig", "auth")):
                found.append(value)
    for endpoint in maint.health or []:
        for key, value in endpoint.headers.items():
            if key.lower() in ("authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"):
                found.append(value)
                found.extend(value.split()[1:])  # the token after "Bearer"/"Basic"
    return found
