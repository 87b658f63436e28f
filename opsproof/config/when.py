"""The maintenance window's rule, start and time zone, parsed: what Window validates and the schedule computes with.

A rule is an iCalendar RRULE (python-dateutil) anchored at a wall-clock start; a zone is an IANA name.
UNTIL is taken in both of RFC 5545's forms: with Z an instant in UTC, without it the window's own wall-clock time
(as the start is); dateutil wants it in the start's form, so a UTC one is turned into the zone's wall clock first.
Each parser raises WindowError (a ValueError) saying what is wrong.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

# An anchor for rules given with "HH:MM" only: fixed, so an INTERVAL=2 rule keeps its phase between runs.
ANCHOR_DATE = datetime(2000, 1, 1)
_START = re.compile(r"^(?:(\d{4}-\d{2}-\d{2})[T ])?(\d{1,2}):(\d{2})$")
_UNTIL_PART = re.compile(r"(?i)(?<![^;])UNTIL=([^;]*)")
_UNTIL = re.compile(r"(?i)^(\d{8})(?:T(\d{6})(Z)?)?$")


class WindowError(ValueError):
    """A window definition that cannot be used (bad rule, start, or time zone)."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WindowError(f"unknown time zone {name!r} (an IANA name such as Europe/Berlin or UTC)") from exc


def anchor(start: str) -> datetime:
    """The rule's DTSTART (naive, wall clock) from "HH:MM" or "YYYY-MM-DD HH:MM"."""
    found = _START.match(start.strip())
    if not found:
        raise WindowError(f"start {start!r} is not HH:MM or YYYY-MM-DD HH:MM")
    day, hour, minute = found.groups()
    if int(hour) > 23 or int(minute) > 59:
        raise WindowError(f"start {start!r} is not a time of day")
    base = datetime.fromisoformat(day) if day else ANCHOR_DATE
    return base.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)


def _until(value: str, tz: tzinfo) -> str:
    """UNTIL as dateutil takes it beside a wall-clock start: a date, or a date-time in the zone's wall clock."""
    found = _UNTIL.match(value)
    try:
        if not found:
            raise ValueError(value)
        day, time_of_day, utc = found.groups()
        if not time_of_day:
            return datetime.strptime(day, "%Y%m%d").strftime("%Y%m%d")
        when = datetime.strptime(day + time_of_day, "%Y%m%d%H%M%S")
    except ValueError:
        raise WindowError(f"UNTIL={value} is not a date (YYYYMMDD) or a date-time (YYYYMMDDTHHMMSS, with Z for "
                          "UTC)") from None
    if utc:
        when = when.replace(tzinfo=timezone.utc).astimezone(tz).replace(tzinfo=None)
    return when.strftime("%Y%m%dT%H%M%S")


def parse_rule(text: str, start: str, tz: Optional[tzinfo] = None) -> rrule:
    """The dateutil rule for an RRULE string ("FREQ=MONTHLY;BYDAY=1SU", optionally prefixed "RRULE:"), on the wall
    clock of `tz` (UTC when not given), where a UTC UNTIL is turned."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if "DTSTART" in body.upper() or "\n" in body:
        raise WindowError("give the rule alone (FREQ=...); the start goes in window.start")
    body = _UNTIL_PART.sub(lambda m: "UNTIL=" + _until(m.group(1), tz or timezone.utc), body)
    dtstart = anchor(start)
    try:
        rule = rrulestr(body, dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        raise WindowError(f"not an iCalendar RRULE: {exc}") from exc
    if not isinstance(rule, rrule):
        raise WindowError("one RRULE only")
    return rule
