"""Cadences (daily): the weekly, monthly and quarterly runs happen on time, as the ledger records them."""
import pytest

pytestmark = [pytest.mark.daily]


def test_longer_cadence_not_overdue(cadence_due, evidence):
    """No longer cadence is overdue: the weekly backup verification, the monthly DR drill and the quarterly full DR test last fully passed, on each host of this run, within their period plus cadences.grace.

    One item per cadence, so one overdue cadence never hides another. The ledger in the report directory
    says when each last fully passed (exit 0, something passed, nothing failed, on that host). A cadence
    that never passed is measured from the host's first line in the ledger; with no ledger at all (a new
    installation) this passes with "no ledger yet: first run": nothing can be overdue before one period
    has gone by since the first run, and that is what this check asserts. A run that itself runs the
    cadence (`-m "daily or monthly"`) passes this item: its own outcome says whether the cadence passed now.
    """
    late = []
    for state in cadence_due.states:
        evidence.judge_limit(f"days since {state.cadence} last fully passed on {state.host}"
                             + ("" if state.last_pass else " (never: since its first run)"),
                             state.age_days(cadence_due.now), "<=",
                             round((state.period + state.grace).total_seconds() / 86400, 2),
                             f"cadences.{state.cadence} + cadences.grace", unit=" days")
        if state.overdue(cadence_due.now):
            late.append(f"{state.said(cadence_due.now)}; {state.allows()} — run pytest -m {state.cadence}")
    evidence.require(not late, "; ".join(late))
