"""The schedule section: when the guide's cadences run unattended, as whom, for how long, writing where.

`opsproof schedule` turns it into systemd service/timer pairs or crontab lines (opsproof.process.timers).
Calendar expressions are systemd's OnCalendar syntax ("*-*-* 03:00", "Sun *-*-* 04:00"). Their shape is
checked loosely here (no tool is needed to load a config); `systemd-analyze calendar` is the judge, and the
suite's tests run every default through it.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Optional

from pydantic import field_validator

from .base import NonNegativeDuration, PositiveDuration
from .section import Section

AUTOMATED = ("daily", "weekly")          # the guide marks these Automated: they run with --apply
MANUAL = ("monthly", "quarterly")        # people do these; the schedule only runs a reminder (no --apply)
# Characters an OnCalendar expression is made of (weekday names, digits, * , - . / : ~ and a time zone name).
_CALENDAR = re.compile(r"^[A-Za-z0-9*,.\-/:~_+ ]+$")
_SHORTHANDS = ("minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly", "semiannually")


def calendar_shape(value: str) -> str:
    """A loose check of an OnCalendar expression: one line, its characters, a time or a shorthand."""
    text = " ".join(value.split())
    if not text or not _CALENDAR.match(text):
        raise ValueError(f"{value!r} is not a systemd calendar expression such as '*-*-* 03:00' or 'Sun *-*-* 04:00'")
    if text.lower() not in _SHORTHANDS and ":" not in text:
        raise ValueError(f"{value!r} names no time of day (HH:MM); e.g. '*-*-* 03:00'")
    return text


class Timers(Section):
    """`schedule:` — daily and weekly run with --apply; monthly and quarterly get a reminder: their checks without
    --apply (into a folder of their own), then `opsproof status` on the real ledger, which fails when one is overdue."""

    daily: Optional[str] = "*-*-* 03:00"
    weekly: Optional[str] = "Sun *-*-* 04:00"
    monthly: Optional[str] = "Sun *-*-01..07 02:30"          # inside the example's first-Sunday window
    quarterly: Optional[str] = "Sun *-01,04,07,10-01..07 02:30"
    user: Optional[str] = None                  # default: whoever runs `opsproof schedule`
    runtime_limit: PositiveDuration = timedelta(hours=2)
    randomized_delay: NonNegativeDuration = timedelta(minutes=15)
    persistent: bool = True                     # a machine that was off at the time runs the missed one at boot
    report_dir: str = "reports"                 # relative: against the checkout
    textfile: Optional[str] = None              # --textfile of the automated runs (one file: each run rewrites it)
    lock_dir: str = "/run/lock"                 # cron only: flock files opsproof-<cadence>.lock
    checkout: Optional[str] = None              # default: the checkout `opsproof schedule` runs from
    python: Optional[str] = None                # default: the interpreter running `opsproof schedule`

    @field_validator(*AUTOMATED, *MANUAL)
    @classmethod
    def _calendar(cls, value: Optional[str]) -> Optional[str]:
        return None if value is None else calendar_shape(value)

    @field_validator("user")
    @classmethod
    def _user(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not re.match(r"^[a-z_][a-z0-9_.-]*\$?$", value, re.IGNORECASE):
            raise ValueError(f"{value!r} is not a user name")
        return value

    @field_validator("report_dir", "lock_dir", "checkout", "python", "textfile")
    @classmethod
    def _path(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and (not value or "\n" in value or "\0" in value):
            raise ValueError("must be a path on one line")
        return value

    def cadences(self) -> dict[str, str]:
        """Each scheduled cadence and its calendar expression, automated first (a cadence set to null is off)."""
        return {name: getattr(self, name) for name in (*AUTOMATED, *MANUAL) if getattr(self, name)}
