"""The checklists end to end: premaintenance, daily --apply, postmaintenance on the real example service;
errors since the recorded start or the window's opening; rollback plan and monitoring."""
from __future__ import annotations

import json
import os
import urllib.request
from datetime import datetime, timedelta, timezone

from helpers import free_port, require_tool, wait_for
from helpers.sshd import ALIAS
from opsproof import config as cfg
from opsproof.process import checklist, maintenance

OLD = (datetime.now(timezone.utc) - timedelta(days=30)).timestamp()


def _get(app, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{app.port}{path}", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _evidence(summary: dict, label: str) -> list[dict]:
    return [e["data"] for t in summary["tests"] for e in t.get("evidence", []) if e["label"] == label]


def test_premaintenance_daily_apply_postmaintenance_on_the_example(suite, example_app):
    """The issue's "done when": all three runs pass, the actions act, and their evidence is in the reports."""
    require_tool("logrotate")
    root = example_app.root
    access = root / "logs" / "access.log"
    with open(access, "a") as fh:  # a log past logs.rotate.max_size_mb (1 MiB) and a stale temp tree
        fh.write(("127.0.0.1 - - [01/Jan/2026:00:00:00 +0000] \"GET /old HTTP/1.1\" 200 2 \"-\" \"x\" 0.001\n") * 16000)
    (root / "tmp" / "job-17").mkdir(parents=True)
    stale = root / "tmp" / "job-17" / "upload.part"
    stale.write_bytes(b"p" * 4096)
    for path in (stale, stale.parent):
        os.utime(path, (OLD, OLD))
    suite.config(example_app.config())

    pre = suite.run("-m", "premaintenance")
    assert pre.ret == 0, pre.stdout.str()
    assert {"passed", "skipped"} >= set(suite.outcomes().values())
    [start] = _evidence(suite.summary(), "maintenance start recorded")
    assert start["error_log"]["path"].endswith("logs/error.log")

    daily = suite.run("-m", "daily", "--apply", "--ignore-window", "--approved-by", "cto", "--reason", "test")
    assert daily.ret == 0, daily.stdout.str()
    [rotation] = _evidence(suite.summary(), "rotate-logs")[:1]
    assert rotation["mode"] == "apply" and str(access) in rotation["rotated"], rotation
    assert rotation["reopened"][f"{access}.1"].startswith("no process holds it")
    [cleanup] = _evidence(suite.summary(), f"clean-temp {root / 'tmp'}")[:1]
    assert cleanup["removed"] == ["job-17/upload.part"] and cleanup["dirs_removed"] == ["job-17/"]
    assert cleanup["bytes_freed"] == 4096 and not stale.exists()
    html = suite.html()
    assert "rotate-logs" in html and "clean-temp" in html and "action gate" in html
    # The server reopened its log: a new request lands in the new file, the old lines are in NAME.1.
    assert _get(example_app, "/health") == 200
    wait_for(lambda: "GET /health" in access.read_text(), what="the new access.log line")
    assert "GET /old" in (root / "logs" / "access.log.1").read_text()

    post = suite.run("-m", "postmaintenance")
    assert post.ret == 0, post.stdout.str()
    [since] = _evidence(suite.summary(), "errors since the start")
    assert since["matches"] == 0 and "premaintenance run recorded" in since["reference"]


def test_errors_after_the_recorded_start_fail_postmaintenance(suite, example_app):
    assert _get(example_app, "/fail") == 500  # before maintenance: not counted
    suite.config(example_app.config())
    assert suite.run("-m", "premaintenance", "-k", "start_recorded").ret == 0
    assert _get(example_app, "/fail") == 500  # during maintenance: counted
    result = suite.run("-m", "postmaintenance", "-k", "since_maintenance")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*error lines in*since the start the premaintenance run recorded*is 1;"
                                 " logs.max_new_errors allows <= 0*ERROR simulated failure on /fail*"])


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_without_a_record_errors_count_from_the_window_opening(suite):
    now = datetime.now(timezone.utc)
    opened = now - timedelta(minutes=60)
    logs = suite.path / "logs"
    logs.mkdir()
    before, after = now - timedelta(hours=3), now - timedelta(minutes=20)
    (logs / "error.log.1").write_text(f"{_stamp(before)} ERROR before the window\n{_stamp(after)} ERROR after, rotated\n")
    (logs / "error.log").write_text(f"{_stamp(after)} INFO fine\n  a continuation line without a stamp\n"
                                    f"{_stamp(now)} CRITICAL after, active\n")
    suite.config({"service": "svc", "root": ".", "logs": {"error_log": "logs/error.log", "max_new_errors": 1},
                  "window": {"rrule": "FREQ=DAILY", "start": opened.strftime("%H:%M"), "duration": "3h"}})
    result = suite.run("-m", "postmaintenance", "-k", "since_maintenance")
    assert result.ret == 1, result.stdout.str()
    result.stdout.fnmatch_lines(["*since the maintenance window opened*is 2; logs.max_new_errors allows <= 1*"])
    [since] = _evidence(suite.summary(), "errors since the start")
    assert sorted(s.split(" ", 1)[1] for s in since["sample"]) == ["CRITICAL after, active", "ERROR after, rotated"]


def test_without_a_record_or_a_window_the_check_defers_to_since_last_run(suite):
    (suite.path / "error.log").write_text("x\n")
    suite.config({"service": "svc", "root": ".", "logs": {"error_log": "error.log"}})
    result = suite.run("-m", "postmaintenance", "-k", "since_maintenance")
    assert result.ret == 0
    assert "counted since the last run by test_no_new_errors" in result.stdout.str()


def test_a_passing_postmaintenance_closes_the_record(suite):
    (suite.path / "error.log").write_text("x\n")
    suite.config({"service": "svc", "root": ".", "logs": {"error_log": "error.log"}})
    assert suite.run("-m", "premaintenance", "-k", "start_recorded").ret == 0
    assert suite.run("-m", "postmaintenance", "-k", "since_maintenance").ret == 0
    state = json.loads((suite.path / ".opsproof" / "local" / "maintenance.json").read_text())
    assert state["ended_utc"]
    result = suite.run("-m", "postmaintenance", "-k", "since_maintenance")
    assert "no open premaintenance record" in result.stdout.str()


def test_rollback_plan_must_exist_and_say_something(suite):
    suite.config({"service": "svc", "root": ".", "rollback_plan": "docs/rollback.md"})
    result = suite.run("-m", "premaintenance", "-k", "rollback")
    assert result.ret == 1 and "rollback plan" in result.stdout.str() and "no such file" in result.stdout.str()
    (suite.path / "docs").mkdir()
    (suite.path / "docs" / "rollback.md").write_text("# Rollback\n\n## Steps\n")
    result = suite.run("-m", "premaintenance", "-k", "rollback")
    assert result.ret == 1 and "is empty (headings only" in result.stdout.str()
    (suite.path / "docs" / "rollback.md").write_text("# Rollback\n1. Stop the service.\n2. Restore the backup.\n")
    assert suite.run("-m", "premaintenance", "-k", "rollback").ret == 0


def test_monitoring_must_answer(suite, http_server):
    http_server.behaviour.body = b"Prometheus Server is Ready.\n"
    suite.config({"service": "svc", "root": ".",
                  "monitoring": {"url": http_server.url("/-/ready"), "contains": "Ready", "timeout_s": 2}})
    assert suite.run("-m", "premaintenance", "-k", "monitoring").ret == 0
    assert http_server.behaviour.requests[-1]["path"] == "/-/ready"
    http_server.behaviour.status = 503
    result = suite.run("-m", "premaintenance", "-k", "monitoring")
    assert result.ret == 1 and "is not ready: status 503, expected 200" in result.stdout.str()
    suite.config({"service": "svc", "root": ".", "monitoring": {"url": f"http://127.0.0.1:{free_port()}/-/ready"}})
    result = suite.run("-m", "premaintenance", "-k", "monitoring")
    assert result.ret == 1 and "Connection refused" in result.stdout.str()


def test_actions_over_ssh(suite, example_app, sshd):
    """daily --apply against a remote target (a real sshd on loopback): logrotate, the shipped cleanup walk,
    the open-file scan and the lock all run through the SSH connection."""
    require_tool("logrotate")
    root = example_app.root
    with open(root / "logs" / "access.log", "a") as fh:
        fh.write("x" * 1_100_000 + "\n")
    stale = root / "tmp" / "old.bin"
    stale.write_bytes(b"o" * 512)
    os.utime(stale, (OLD, OLD))
    suite.config(example_app.config())
    result = suite.run("-m", "daily", "-k", "rotat or temp", "--apply", f"--hosts=ssh://{ALIAS}",
                       f"--ssh-config={sshd.ssh_config}")
    assert result.ret == 0, result.stdout.str()
    assert not stale.exists() and (root / "logs" / "access.log.1").exists()
    [cleanup] = _evidence(suite.summary(), f"clean-temp {root / 'tmp'}")[:1]
    assert cleanup["walker"] == "python3 on the target" and cleanup["removed"] == ["old.bin"]
    [rotation] = _evidence(suite.summary(), "rotate-logs")[:1]
    assert rotation["rotated"] == [str(root / "logs" / "access.log")]
    assert rotation["reopened"], rotation  # the open-file scan over SSH saw the server let go of NAME.1
    [gate] = _evidence(suite.summary(), "action gate: rotate-logs")[:1]
    assert "taken by this run" in gate["lock"]
    assert not (root / ".opsproof" / "lock").exists()


# ---- the checklists' own decisions (opsproof/process/checklist.py, maintenance.py), pure

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=timezone.utc)      # a Sunday, inside a window opening at 02:00


def _maint(tmp_path, text: str = "") -> cfg.Maint:
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: shop\nroot: .\n" + text)
    return cfg.load(path)


class _Store:
    def __init__(self, saved: dict) -> None:
        self.saved = saved

    def load(self, name: str) -> dict:
        return self.saved


def test_why_a_checklist_item_does_not_apply(tmp_path):
    bare = _maint(tmp_path)
    assert checklist.start_skipped(bare) == "no logs or docs section in maintenance.yaml: nothing is counted from the start"
    assert checklist.plan_skipped(bare) == "no rollback_plan in maintenance.yaml"
    full = _maint(tmp_path, "logs: {error_log: logs/error.log}\nrollback_plan: rollback.md\n")
    assert checklist.start_skipped(full) is None and checklist.plan_skipped(full) is None
    none = maintenance.Reference("none", detail="no open premaintenance record and no window: section")
    assert checklist.errors_skipped(none) == ("no open premaintenance record and no window: section: errors are "
                                              "counted since the last run by test_no_new_errors")
    assert checklist.errors_skipped(maintenance.Reference("window", "2026-12-06T02:00:00Z")) is None


def test_the_monitoring_endpoint_the_known_tasks_and_the_docs_period(tmp_path):
    maint = _maint(tmp_path, "monitoring: {url: 'http://127.0.0.1:9090/-/ready', timeout_s: 2, contains: ready}\n"
                             "docs: {dir: docs, max_age_days: 1.5}\n"
                             "attestations: {file: att.yaml, tasks: {team-training: 31d}}\n")
    endpoint = checklist.monitoring_endpoint(maint.monitoring)
    assert (endpoint.name, endpoint.url, endpoint.status, endpoint.contains) == (
        "monitoring", "http://127.0.0.1:9090/-/ready", 200, "ready")
    assert endpoint.timeout_s == 2 and endpoint.max_latency_ms == 2000
    assert checklist.known_tasks(maint) == {"team-training", "documentation-review", "emergency-approval"}
    assert checklist.known_tasks(_maint(tmp_path)) == {"emergency-approval"}
    assert checklist.docs_period(maint.docs) == timedelta(hours=36)


def test_the_reference_point_and_which_record_a_passing_run_closes(tmp_path):
    window = _maint(tmp_path, "window: {rrule: 'FREQ=WEEKLY;BYDAY=SU', start: '02:00', duration: 2h}\n").window
    start = {"started_utc": "2026-12-06T01:50:00Z", "run": "pre1"}
    recorded = maintenance.reference(_Store({"start": start, "ended_utc": None}), window, NOW)
    assert recorded.kind == "premaintenance" and recorded.since_utc == "2026-12-06T01:50:00Z"
    assert recorded.closes_after("post1") and not recorded.closes_after("pre1")   # a run's own record stays open
    opened = maintenance.reference(_Store({"start": start, "ended_utc": "2026-12-06T02:30:00Z"}), window, NOW)
    assert opened.kind == "window" and opened.since_utc == "2026-12-06T02:00:00Z" and not opened.closes_after("x")
    assert maintenance.reference(_Store({}), None, NOW).kind == "none"
