"""Manual tasks as evidence: attestation records (bad ones reported with their line) and the docs' git history."""
from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpers import config_error, require_tool
from opsproof.process.attest import parse, status

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=timezone.utc)
TASKS = {"team-training", "documentation-review"}


def _day(days_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days_ago)).strftime("%Y-%m-%d")


def test_good_and_bad_records_with_their_lines():
    text = """\
- {task: team-training, date: 2026-12-01, by: ana, evidence: "https://wiki/training-12"}
- {task: team-training, date: 2026-11-02, by: ana}
- {task: team-training, by: bob}
- {task: fire-drill, date: 2026-12-01, by: bob}
- {task: documentation-review, date: 2027-01-01, by: eve}
- {task: documentation-review, date: "last tuesday", by: eve}
- just a string
- {task: documentation-review, date: "2026-12-09T08:30:00Z", by: eve, evidence: docs/}
"""
    file = parse(text, "att.yaml", TASKS, NOW)
    assert [r.line for r in file.records] == [1, 2, 8]
    assert file.bad == [
        "line 3: missing date",
        "line 4: unknown task 'fire-drill' (attestations.tasks lists documentation-review, team-training)",
        "line 5: date 2027-01-01 is in the future",
        "line 6: date 'last tuesday' is not a date (YYYY-MM-DD)",
        "line 7: not a record (task, date, by, evidence)",
    ]
    training = status(file, "team-training", timedelta(days=31), NOW)
    assert training.newest == "2026-12-01" and training.by == "ana" and training.age_days == 9.5 and training.records == 2
    review = status(file, "documentation-review", timedelta(days=31), NOW)
    assert review.newest == "2026-12-09T08:30:00Z" and review.age_days == pytest.approx(1.15, abs=0.01)


def test_records_under_a_records_key_and_bad_yaml():
    file = parse("records:\n  - task: team-training\n    date: 2026-12-01\n    by: ana\n", "a.yaml", TASKS, NOW)
    assert file.records[0].line == 2 and not file.bad
    assert "YAML syntax error at line 2" in parse("- [unclosed\n", "a.yaml", TASKS, NOW).error
    assert "must be a list" in parse("task: team-training\n", "a.yaml", TASKS, NOW).error


def _cfg(suite, **extra) -> None:
    data = {"service": "svc", "root": ".",
            "attestations": {"file": "attestations.yaml", "tasks": {"team-training": "31d", "documentation-review": "31d"}}}
    data.update(extra)
    suite.config(data)


def _attest(suite, *records: tuple[str, str]) -> None:
    lines = [f"- {{task: {task}, date: {date}, by: ops, evidence: wiki}}" for task, date in records]
    (suite.path / "attestations.yaml").write_text("\n".join(lines) + "\n")


def test_tasks_within_their_period_pass_overdue_fail(suite):
    _cfg(suite)
    _attest(suite, ("team-training", _day(3)), ("documentation-review", _day(10)))
    result = suite.run("-m", "monthly", "-k", "attest")
    assert result.ret == 0, result.stdout.str()
    _attest(suite, ("team-training", _day(45)), ("documentation-review", _day(10)))
    result = suite.run("-m", "monthly", "-k", "attest")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*age of the newest team-training record*attestations.tasks[[]team-training[]] allows <= 31.0 days*"])
    assert suite.outcomes()["checks/test_manual_tasks.py::test_task_attested_within_period[documentation-review-local]"] == "passed"


def test_a_bad_record_fails_and_a_missing_task_is_named(suite):
    _cfg(suite)
    _attest(suite, ("team-training", _day(3)), ("fire-drill", _day(1)))
    result = suite.run("-m", "monthly", "-k", "attest")
    assert result.ret == 1
    out = result.stdout.str()
    assert "line 2: unknown task 'fire-drill'" in out
    assert "no record of documentation-review in attestations.file" in out


def test_a_missing_attestation_file_fails(suite):
    _cfg(suite)
    result = suite.run("-m", "monthly", "-k", "attest")
    assert result.ret == 1 and "attestations.yaml: no such file" in result.stdout.str()


def _git(root: Path, *args: str, days_ago: float = 0) -> None:
    when = (datetime.now(timezone.utc) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    env = dict(os.environ, GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=ops", "-c", "user.email=ops@example.invalid", *args],
                   check=True, capture_output=True, env=env)


def _docs_repo(suite, days_ago: float) -> Path:
    docs = suite.path / "svc" / "docs"
    docs.mkdir(parents=True)
    (docs / "runbook.md").write_text("# Runbook\nRestart with systemctl.\n")
    _git(suite.path / "svc", "init", "-q")
    _git(suite.path / "svc", "add", "docs")
    _git(suite.path / "svc", "commit", "-q", "-m", "docs: runbook", days_ago=days_ago)
    return docs


def test_docs_reviewed_by_a_recent_commit_or_an_attestation(suite):
    require_tool("git")
    _docs_repo(suite, days_ago=60)
    suite.config({"service": "svc", "root": "svc", "docs": {"dir": "docs", "max_age_days": 31}})
    result = suite.run("-m", "monthly", "-k", "docs_reviewed")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*days since the docs were last changed or reviewed*docs: runbook*docs.max_age_days*"])
    # An attestation of the review counts...
    suite.config({"service": "svc", "root": "svc", "docs": {"dir": "docs", "max_age_days": 31},
                  "attestations": {"file": "attestations.yaml", "tasks": {"team-training": "31d"}}})
    (suite.path / "svc" / "attestations.yaml").write_text(f"- {{task: documentation-review, date: {_day(2)}, by: ops}}\n")
    assert suite.run("-m", "monthly", "-k", "docs_reviewed").ret == 0
    # ...and so does a recent commit without one.
    (suite.path / "svc" / "attestations.yaml").write_text("[]\n")
    (suite.path / "svc" / "docs" / "runbook.md").write_text("# Runbook\nRestart with systemctl; then check /health.\n")
    _git(suite.path / "svc", "commit", "-q", "-am", "docs: health step", days_ago=1)
    assert suite.run("-m", "monthly", "-k", "docs_reviewed").ret == 0


def test_docs_outside_git_without_attestation_fail_clearly(suite):
    require_tool("git")
    (suite.path / "docs").mkdir()
    suite.config({"service": "svc", "root": ".", "docs": {"dir": "docs"}})
    result = suite.run("-m", "monthly", "-k", "docs_reviewed", env={"GIT_CEILING_DIRECTORIES": str(suite.path.parent)})
    assert result.ret == 1
    assert "no evidence of a documentation review" in result.stdout.str()
    assert "not a git repository" in result.stdout.str()


def test_docs_updated_since_maintenance_started_when_required(suite):
    require_tool("git")
    _docs_repo(suite, days_ago=5)
    suite.config({"service": "svc", "root": "svc", "docs": {"dir": "docs", "require_update": True}})
    assert suite.run("-m", "premaintenance", "-k", "start_recorded").ret == 0
    result = suite.run("-m", "postmaintenance", "-k", "docs_updated")
    assert result.ret == 1 and "before maintenance started" in result.stdout.str()
    (suite.path / "svc" / "docs" / "runbook.md").write_text("# Runbook\nNew restart procedure.\n")
    _git(suite.path / "svc", "commit", "-q", "-am", "docs: after maintenance")
    assert suite.run("-m", "postmaintenance", "-k", "docs_updated").ret == 0


@pytest.mark.parametrize("text, key, words", [
    ("attestations: {file: a.yaml, tasks: {}}", "attestations.tasks", "at least 1"),
    ("attestations: {file: a.yaml, tasks: {team-training: monthly}}", "attestations.tasks.team-training",
     "not a duration"),
    ("attestations: {tasks: {team-training: 31d}}", "attestations.file", "required key is missing"),
    ("docs: {max_age_days: 31}", "docs.dir", "required key is missing"),
])
def test_config_errors_name_the_key(tmp_path, text, key, words):
    err = config_error(tmp_path, text)
    assert err.key == key and words in str(err)
