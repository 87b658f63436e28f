"""Notifications: JSON POSTs to a real local webhook server; failing and hanging webhooks fail the check in time."""
from __future__ import annotations

import time

import pytest

from helpers import free_port
from helpers.webhook import HEADER_TOKEN, SECRET_TOKEN, Hook
from opsproof import config as cfg
from opsproof.process import notify
from opsproof.process.notify import Delivery, Notices, payload, post, users_payload
from opsproof.report.redact import Redactor, config_secrets
from opsproof.report.run import RunRecord

DB_PASSWORD = "dbpassw0rd-xyz"


def test_post_delivers_json(hook):
    body = payload("end", "shop", "postmaintenance", "local", {"passed": 7, "failed": 1}, "post_1.html",
                   verdict="failed")
    delivery = post(hook.url(), body, 5, {"Authorization": f"Bearer {HEADER_TOKEN}"})
    assert delivery.ok and delivery.status == 200
    [got] = hook.received
    assert got["json"] == body and got["headers"]["Content-Type"] == "application/json"
    assert got["headers"]["Authorization"] == f"Bearer {HEADER_TOKEN}"
    assert body["text"] == "shop: maintenance run FAILED on local (-m postmaintenance): 7 passed, 1 failed — report post_1.html"
    assert SECRET_TOKEN not in delivery.webhook and delivery.webhook == f"http://127.0.0.1:{hook.port}/…"


def test_an_end_notice_says_the_runs_verdict_as_the_report_does():
    # Issue 20 #8: "maintenance run passed ... 9 skipped" for a run whose verdict was INCOMPLETE.
    body = payload("end", "shop", "premaintenance", "local", {"passed": 2, "skipped": 9}, "pre_1.html",
                   verdict="incomplete")
    assert body["text"] == ("shop: maintenance run INCOMPLETE on local (-m premaintenance): 2 passed, 9 skipped "
                            "— report pre_1.html")
    assert body["verdict"] == "incomplete"
    assert payload("end", "shop", "daily", "local", {"passed": 3}, verdict="passed")["text"].startswith(
        "shop: maintenance run PASSED on local")
    assert payload("start", "shop", "premaintenance", "local")["verdict"] is None   # no verdict yet
    with pytest.raises(ValueError, match="verdict"):
        payload("end", "shop", "daily", "local", {"passed": 3})                  # counts alone never make one
    users = users_payload("end", "shop", "incomplete")
    assert users["text"] == "shop: maintenance has ended (checks INCOMPLETE)" and users["verdict"] == "incomplete"
    start = users_payload("start", "shop")
    assert start["text"] == "shop: maintenance has started" and start["verdict"] is None


def test_an_error_status_is_a_failed_delivery(hook):
    hook.status = 500
    delivery = post(hook.url(), payload("start", "shop", "premaintenance", "local"), 5)
    assert not delivery.ok and delivery.error == "the webhook answered HTTP 500"


def test_a_hanging_webhook_is_abandoned_within_its_timeout(hook):
    hook.hang_s = 30
    started = time.monotonic()
    delivery = post(hook.url(), payload("start", "shop", "premaintenance", "local"), 1)
    assert time.monotonic() - started < 5
    assert not delivery.ok and "no answer within notify.timeout_s = 1 s" in delivery.error


def test_an_unreachable_webhook_never_raises():
    delivery = post(f"http://127.0.0.1:{free_port()}/services/{SECRET_TOKEN}", payload("start", "s", "", "h"), 2)
    assert not delivery.ok and "Connection refused" in delivery.error and SECRET_TOKEN not in delivery.error


def _config(suite, hook_url: str, user_facing: bool = False, **notify) -> None:
    suite.config({"service": "shop", "root": ".", "rollback_plan": "rollback.md", "user_facing": user_facing,
                  "backups": {"dir": "b", "pattern": "x_*", "database": {"engine": "postgresql",
                                                                         "dsn": f"postgresql://app:{DB_PASSWORD}@db/x"}},
                  "notify": {"webhook": hook_url, "timeout_s": notify.pop("timeout_s", 5),
                             "headers": {"Authorization": f"Bearer {HEADER_TOKEN}"}, **notify}})
    (suite.path / "rollback.md").write_text("# Rollback\nRestore the last backup.\n")


def test_checklist_runs_notify_start_and_end(suite, hook):
    _config(suite, hook.url())
    result = suite.run("-m", "premaintenance", "-k", "team or rollback")
    assert result.ret == 0, result.stdout.str()
    start, end = (r["json"] for r in hook.received)
    assert start["event"] == "start" and start["service"] == "shop" and start["selection"] == "premaintenance"
    assert end["event"] == "end" and end["outcome"] == {"passed": 2}
    summary = suite.summary()
    assert summary["outcome"] == {"passed": 2} and summary["verdict"] == "incomplete"  # -k left tasks unchecked
    assert end["report"].endswith(".html") and end["verdict"] == "incomplete"
    assert end["text"].startswith("shop: maintenance run INCOMPLETE on local (-m premaintenance): 2 passed")
    result.stdout.fnmatch_lines([f"opsproof: start notice to http://127.0.0.1:{hook.port}/…: HTTP 200"])
    for got in hook.received:
        assert SECRET_TOKEN not in got["raw"] and DB_PASSWORD not in got["raw"] and HEADER_TOKEN not in got["raw"]
    for path in suite.reports.iterdir():
        text = path.read_text()
        assert SECRET_TOKEN.split("/")[-1] not in text and HEADER_TOKEN not in text, path


def test_completion_notice_runs_last_and_counts_the_others(suite, hook):
    _config(suite, hook.url())
    (suite.path / "checks" / "test_zzz_probe.py").write_text(
        "import pytest\npytestmark = [pytest.mark.postmaintenance]\n"
        "def test_after_notice():\n    '''Sorts after the notice check by name.'''\n    assert False, 'seeded failure'\n")
    result = suite.run("-m", "postmaintenance")
    assert result.ret == 1
    ids = [t["id"] for t in suite.summary()["tests"]]
    assert ids[-1].endswith("test_team_notified_of_completion"), ids
    end = hook.received[-1]["json"]
    assert end["event"] == "end" and end["outcome"].get("failed") == 1, end
    assert "maintenance run FAILED" in end["text"] and end["verdict"] == suite.summary()["verdict"] == "failed"
    assert len([r for r in hook.received if r["json"]["event"] == "end"]) == 1  # not sent twice


def test_a_failing_webhook_fails_the_notify_check_only(suite, hook):
    hook.status = 503
    _config(suite, hook.url())
    result = suite.run("-m", "premaintenance", "-k", "team or rollback")
    assert result.ret == 1
    outcomes = suite.outcomes()
    assert outcomes["checks/test_premaintenance.py::test_team_notified"] == "failed"
    assert outcomes["checks/test_premaintenance.py::test_rollback_plan_ready[local]"] == "passed"
    result.stdout.fnmatch_lines(["*start notice to http://127.0.0.1:*/… (notify.webhook): the webhook answered HTTP 503*"])


def test_a_hanging_webhook_neither_hangs_nor_crashes_the_run(suite, hook):
    hook.hang_s = 60
    _config(suite, hook.url(), timeout_s=1)
    started = time.monotonic()
    result = suite.run("-m", "postmaintenance or premaintenance", "-k", "team or rollback", timeout=120)
    elapsed = time.monotonic() - started
    assert result.ret == 1
    # One notice not abandoned would alone take hang_s = 60 s; the run itself takes ~15 s (3x: 45 s, and more room).
    assert elapsed < 58, f"the run took {elapsed:.0f} s with a 1 s notify timeout"
    outcomes = suite.outcomes()
    assert outcomes["checks/test_premaintenance.py::test_team_notified"] == "failed"
    assert outcomes["checks/test_postmaintenance.py::test_team_notified_of_completion"] == "failed"
    result.stdout.fnmatch_lines(["*no answer within notify.timeout_s = 1 s*"])


def test_runs_outside_notify_selections_send_nothing(suite, hook):
    (suite.path / "tmp").mkdir()
    suite.config({"service": "shop", "root": ".", "temp": {"dirs": ["tmp"]}, "notify": {"webhook": hook.url()}})
    result = suite.run("-m", "daily")
    assert result.ret == 0, result.stdout.str()
    assert hook.received == []
    suite.config({"service": "shop", "root": ".", "rollback_plan": "rollback.md"})
    result = suite.run("-m", "premaintenance", "-k", "team")
    assert result.ret == 0 and "no notify section in maintenance.yaml" in result.stdout.str()


def test_notify_config_and_its_secrets(tmp_path):
    from opsproof import config as cfg

    path = tmp_path / "maintenance.yaml"
    path.write_text("service: svc\nnotify: {webhook: 'ftp://x'}\n")
    with pytest.raises(cfg.ConfigError, match="notify.webhook: must start with http"):
        cfg.load(path)
    path.write_text(f"service: svc\nnotify: {{webhook: 'https://hooks.example.invalid/services/{SECRET_TOKEN}', "
                    f"headers: {{Authorization: 'Bearer {HEADER_TOKEN}'}}}}\n")
    maint = cfg.load(path)
    assert maint.notify.timeout_s == 5 and maint.notify.selections == ["premaintenance", "postmaintenance"]
    secrets = config_secrets(maint)
    assert SECRET_TOKEN.split("/")[-1] in secrets and HEADER_TOKEN in secrets


def test_under_xdist_workers_see_the_start_and_the_controller_sends_the_end(suite, hook):
    _config(suite, hook.url())
    result = suite.run("-m", "premaintenance or postmaintenance", "-k", "team or rollback", "-n", "2")
    assert result.ret == 0, result.stdout.str()
    outcomes = suite.outcomes()
    assert outcomes["checks/test_premaintenance.py::test_team_notified"] == "passed"
    assert outcomes["checks/test_postmaintenance.py::test_team_notified_of_completion"] == "skipped"
    events = [r["json"]["event"] for r in hook.received]
    assert events == ["start", "end"], events
    assert hook.received[1]["json"]["outcome"]["passed"] == 2
    assert hook.received[1]["json"]["verdict"] == suite.summary()["verdict"]


def test_users_hear_the_start_at_premaintenance_and_the_end_at_postmaintenance_once_each(suite, hook):
    # Issue 20 #8: `-m premaintenance` told users "has started" and then "has ended" before anything happened,
    # and `-m postmaintenance` sent the pair again.
    users = Hook()
    try:
        _config(suite, hook.url(), user_facing=True, users={"webhook": users.url()})
        result = suite.run("-m", "premaintenance", "-k", "notified or rollback")
        assert result.ret == 0, result.stdout.str()
        assert [r["json"]["text"] for r in users.received] == ["shop: maintenance has started"]
        assert [r["json"]["event"] for r in hook.received] == ["start", "end"]      # the team hears of each run
        assert hook.received[-1]["json"]["verdict"] == suite.summary()["verdict"]
        row = [r for r in suite.summary()["coverage"] if r["task"] == "Users notified (if user-facing)"][0]
        assert row["outcome"] == "passed", row

        result = suite.run("-m", "postmaintenance", "-k", "notified")
        assert result.ret == 0, result.stdout.str()
        verdict = suite.summary()["verdict"]
        assert verdict == "incomplete"                  # -k left the other postmaintenance tasks unchecked
        assert [(r["json"]["event"], r["json"]["verdict"]) for r in users.received] == [("start", None),
                                                                                         ("end", verdict)]
        assert users.received[-1]["json"]["text"] == "shop: maintenance has ended (checks INCOMPLETE)"
        team = hook.received[-1]["json"]
        assert team["event"] == "end" and team["verdict"] == verdict and "maintenance run INCOMPLETE" in team["text"]
        assert "hosts" not in users.received[-1]["json"] and "report" not in users.received[-1]["json"]
        evidence = [t for t in suite.summary()["tests"] if t["id"].endswith("test_team_notified_of_completion")][0]
        assert "users' completion notice" in {e["label"] for e in evidence["evidence"]}

        # One run of both checklists tells users once of each, in order.
        result = suite.run("-m", "premaintenance or postmaintenance", "-k", "notified or rollback")
        assert result.ret == 0, result.stdout.str()
        assert [r["json"]["event"] for r in users.received[2:]] == ["start", "end"]
    finally:
        users.close()


def test_a_service_that_is_not_user_facing_reads_users_notified_not_applicable(suite, hook):
    _config(suite, hook.url())
    result = suite.run("-m", "premaintenance", "-k", "notified")
    assert result.ret == 0, result.stdout.str()
    row = [r for r in suite.summary()["coverage"] if r["task"] == "Users notified (if user-facing)"][0]
    assert row["outcome"] == "not applicable", row
    assert row["why"].startswith("not applicable: the service is not user-facing"), row
    team = [r for r in suite.summary()["coverage"] if r["task"] == "Team notified"][0]
    assert team["outcome"] == "passed", team


# ---- who is told what, and when (pure decisions; the sends against a real local hook)

def _maint(tmp_path, text: str) -> cfg.Maint:
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: shop\nroot: .\n" + text)
    return cfg.load(path)


def _run(selection: str) -> RunRecord:
    from datetime import datetime, timezone
    return RunRecord(run_id="r1", started=datetime(2026, 12, 6, tzinfo=timezone.utc), service="shop", operator="ops",
                     hosts="local", selection=selection, apply=False, ignore_window=False, config_path="m.yaml",
                     config_sha256="0" * 64, suite_version="0.1.0")


def test_a_run_is_notified_when_its_selection_names_one_of_notify_selections(tmp_path):
    maint = _maint(tmp_path, "notify: {webhook: 'http://127.0.0.1:9/h'}\n")
    assert notify.selected(maint.notify, _run("premaintenance"))
    assert notify.selected(maint.notify, _run("daily or postmaintenance"))
    assert not notify.selected(maint.notify, _run("daily")) and not notify.selected(None, _run("premaintenance"))
    assert notify.not_sent(maint, _run("premaintenance")) is None
    assert notify.not_sent(maint, _run("daily")) == (
        "this run (-m 'daily') is not in notify.selections ['premaintenance', 'postmaintenance']: no notice is sent")
    assert notify.not_sent(maint, _run("")).startswith("this run (-m '(none)')")
    assert notify.not_sent(_maint(tmp_path, ""), _run("premaintenance")) == "no notify section in maintenance.yaml"


def test_users_are_told_only_by_a_user_facing_service_with_a_users_hook(tmp_path):
    hooks = "notify: {webhook: 'http://127.0.0.1:9/h', users: {webhook: 'http://127.0.0.1:9/u'}}\n"
    pre = _run("premaintenance")
    assert notify.users_not_told(_maint(tmp_path, "user_facing: true\n" + hooks), pre) is None
    assert notify.users_not_told(_maint(tmp_path, hooks), pre).startswith("not applicable: the service is not user")
    assert notify.users_not_told(_maint(tmp_path, hooks), pre).endswith("users get no notice")
    assert notify.users_not_told(_maint(tmp_path, "user_facing: true\n" + hooks), _run("daily")).startswith(
        "this run (-m 'daily')")
    bare = _maint(tmp_path, "user_facing: true\nnotify: {webhook: 'http://127.0.0.1:9/h'}\n")
    assert notify.users_not_told(bare, pre) == ("user_facing: true, but maintenance.yaml has no notify.users webhook "
                                                "(a status page) to tell users through")
    assert notify.users_hook(bare) is None and notify.users_hook(_maint(tmp_path, hooks)) is None


def test_send_tells_the_users_first_keeps_both_and_masks_the_body(tmp_path, hook):
    maint = _maint(tmp_path, f"user_facing: true\nnotify: {{webhook: '{hook.url()}', users: {{webhook: "
                             f"'{hook.url()}'}}}}\n")
    notices = Notices()
    team = notify.send(maint, _run("premaintenance"), "start", Redactor(["shop"]), notices, "pre.html")
    assert team.ok and notices.start is team and notices.end is None and notices.users["start"].ok
    users, ours = hook.received
    assert users["json"]["audience"] == "users" and users["json"]["text"] == "***: maintenance has started"
    assert ours["json"]["event"] == "start" and ours["json"]["service"] == "***"
    end = notify.send(maint, _run("premaintenance"), "end", Redactor(), notices, "pre.html", {"passed": 1}, "passed")
    assert notices.end is end and "end" not in notices.users        # a premaintenance run does not tell its end
    assert len(hook.received) == 3


def test_notices_cross_to_a_worker_as_plain_values_and_say_one_line_each():
    sent = Delivery("start", "http://h/…", 200, 3.0)
    notices = Notices(start=sent, users={"start": Delivery("start", "http://u/…", error="refused")})
    back = Notices.of(notices.plain())
    assert back == notices and Notices.of(None) == Notices()
    assert back.start_notice() == sent and back.start_notice(users=True).error == "refused"
    assert Notices().start_notice() == Delivery("start", "", error="not sent")
    back.end = Delivery("end", "http://h/…", 200)
    assert back.lines() == ["opsproof: start notice to http://h/…: HTTP 200", "opsproof: end notice to http://h/…: HTTP 200",
                            "opsproof: users' start notice to http://u/…: FAILED: refused"]
