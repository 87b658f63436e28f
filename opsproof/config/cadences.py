"""The cadences section: how long each cadence may go without a full pass, and the grace added to each."""
from __future__ import annotations

from datetime import timedelta

from .base import NonNegativeDuration, PositiveDuration
from .section import Section

PERIODIC = ("daily", "weekly", "monthly", "quarterly")
CHECKLISTS = ("premaintenance", "postmaintenance", "postdeploy")
MARKERS = (*PERIODIC, *CHECKLISTS)   # every check carries one of these (pytest.ini registers them)


def unmarked(nodeids: list[str]) -> str:
    """Why a run stops when checks carry no cadence or checklist marker: they would never be scheduled."""
    listed = "\n  ".join(nodeids[:20])
    return (f"{len(nodeids)} check(s) carry no cadence or checklist marker ({', '.join(MARKERS)}):\n  {listed}\n"
            "add one, e.g. pytestmark = [pytest.mark.daily]")


class Cadences(Section):
    """`cadences: {grace: 1d, monthly: 35d}`: a cadence is overdue when its last full pass (or, when it never
    passed, the ledger's first line) is older than its period plus the grace."""

    daily: PositiveDuration = timedelta(days=1)
    weekly: PositiveDuration = timedelta(days=7)
    monthly: PositiveDuration = timedelta(days=31)
    quarterly: PositiveDuration = timedelta(days=92)
    grace: NonNegativeDuration = timedelta(days=1)          # a run that slipped by up to a day is not overdue

    def periods(self) -> dict[str, timedelta]:
        """Each periodic cadence's period, in cadence order."""
        return {name: getattr(self, name) for name in PERIODIC}

    def allowed(self, cadence: str) -> timedelta:
        """How long the cadence may go without a full pass: its period plus the grace."""
        return self.periods()[cadence] + self.grace

