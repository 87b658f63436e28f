"""The cadences section: how long each cadence may go without a full pass, and the grace added to each."""
from __future__ import annotations

from datetime import timedelta

from pydantic import field_validator

from .base import Duration, _Section


class Cadences(_Section):
    """`cadences: {grace: 1d, monthly: 35d}`: a cadence is overdue when its last full pass (or, when it never
    passed, the ledger's first line) is older than its period plus the grace."""

    daily: Duration = timedelta(days=1)
    weekly: Duration = timedelta(days=7)
    monthly: Duration = timedelta(days=31)
    quarterly: Duration = timedelta(days=92)
    grace: Duration = timedelta(days=1)          # a run that slipped by up to a day is not overdue

    @field_validator("daily", "weekly", "monthly", "quarterly")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("a period must be positive")
        return value

    @field_validator("grace")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("the grace may be 0 but not negative")
        return value

    def periods(self) -> dict[str, timedelta]:
        """Each periodic cadence's period, in cadence order."""
        return {name: getattr(self, name) for name in ("daily", "weekly", "monthly", "quarterly")}

    def allowed(self, cadence: str) -> timedelta:
        """How long the cadence may go without a full pass: its period plus the grace."""
        return self.periods()[cadence] + self.grace

