"""Judgement over time in the config: warning levels beside thresholds, waivers of accepted failures, runbooks.

- **Warn bands.** One naming rule (section.py's `warn_name`; a `Setting` carries the level it names): the warning
  level of a threshold is the key with its `max`/`min` word dropped and `warn_` put in front —
  `disk.max_used_percent` -> `disk.warn_used_percent`, `disk.forecast_min_days` -> `disk.warn_forecast_days`,
  `security.tls[0].min_days` -> `warn_days`, `slo.objectives[api].target` -> `warn_target`. `warn_band` refuses a
  level on the wrong side of the one it shadows.
- **Waivers.** `Waiver`: which check (a `-k` expression, or a node id), on which hosts, why, who approved, until when.
- **Runbooks.** `runbooks: {<check pattern>: <URL or path under root>}` (`runbook_target` checks one value).
- **Patterns** (a waiver's `check`, a runbook's key) must be expressions pytest's `-k` accepts (`selection`,
  with expression.py's reading of pytest's grammar): `opsproof check-config` and the run refuse the same ones.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Optional

from pydantic import Field, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from . import expression
from .section import Section, warn_name

MAX_WAIVER_DAYS = 90


def warn_band(*warn_fields: str) -> Any:
    """A validator for a section's `warn_` fields: each lies strictly before the failing level it shadows (below a
    `max_` one, above a `min_` one or an objective's target). The shadowed field is declared before it."""
    def inside(cls: Any, value: Any, info: Any) -> Any:
        if value is None:
            return value
        shadowed = next(n for n in cls.model_fields if warn_name(n) == info.field_name)
        limit = info.data.get(shadowed)
        if limit is None:
            return value
        ceiling = "max" in shadowed.split("_")
        if (value >= limit) if ceiling else (value <= limit):
            side = "below" if ceiling else "above"
            raise ValueError(f"a warning comes before the failure: {info.field_name} must be {side} {shadowed} "
                             f"({limit})")
        return value
    return field_validator(*warn_fields)(inside)


def selection(value: str) -> str:
    """The pattern unchanged, or refused when pytest's -k parser would refuse it (the run evaluates it with that)."""
    wrong = expression.problem(value)
    if wrong:
        raise PydanticCustomError("not_a_selection", "{value} is not a -k expression ({wrong})",
                                  {"value": repr(value), "wrong": wrong})
    return value


def selections(patterns: dict[str, Any]) -> dict[str, Any]:
    """The mapping unchanged, or an error at `[pattern]` for a key that is not a -k expression (runbooks)."""
    for pattern in patterns:
        try:
            selection(pattern)
        except PydanticCustomError as exc:
            raise ValidationError.from_exception_data("patterns", [
                InitErrorDetails(type=exc, loc=(f"[{pattern}]",), input=pattern)]) from None
    return patterns


class Waiver(Section):
    """An accepted failure: the check still runs and is reported as waived, not passed, until `expires`."""

    check: str = Field(min_length=1)           # a -k expression over the check's names, or a node id (or its start)
    hosts: Optional[list[str]] = None          # only on these hosts (as the check's id names them); default: all
    reason: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    expires: date                              # ISO date: covers failures up to and including this day

    @field_validator("check")
    @classmethod
    def _selects(cls, value: str) -> str:
        return selection(value)

    def in_force(self, today: date) -> bool:
        return today <= self.expires

    def note(self) -> str:
        """`waived: <reason> (approved by X, until DATE)`."""
        return f"waived: {self.reason} (approved by {self.approved_by}, until {self.expires.isoformat()})"

    def expired_note(self) -> str:
        return f"waiver for {self.check} expired on {self.expires.isoformat()} ({self.reason}, approved by " \
               f"{self.approved_by})"


def waivers_within(waivers: list[Waiver], max_days: int, today: Optional[date] = None) -> list[Waiver]:
    """The waivers unchanged, or a ValidationError at `[i].expires` for one that runs past `max_days` from today."""
    last = (today or date.today()) + timedelta(days=max_days)
    errors = [InitErrorDetails(type=PydanticCustomError(
        "waiver_too_long", "{expires} is more than {days} days away (max_waiver_days): a waiver is reviewed, not "
        "forgotten — set an earlier date, or raise max_waiver_days at the top level",
        {"expires": w.expires.isoformat(), "days": max_days}), loc=(i, "expires"), input=w.expires.isoformat())
        for i, w in enumerate(waivers) if w.expires > last]
    if errors:
        raise ValidationError.from_exception_data("waivers", errors)
    return waivers


def runbook_target(value: str) -> str:
    """A runbook is a URL (http, https) or a path under root, without '..'."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", value):
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r}: a runbook URL starts with http:// or https://")
    elif ".." in value.split("/") or not value.strip():
        raise ValueError(f"{value!r}: a runbook path is a file under root, without '..'")
    return value
