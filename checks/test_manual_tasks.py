"""Manual tasks (monthly): team training and documentation review, proved by attestations and the docs' history."""
import pytest

pytestmark = [pytest.mark.monthly]


def test_attestation_records_valid(attestation_file, evidence):
    """Every record in the attestation file has a known task, a date not in the future and who did it."""
    evidence.require(attestation_file.error is None, f"{attestation_file.error} (attestations.file)")
    evidence.require(not attestation_file.bad, f"{attestation_file.path} (attestations.file): "
                     + "; ".join(attestation_file.bad) + " — correct these records")


def test_task_attested_within_period(task_status, maint, evidence):
    """Each task in attestations.tasks has a record newer than its period (team training: monthly)."""
    evidence.require(task_status.newest, f"no record of {task_status.task} in attestations.file (attestations.tasks"
                     f"[{task_status.task}] sets how recent one must be) — do the task, then attest it (task, date, by, "
                     "evidence)")
    evidence.compare(f"age of the newest {task_status.task} record ({task_status.newest}, by {task_status.by})",
                     task_status.age_days, "<=", maint.attestations.setting("tasks", task_status.task),
                     unit=" days", hint="the task is overdue")


def test_docs_reviewed(docs_activity, docs_attested, maint, evidence):
    """The docs directory had a commit within docs.max_age_days, or an attestation of docs.task says it was reviewed."""
    ages = [a for a in (docs_activity.age_days, docs_attested and docs_attested.age_days) if a is not None]
    why = docs_activity.error or ""
    evidence.require(ages, f"no evidence of a documentation review: {why or 'no commit in docs.dir'}; and no "
                     f"{maint.docs.task} attestation (docs.task) — review the documentation and commit, or attest the "
                     "review")
    evidence.compare(f"days since the docs were last changed or reviewed ({docs_activity.last_commit or why})",
                     min(ages), "<=", maint.docs.setting("max_age_days"), unit=" days",
                     hint="review the documentation and commit, or attest the review")
