"""The pre-maintenance checklist: window scheduled, rollback plan ready, monitoring active, team and users notified,
start recorded.

"Backup created" is checked by test_backups.py (premaintenance marker, backups.premaintenance_max_age_minutes;
with --apply the backup is taken then).
"""
import pytest

pytestmark = [pytest.mark.premaintenance]


def test_window_scheduled(window_state, maint, evidence):
    """Now is inside a maintenance window, or the next one opens within window.horizon."""
    evidence.require(window_state.error is None, f"{window_state.error} (window)")
    if window_state.inside:
        return
    evidence.require(window_state.hours_until_next is not None, f"window.rrule {maint.window.rrule} has no future "
                     "window — schedule the next one in window.rrule")
    evidence.compare(f"hours until the next window ({window_state.next_local})", window_state.hours_until_next,
                     "<=", maint.window.setting("horizon"), unit=" h",
                     hint="maintenance is not due yet: schedule it for the next window")


def test_rollback_plan_ready(rollback_plan, evidence):
    """The rollback plan (rollback_plan) exists on the target, is a file and says something beyond headings."""
    plan = rollback_plan
    write = "write down how to undo this maintenance before starting it"
    evidence.require(plan.exists, f"the rollback plan {plan.path} (rollback_plan) is missing: "
                     f"{plan.error or 'no such file'} — {write}")
    evidence.require(plan.is_file, f"the rollback plan {plan.path} (rollback_plan) is not a regular file — {write}")
    evidence.require(plan.words > 0, f"the rollback plan {plan.path} (rollback_plan) is empty (headings only or no "
                     f"words) — {write}")


def test_monitoring_active(monitoring_probe, evidence):
    """The monitoring system answers its readiness URL (monitoring.url, e.g. Prometheus /-/ready) as expected."""
    probe = monitoring_probe
    evidence.require(probe.error is None, f"monitoring at {probe.url} (monitoring.url) did not answer: {probe.error} "
                     "— start the monitoring before maintenance, so what maintenance breaks is seen")
    evidence.require(not probe.problems, f"monitoring at {probe.url} (monitoring.url) is not ready: "
                     + "; ".join(probe.problems) + " — wait until it is ready, or fix it, before maintenance")


def test_team_notified(notice_start, evidence):
    """The team was notified that maintenance starts (notify.webhook accepted the start notice)."""
    evidence.require(notice_start.ok, f"start notice to {notice_start.webhook} (notify.webhook): {notice_start.error} "
                     "— tell the team by hand and check the webhook")


def test_users_notified(users_notice_start, evidence):
    """Users of a user-facing service were told maintenance starts (notify.users accepted the start notice)."""
    notice = users_notice_start
    evidence.require(notice.ok, f"users' start notice to {notice.webhook} (notify.users): {notice.error} — tell the "
                     "users another way and check the webhook")


def test_maintenance_start_recorded(maintenance_start, evidence):
    """The start of maintenance is recorded, so postmaintenance counts errors from here."""
    evidence.require(maintenance_start.started_utc, "the start of maintenance was not recorded in the state "
                     "directory (state_dir) — check that it is writable, then run pytest -m premaintenance again")
