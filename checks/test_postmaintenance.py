"""The post-maintenance checklist: no errors since maintenance started, docs updated, team notified of completion.

"All services running" and "health checks pass" are test_services.py and test_health.py (postmaintenance marker);
"SLOs met" is the SLO checks'.
"""
import pytest

from opsproof.report.evidence import one_line

pytestmark = [pytest.mark.postmaintenance]


def test_no_errors_since_maintenance_started(errors_since_start, maint, evidence):
    """No more error lines (logs.error_pattern) were logged since maintenance started than logs.max_new_errors."""
    scan = errors_since_start
    evidence.require(scan.error is None, f"{scan.error} (logs.error_log)")
    evidence.compare(f"error lines in {scan.path} {scan.reference}", scan.matches, "<=",
                     maint.logs.setting("max_new_errors"), hint="maintenance left errors behind (the first: "
                     + " | ".join(one_line(line, 160) for line in scan.sample[:3]) + "; all in the evidence): fix "
                     "them, or roll back (rollback_plan)")


def test_docs_updated_since_start(docs_activity, maintenance_reference, maint, evidence):
    """With docs.require_update, a commit touched the docs directory since maintenance started."""
    if not maint.docs.require_update:
        pytest.skip("docs.require_update is false")
    evidence.require(maintenance_reference.since_utc, f"{maintenance_reference.detail}: no start to compare with — "
                     "run pytest -m premaintenance before maintenance, so its start is recorded")
    evidence.require(docs_activity.error is None, f"cannot read the history of docs.dir: {docs_activity.error}")
    evidence.require(docs_activity.last_commit_utc >= maintenance_reference.since_utc,
                     f"the newest commit in {docs_activity.dir} is {docs_activity.last_commit_utc} "
                     f"({docs_activity.last_commit}), before maintenance started ({maintenance_reference.since_utc}); "
                     "docs.require_update is true — record what changed and commit it")


def test_team_notified_of_completion(notice_end, evidence):
    """The team was notified that maintenance ended, with the checklist's outcome (runs last)."""
    evidence.require(notice_end.ok, f"completion notice to {notice_end.webhook} (notify.webhook): {notice_end.error} "
                     "— tell the team by hand and check the webhook")
