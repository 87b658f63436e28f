"""The pre-maintenance checklist: window scheduled, rollback plan ready, monitoring active, team and users notified,
start recorded.

"Backup created" is checked by test_backups.py (premaintenance marker, backups.premaintenance_max_age_minutes;
with --apply the backup is taken then).
"""
import pytest

pytestmark = [pytest.mark.premaintenance]


def test_window_scheduled(window_state, maint, evidence):
    """Now is inside a maintenance window, or the next one opens within window.horizon."""
    assert window_state.error is None, window_state.error
    if window_state.inside:
        return
    assert window_state.hours_until_next is not None, f"window.rrule {maint.window.rrule!r} has no future window"
    evidence.compare(f"hours until the next window ({window_state.next_local})", window_state.hours_until_next,
                     "<=", maint.window.setting("horizon"), unit=" h",
                     hint="maintenance is not due yet: schedule it for the next window")


def test_rollback_plan_ready(rollback_plan):
    """The rollback plan (rollback_plan) exists on the target, is a file and says something beyond headings."""
    assert rollback_plan.exists, f"rollback plan {rollback_plan.path}: {rollback_plan.error or 'no such file'}"
    assert rollback_plan.is_file, f"rollback plan {rollback_plan.path} is not a regular file"
    assert rollback_plan.words > 0, f"rollback plan {rollback_plan.path} is empty (headings only or no words)"


def test_monitoring_active(monitoring_probe):
    """The monitoring system answers its readiness URL (monitoring.url, e.g. Prometheus /-/ready) as expected."""
    assert monitoring_probe.error is None, f"monitoring at {monitoring_probe.url}: {monitoring_probe.error}"
    assert not monitoring_probe.problems, (f"monitoring at {monitoring_probe.url} is not ready: "
                                           + "; ".join(monitoring_probe.problems))


def test_team_notified(notice_start):
    """The team was notified that maintenance starts (notify.webhook accepted the start notice)."""
    assert notice_start.ok, f"start notice to {notice_start.webhook}: {notice_start.error}"


def test_users_notified(users_notice_start):
    """Users of a user-facing service were told maintenance starts (notify.users accepted the start notice)."""
    assert users_notice_start.ok, f"users' start notice to {users_notice_start.webhook}: {users_notice_start.error}"


def test_maintenance_start_recorded(maintenance_start):
    """The start of maintenance is recorded, so postmaintenance counts errors from here."""
    assert maintenance_start.started_utc
