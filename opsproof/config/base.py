"""The pieces every section is built from: the error and its wording, durations, URLs (the base model: section.py)."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Callable, Sequence

from pydantic import AfterValidator, BeforeValidator, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from .errors import ConfigError, quoted  # noqa: F401 — the names every section module imports from here

DEFAULT_NAME = "maintenance.yaml"
ENV_VAR = "OPSPROOF_CONFIG"
# Action names (DESIGN): routine ones run with --apply; window.gate may list any of them as disruptive.
ACTIONS = ("rotate-logs", "clean-temp", "backup", "restore-drill", "update-dependencies")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

def parse_duration(value: Any) -> timedelta:
    """A duration written 90m, 2h, 1h30m, 7d or 4w, as a timedelta (a bare number is ambiguous: refused)."""
    if isinstance(value, timedelta):
        return value
    text = str(value).strip().replace(" ", "")
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw])", text)
    if not text or not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{quoted(value)} is not a duration such as 90m, 2h, 1h30m, 7d or 4w")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be positive")
    return value


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("may be 0 but not negative")
    return value


PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
NonNegativeDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_not_negative)]


def http_url(value: str) -> str:
    """The URL unchanged, or refused unless it is http:// or https:// (endpoints, monitoring, webhooks, Prometheus)."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


# Wording for a pydantic error, shared by the loader and the OpenSLO reader.
def key_path(loc: tuple) -> str:
    """A pydantic error location as the key path a user writes: backups.restore.smoke_queries[0]."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("json_",):
            out += ".json"
        elif str(part).startswith("["):         # a mapping's key as a key path writes it: runbooks[test_disk]
            out += str(part)
        else:
            out += ("." if out else "") + str(part)
    return out


# What to do about an error of our own kind (a PydanticCustomError's type).
HINTS = {
    "duplicate_name": "give each its own name: it names the item's thresholds (health[api].max_latency_ms) and "
                      "its checks, so twins could not be told apart in the report",
    "not_a_selection": "write a check name such as test_disk_space, or 'test_backups and not fresh'",
}


def message(err: dict) -> str:
    """What is wrong, in the user's words (with the value given, where there is one)."""
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = err.get("msg", "invalid").removeprefix("Value error, ")
    if "input" in err and kind not in ("model_type", "dict_type", "list_type") and kind not in HINTS:
        msg += f" (got {quoted(err['input'])})"
    return msg


def hint(err: dict) -> str:
    """What to do about it."""
    kind = err.get("type", "")
    if kind in HINTS:
        return HINTS[kind]
    if kind == "extra_forbidden":
        return "remove it or check its spelling against the config reference (docs/configuration.md)"
    if kind == "missing":
        return "add it: it names what to check"
    return "see the config reference (docs/configuration.md)"


def unique_names(items: Sequence[Any], where: str, name: Callable[[Any], str],
                 why: Callable[[Any], str] = lambda item: "", own: Callable[[Any], bool] = lambda item: True) -> None:
    """Refuse two items of the list at `where` under one name: the name is the item's key path (health[api]) and
    its check id, so two of one name could not be told apart. The error sits at the second: `[i].name` where `own`
    says the item names itself, `[i]` where its name is derived; `why` adds a note (where the name came from)."""
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        label = name(item)
        if label not in first:
            first[label] = i
            continue
        note = why(item)
        raise ValidationError.from_exception_data(where, [InitErrorDetails(
            type=PydanticCustomError("duplicate_name", "{a} and {b} are both named {name}{note}: names must be unique",
                                     {"a": f"{where}[{first[label]}]", "b": f"{where}[{i}]", "name": repr(label),
                                      "note": f" ({note})" if note else ""}),
            loc=(i, "name") if own(item) else (i,), input=label)])

