"""The post-maintenance checklist: no errors since maintenance started, docs updated, team notified of completion.

"All services running" and "health checks pass" are test_services.py and test_health.py (postmaintenance marker);
"SLOs met" is the SLO checks'.
"""
import pytest

pytestmark = [pytest.mark.postmaintenance]


def test_no_errors_since_maintenance_started(errors_since_start, maint, evidence):
    """No more error lines (logs.error_pattern) were logged since maintenance started than logs.max_new_errors."""
    assert errors_since_start.error is None, errors_since_start.error
    evidence.compare(f"error lines in {errors_since_start.path} {errors_since_start.reference}",
                     errors_since_start.matches, "<=", maint.logs.setting("max_new_errors"),
                     hint="maintenance left errors behind:\n" + "\n".join(errors_since_start.sample))


def test_docs_updated_since_start(docs_activity, maintenance_reference, maint):
    """With docs.require_update, a commit touched the docs directory since maintenance started."""
    if not maint.docs.require_update:
        pytest.skip("docs.require_update is false")
    assert maintenance_reference.since_utc, f"{maintenance_reference.detail}: no start to compare with"
    assert docs_activity.error is None, docs_activity.error
    assert docs_activity.last_commit_utc >= maintenance_reference.since_utc, (
        f"the newest commit in {docs_activity.dir} is {docs_activity.last_commit_utc} ({docs_activity.last_commit}), "
        f"before maintenance started ({maintenance_reference.since_utc}) — record what changed")


def test_team_notified_of_completion(notice_end):
    """The team was notified that maintenance ended, with the checklist's outcome (runs last)."""
    assert notice_end.ok, f"completion notice to {notice_end.webhook}: {notice_end.error}"
