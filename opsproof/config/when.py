"""The maintenance window's rule, start and time zone, parsed: what Window validates and the schedule computes with.

A rule is an iCalendar RRULE (python-dateutil) anchored at a wall-clock start; a zone is an IANA name.
Each parser raises WindowError (a ValueError) saying what is wrong.
"""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

# An anchor for rules given with "HH:MM" only: fixed, so an INTERVAL=2 rule keeps its phase between runs.
ANCHOR_DATE = datetime(2000, 1, 1)
_START = re.compile(r"^(?:(\d{4}-\d{2}-\d{2})[T ])?(\d{1,2}):(\d{2})$")


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


def parse_rule(text: str, start: str) -> rrule:
    """The dateutil rule for an RRULE string ("FREQ=MONTHLY;BYDAY=1SU", optionally prefixed "RRULE:")."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if "DTSTART" in body.upper() or "\n" in body:
        raise WindowError("give the rule alone (FREQ=...); the start goes in window.start")
    dtstart = anchor(start)
    try:
        rule = rrulestr(body, dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        raise WindowError(f"not an iCalendar RRULE: {exc}") from exc
    if not isinstance(rule, rrule):
        raise WindowError("one RRULE only")
    return rule
