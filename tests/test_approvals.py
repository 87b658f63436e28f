"""The guide's approvals and notices: an emergency run outside the window needs an approver (recorded in the report,
the JSON summary, the ledger and the notices); users of a user-facing service are notified; a backup is created
before maintenance (premaintenance --apply takes and verifies one)."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from helpers import free_port
from helpers.webhook import HEADER_TOKEN, SECRET_TOKEN, Hook
from opsproof import config as cfg
from opsproof.process import approval
from opsproof.process.attest import Attestation, AttestationFile

APPROVER = "Ada Lovelace (CTO)"
REASON = "disk fills tonight; cannot wait for Sunday"
RUN_NOTICE = ("-m", "premaintenance", "-k", "team or rollback")


def _config(suite, hook_url: str, **extra) -> None:
    suite.config({"service": "shop", "root": ".", "rollback_plan": "rollback.md",
                  "notify": {"webhook": hook_url, "headers": {"Authorization": f"Bearer {HEADER_TOKEN}"},
                             **extra.pop("notify", {})}, **extra})
    (suite.path / "rollback.md").write_text("# Rollback\nRestore the last backup.\n")


def _ledger(suite) -> dict:
    return json.loads((suite.reports / "ledger.jsonl").read_text().splitlines()[-1])


@pytest.mark.parametrize("args, says", [
    (("--ignore-window",), "--ignore-window needs an approval: pass --approved-by NAME and --reason TEXT"),
    (("--ignore-window", "--approved-by", APPROVER), "--ignore-window with --approved-by needs --reason TEXT"),
    (("--ignore-window", "--reason", REASON), "--ignore-window with --reason needs --approved-by NAME"),
    (("--ignore-window", "--approved-by", " ", "--reason", REASON), "--approved-by must not be empty"),
    (("--approved-by", APPROVER, "--reason", REASON), "they go with --ignore-window"),
])
def test_ignore_window_without_an_approval_refuses_before_any_check(suite, hook, args, says):
    _config(suite, hook.url())
    result = suite.run(*RUN_NOTICE, *args)
    assert result.ret == 4, result.stdout.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and says in errors[0], result.stderr.str()
    assert hook.received == [] and not list(suite.reports.glob("*.json")), "a check ran or a notice left"


def test_an_approved_emergency_is_recorded_in_the_report_json_ledger_and_notices(suite, hook):
    _config(suite, hook.url())
    reason = f"{REASON} (token {HEADER_TOKEN})"  # a secret typed into the reason is masked like any other
    result = suite.run(*RUN_NOTICE, "--ignore-window", "--approved-by", APPROVER, "--reason", reason)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines([f"opsproof: --ignore-window approved by {APPROVER} at *: {REASON}*(command line*"])
    approval = suite.summary()["approval"]
    assert approval["by"] == APPROVER and approval["reason"].startswith(REASON) and approval["at"].endswith("Z")
    assert approval["source"] == "command line (--approved-by, --reason)"
    assert _ledger(suite)["approval"] == approval
    html = suite.html()
    assert "Emergency approval" in html and APPROVER in html and REASON in html
    start, end = (r["json"] for r in hook.received)
    assert start["approval"] == approval and end["approval"] == approval
    assert f"approved by {APPROVER}: {REASON}" in start["text"]
    for text in [r["raw"] for r in hook.received] + [p.read_text() for p in suite.reports.iterdir()]:
        assert HEADER_TOKEN not in text and SECRET_TOKEN.split("/")[-1] not in text
    assert HEADER_TOKEN not in result.stdout.str()
    # Without --ignore-window the run carries no approval.
    assert suite.run(*RUN_NOTICE).ret == 0 and suite.summary()["approval"] is None


def _attest(suite, when: datetime, by: str = APPROVER, evidence: str = REASON) -> None:
    (suite.path / "attestations.yaml").write_text(
        f"- {{task: team-training, date: 2020-01-01, by: trainer}}\n"
        f"- {{task: emergency-approval, date: '{when.strftime('%Y-%m-%dT%H:%M:%SZ')}', by: '{by}', "
        f"evidence: '{evidence}'}}\n")


def test_a_recorded_emergency_approval_attestation_stands_in_for_the_options(suite, hook):
    _config(suite, hook.url(), attestations={"file": "attestations.yaml", "tasks": {"team-training": "31d"}},
            window={"rrule": "FREQ=MONTHLY;BYDAY=1SU", "emergency_approval_max_age": "2h"})
    _attest(suite, datetime.now(timezone.utc) - timedelta(minutes=30))
    result = suite.run(*RUN_NOTICE, "--ignore-window")
    assert result.ret == 0, result.stdout.str()
    approval = suite.summary()["approval"]
    assert approval["by"] == APPROVER and approval["reason"] == REASON
    assert approval["source"] == f"attestation {suite.path / 'attestations.yaml'} line 2 (emergency-approval, within 2h)"
    assert _ledger(suite)["approval"] == approval and hook.received[0]["json"]["approval"] == approval
    # Under pytest-xdist the workers carry the controller's approval (and do not ask for one again).
    assert suite.run(*RUN_NOTICE, "--ignore-window", "-n", "2").ret == 0
    assert suite.summary()["approval"]["by"] == APPROVER
    # The record does not trouble the attestations check: emergency-approval is a task it knows.
    result = suite.run("-m", "monthly", "-k", "attestation_records_valid")
    assert "unknown task" not in result.stdout.str()

    _attest(suite, datetime.now(timezone.utc) - timedelta(hours=3))  # older than emergency_approval_max_age
    stale = suite.run(*RUN_NOTICE, "--ignore-window")
    assert stale.ret == 4
    stale.stderr.fnmatch_lines(["ERROR: --ignore-window needs an approval*line 2*older than "
                                "window.emergency_approval_max_age = 2h*"])
    _attest(suite, datetime.now(timezone.utc), evidence="")  # no reason: not an approval
    assert suite.run(*RUN_NOTICE, "--ignore-window").ret == 4


def test_users_of_a_user_facing_service_are_notified_and_a_dead_users_hook_fails_premaintenance(suite, hook):
    users = Hook()
    try:
        _config(suite, hook.url(), user_facing=True, notify={"users": {"webhook": users.url()}})
        result = suite.run("-m", "premaintenance", "-k", "notified")
        assert result.ret == 0, result.stdout.str()
        assert suite.outcomes()["checks/test_premaintenance.py::test_users_notified"] == "passed"
        [start] = (r["json"] for r in users.received)   # the end goes out at postmaintenance (tests/test_notify.py)
        assert start["event"] == "start" and start["audience"] == "users"
        assert start["text"] == "shop: maintenance has started" and "hosts" not in start and "report" not in start
        row = [r for r in suite.summary()["coverage"] if r["task"] == "Users notified (if user-facing)"][0]
        assert row["outcome"] == "passed", row
    finally:
        users.close()

    down = f"http://127.0.0.1:{free_port()}/status/{SECRET_TOKEN}"
    _config(suite, hook.url(), user_facing=True, notify={"users": {"webhook": down, "timeout_s": 2}})
    result = suite.run("-m", "premaintenance", "-k", "notified")
    assert result.ret == 1
    outcomes = suite.outcomes()
    assert outcomes["checks/test_premaintenance.py::test_users_notified"] == "failed"
    assert outcomes["checks/test_premaintenance.py::test_team_notified"] == "passed"
    failed = [t for t in suite.summary()["tests"] if t["id"].endswith("test_users_notified")][0]
    assert "users' start notice to http://127.0.0.1:" in failed["message"] and "Connection refused" in failed["message"]
    result.stdout.fnmatch_lines(["*users' start notice to http://127.0.0.1:*/…: FAILED: *Connection refused*"])
    for path in suite.reports.iterdir():
        assert SECRET_TOKEN.split("/")[-1] not in path.read_text(), path

    _config(suite, hook.url(), notify={"users": {"webhook": down}})  # user_facing left out: false
    assert suite.run("-m", "premaintenance", "-k", "notified").ret == 0
    skipped = [t for t in suite.summary()["tests"] if t["id"].endswith("test_users_notified")][0]
    assert skipped["outcome"] == "skipped" and "not user-facing" in skipped["message"]
    _config(suite, hook.url(), user_facing=True)
    assert suite.run("-m", "premaintenance", "-k", "notified").ret == 0
    skipped = [t for t in suite.summary()["tests"] if t["id"].endswith("test_users_notified")][0]
    assert skipped["outcome"] == "skipped" and "no notify.users webhook" in skipped["message"]


def _archives(app):
    return sorted((app.root / "backups").glob("daily_*.tar.gz"), key=lambda p: p.stat().st_mtime)


def test_premaintenance_apply_leaves_a_new_verified_archive_and_without_it_asks_for_a_recent_one(suite, example_app):
    suite.config(example_app.config())
    [first] = _archives(example_app)  # `ctl.py up` took one
    two_hours_ago = time.time() - 7200
    os.utime(first, (two_hours_ago, two_hours_ago))  # today's daily backup, but not taken just before maintenance

    planned = suite.run("-m", "premaintenance", "-k", "backup")
    assert planned.ret == 1, planned.stdout.str()
    outcomes = {i.split("::")[-1].split("[")[0]: o for i, o in suite.outcomes().items()}
    assert outcomes["test_backup_created_before_maintenance"] == "failed"
    assert outcomes["test_backup_exists"] == "passed" and "test_newest_backup_is_fresh" not in outcomes
    check = [t for t in suite.summary()["tests"] if "test_backup_created_before_maintenance" in t["id"]][0]
    [age] = [c for c in check["comparisons"] if c["key"] == "backups.premaintenance_max_age_minutes"]
    assert not age["passed"] and age["threshold"] == 60 and 119 <= age["measured"] <= 125
    assert _archives(example_app) == [first], "a run without --apply changed the backup folder"
    assert suite.run("-m", "daily", "-k", "fresh").ret == 0  # the daily threshold (backups.max_age_hours) is unchanged

    applied = suite.run("-m", "premaintenance", "--apply", "-k", "backup")
    assert applied.ret == 0, applied.stdout.str()
    now = _archives(example_app)
    assert len(now) == 2 and now[0] == first
    check = [t for t in suite.summary()["tests"] if "test_backup_created_before_maintenance" in t["id"]][0]
    assert check["outcome"] == "passed"
    found = {e["label"]: e["data"] for e in check["evidence"]}
    assert found["backup"]["path"] == str(now[1]) and found["backup"]["verified"]
    assert found["backup before maintenance"]["path"] == str(now[1])
    assert found["backup before maintenance"]["taken_by_this_run"] and found["backup before maintenance"]["verified"]
    assert found[f"verification of {now[1].name}"]["ok"]
    row = [r for r in suite.summary()["coverage"] if r["task"] == "Backup created"][0]
    assert row["outcome"] == "passed", row


# ---- the decision itself (opsproof/process/approval.py's grant), pure: the files are read only when needed

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)


def _maint(tmp_path, text: str = "") -> cfg.Maint:
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: shop\nroot: .\n" + text)
    return cfg.load(path)


def _never(path: str, tasks: set[str]) -> list[AttestationFile]:
    raise AssertionError("no attestations file is read when the options decide")


def test_grant_needs_nothing_without_ignore_window_and_takes_the_command_lines_approval(tmp_path):
    maint = _maint(tmp_path)
    assert approval.grant(False, None, None, NOW, maint, _never, NOW) is None
    granted = approval.grant(True, APPROVER, REASON, NOW - timedelta(minutes=1), maint, _never, NOW)
    assert granted == {"by": APPROVER, "reason": REASON, "at": "2026-12-06T01:59:00Z",
                       "source": "command line (--approved-by, --reason)"}
    with pytest.raises(approval.Refused, match="they go with --ignore-window"):
        approval.grant(False, APPROVER, REASON, NOW, maint, _never, NOW)
    with pytest.raises(approval.Refused, match="needs an approval: pass --approved-by NAME and --reason TEXT"):
        approval.grant(True, None, None, NOW, maint, _never, NOW)


def test_grant_reads_every_targets_attestations_with_the_windows_max_age(tmp_path):
    maint = _maint(tmp_path, "attestations: {file: att.yaml, tasks: {team-training: 31d}}\n"
                             "window: {rrule: 'FREQ=WEEKLY;BYDAY=SU', start: '02:00', duration: 2h, "
                             "emergency_approval_max_age: 2h}\n")
    asked = []

    def read(path: str, tasks: set[str]) -> list[AttestationFile]:
        asked.append((path, tasks))
        record = Attestation(approval.TASK, "2026-12-06T01:00:00Z", "Dana", "disk full", 1, NOW - timedelta(hours=1))
        return [AttestationFile("web1:att.yaml", [record]), AttestationFile("web2:att.yaml", [record])]

    granted = approval.grant(True, None, None, NOW, maint, read, NOW)
    assert asked == [(maint.attestations.file, {approval.TASK})]
    assert granted["by"] == "Dana" and granted["source"].endswith(f"({approval.TASK}, within 2h)")
    with pytest.raises(approval.Refused, match="older than window.emergency_approval_max_age = 2h"):
        approval.grant(True, None, None, NOW, maint, read, NOW + timedelta(hours=2))
    assert approval.max_age(None) == cfg.Window.model_fields["emergency_approval_max_age"].default
    assert approval.max_age(maint.window) == timedelta(hours=2)
