"""Judgement over time (issue 9): warning bands, waivers and runbooks, through the suite run for real."""
from __future__ import annotations

import html
import os
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from opsproof.config.judgement import Waiver
from opsproof.config.section import warn_key
from opsproof.report import ledger
from opsproof.report.judgement import Ruling, covers, listing, rule, runbook_for, unused, with_lines
from opsproof.report.redact import Redactor

from helpers import config_error, require_tool

DISK_CHECKS = "test_disk_space"
# Every used filesystem is past 0 %: a warning level of 0 warns, a failing one of 100 passes.
DISK_WARNED = {"paths": ["/"], "max_used_percent": 100, "warn_used_percent": 0}
DISK_FAILING = {"paths": ["/"], "max_used_percent": 0}


def _waiver(**changes) -> dict:
    waiver = {"check": DISK_CHECKS, "reason": "volume grows next sprint (OPS-12)", "approved_by": "Dana CTO",
              "expires": (date.today() + timedelta(days=30)).isoformat()}
    return {**waiver, **changes}


def _one(summary: dict, name: str) -> dict:
    (test,) = [t for t in summary["tests"] if name in t["id"]]
    return test


@pytest.mark.parametrize("key, warn", [
    ("disk.max_used_percent", "disk.warn_used_percent"),
    ("backups.max_age_hours", "backups.warn_age_hours"),
    ("disk.forecast_min_days", "disk.warn_forecast_days"),
    ("security.tls[0].min_days", "security.tls[0].warn_days"),
    ("slo.objectives[api].target", "slo.objectives[api].warn_target"),
    ("attestations.tasks[team-training]", None),
    ("disk.warn_used_percent", None),
])
def test_one_naming_rule_for_warning_levels(key, warn):
    assert warn_key(key) == warn


@pytest.mark.parametrize("section, key", [
    ("disk: {paths: [/], max_used_percent: 80, warn_used_percent: 80}", "disk.warn_used_percent"),
    ("disk: {paths: [/], forecast_min_days: 30, warn_forecast_days: 10}", "disk.warn_forecast_days"),
    ("backups: {dir: b, pattern: '*.gz', warn_age_hours: 30}", "backups.warn_age_hours"),
    ("security: {tls: [{host: h, min_days: 30, warn_days: 7}]}", "security.tls[0].warn_days"),
])
def test_a_warning_level_past_the_failing_one_is_refused(tmp_path, section, key):
    err = config_error(tmp_path, section)
    assert err.key == key and "a warning comes before the failure" in err.problem


def test_warn_bands_on_disk_and_backup_age_pass_the_run_and_show_everywhere(suite):
    require_tool("promtool")
    backups = suite.path / "backups"
    backups.mkdir()
    archive = backups / "daily_1.tar.gz"
    archive.write_bytes(b"x" * 2048)
    five_hours_ago = time.time() - 5 * 3600
    os.utime(archive, (five_hours_ago, five_hours_ago))
    suite.config({"service": "shop", "disk": DISK_WARNED,
                  "backups": {"dir": str(backups), "pattern": "daily_*.tar.gz", "max_age_hours": 26,
                              "warn_age_hours": 2}})
    prom = suite.path / "opsproof.prom"
    result = suite.run("-m", "daily", "-k", "test_disk_space or test_newest_backup_is_fresh", f"--textfile={prom}")
    assert result.ret == 0, result.stdout.str()
    summary = suite.summary()
    disk, age = _one(summary, "test_disk_space"), _one(summary, "test_newest_backup_is_fresh")
    assert disk["outcome"] == age["outcome"] == "passed"
    assert [c["warned"] for c in disk["comparisons"]] == [True]
    assert "disk.warn_used_percent = 0.0%" in disk["warnings"][0]
    assert "backups.warn_age_hours = 2.0 h" in age["warnings"][0] and "backups.max_age_hours = 26.0 h" in \
        age["warnings"][0]
    assert {w["id"] for w in summary["warnings"]} == {disk["id"], age["id"]}
    assert "and 2 warnings: warning" in summary["verdict_text"]  # INCOMPLETE: only two daily checks ran
    row = next(r for r in summary["coverage"] if r["task"] == "Disk space check")
    assert "warning: space used on" in row["why"]
    page = html.unescape(suite.html())
    assert "and 2 warnings" in page and "WARNING" in page and "backups.warn_age_hours" in page
    (line,) = ledger.read_entries(suite.reports)
    assert {w["id"] for w in line["warnings"]} == {disk["id"], age["id"]} and line["failed"] == []
    text = prom.read_text()
    checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f'opsproof_check_warning{{check="{disk["id"]}",host="local",cadence="daily"}} 1' in text.splitlines()


def test_a_value_clear_of_the_warning_level_warns_nothing(suite):
    suite.config({"service": "shop", "disk": {"paths": ["/"], "max_used_percent": 100, "warn_used_percent": 99.99}})
    assert suite.run("-m", "daily", "-k", DISK_CHECKS).ret == 0
    summary = suite.summary()
    assert summary["warnings"] == [] and "warnings" not in _one(summary, DISK_CHECKS)
    assert "warning" not in summary["verdict_text"]


def test_a_waiver_in_force_reports_the_failure_as_waived_and_the_run_exits_0(suite):
    suite.config({"service": "shop", "disk": DISK_FAILING, "waivers": [_waiver()]})
    result = suite.run("-m", "daily", "-k", DISK_CHECKS, "-rx")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["opsproof: INCOMPLETE*and 1 waived failure: *test_disk_space* waived: *",
                                 "*XFAIL*test_disk_space*waived: volume grows next sprint (OPS-12)*"])
    summary = suite.summary()
    test = _one(summary, DISK_CHECKS)
    until = _waiver()["expires"]
    assert test["outcome"] == "waived"
    assert test["waiver"] == f"waived: volume grows next sprint (OPS-12) (approved by Dana CTO, until {until})"
    assert "disk.max_used_percent allows <= 0" in test["message"]  # the failure itself is kept
    assert summary["outcome"] == {"waived": 1} and summary["waived"] == [{"id": test["id"], "waiver": test["waiver"]}]
    assert summary["waivers"][0]["in_force"] is True and summary["unused_waivers"] == []
    assert summary["verdict_text"].count("waived failure") == 1
    row = next(r for r in summary["coverage"] if r["task"] == "Disk space check")
    assert row["outcome"] == "waived" and "approved by Dana CTO" in row["why"]
    page = html.unescape(suite.html())
    assert "waived: volume grows next sprint (OPS-12) (approved by Dana CTO" in page
    (line,) = ledger.read_entries(suite.reports)
    assert line["waived"][0]["id"] == test["id"] and line["waivers"][0]["approved_by"] == "Dana CTO"


def test_an_expired_waiver_covers_nothing_and_the_failure_says_so(suite):
    expired = (date.today() - timedelta(days=1)).isoformat()
    suite.config({"service": "shop", "disk": DISK_FAILING, "waivers": [_waiver(expires=expired)]})
    result = suite.run("-m", "daily", "-k", DISK_CHECKS)
    assert result.ret == 1
    test = _one(suite.summary(), DISK_CHECKS)
    assert test["outcome"] == "failed"
    assert f"waiver for {DISK_CHECKS} expired on {expired}" in test["message"]
    assert suite.summary()["waivers"][0]["in_force"] is False


def test_a_waiver_for_another_host_does_not_cover_this_one(suite):
    suite.config({"service": "shop", "disk": DISK_FAILING, "waivers": [_waiver(hosts=["web-7"])]})
    assert suite.run("-m", "daily", "-k", DISK_CHECKS).ret == 1
    assert suite.summary()["unused_waivers"] == [f"waivers[0]: {DISK_CHECKS} on web-7 matches no check"]


def test_a_waiver_matching_no_check_is_reported(suite):
    suite.config({"service": "shop", "disk": {"paths": ["/"], "max_used_percent": 100},
                  "waivers": [_waiver(check="test_no_such_check")]})
    result = suite.run("-m", "daily", "-k", DISK_CHECKS)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["opsproof: waivers[0]: test_no_such_check matches no check"])
    assert suite.summary()["unused_waivers"] == ["waivers[0]: test_no_such_check matches no check"]


@pytest.mark.parametrize("waiver, key, says", [
    ({"approved_by": None}, "waivers[0].approved_by", "required key is missing"),
    ({"reason": None}, "waivers[0].reason", "required key is missing"),
    ({"expires": (date.today() + timedelta(days=91)).isoformat()}, "waivers[0].expires", "more than 90 days away"),
])
def test_an_incomplete_or_open_ended_waiver_is_a_config_error(suite, waiver, key, says):
    data = {k: v for k, v in _waiver(**waiver).items() if v is not None}
    suite.config({"service": "shop", "disk": DISK_FAILING, "waivers": [data]})
    result = suite.run("-m", "daily", "-k", DISK_CHECKS)
    assert result.ret == 4
    assert f"{key}: " in result.stderr.str() and says in result.stderr.str()


def test_max_waiver_days_allows_a_longer_waiver(tmp_path):
    from opsproof import config as cfg

    far = (date.today() + timedelta(days=180)).isoformat()
    path = tmp_path / "maintenance.yaml"
    path.write_text(f"service: s\nmax_waiver_days: 200\nwaivers:\n- {{check: x, reason: r, approved_by: a, "
                    f"expires: {far}}}\n")
    assert cfg.load(path).waivers[0].expires.isoformat() == far


def test_a_waiver_check_that_is_not_a_k_expression_is_a_config_error(suite):
    suite.config({"service": "shop", "disk": DISK_FAILING, "waivers": [_waiver(check="test_disk and")]})
    result = suite.run("-m", "daily", "-k", DISK_CHECKS)
    assert result.ret == 4 and "waivers[0].check" in result.stderr.str()


def test_a_failure_ends_with_its_runbook(suite):
    suite.config({"service": "shop", "disk": DISK_FAILING,
                  "runbooks": {"test_disk": "https://wiki.example/runbooks/disk-full",
                               "test_backups": "docs/runbooks/backups.md"}})
    result = suite.run("-m", "daily", "-k", DISK_CHECKS)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*runbook: https://wiki.example/runbooks/disk-full*"])
    test = _one(suite.summary(), DISK_CHECKS)
    assert test["runbook"] == "https://wiki.example/runbooks/disk-full"
    assert test["message"].rstrip().endswith("runbook: https://wiki.example/runbooks/disk-full")
    assert test["message"].startswith("space used on /") and "\n" not in test["message"].strip()  # measured first
    assert "<a href='https://wiki.example/runbooks/disk-full'>" in html.unescape(suite.html())


def test_a_runbook_path_is_made_absolute_under_root(suite):
    suite.config({"service": "shop", "disk": DISK_FAILING, "runbooks": {"test_disk_space": "docs/disk.md"}})
    assert suite.run("-m", "daily", "-k", DISK_CHECKS).ret == 1
    test = _one(suite.summary(), DISK_CHECKS)
    assert test["runbook"] == str(Path(suite.path, "docs/disk.md"))
    assert test["message"].rstrip().endswith(f"runbook: {suite.path}/docs/disk.md")


def test_a_run_whose_only_failure_is_waived_passes_saying_so():
    from opsproof.report import coverage, textfile

    tests = [{"id": f"checks/test_x.py::{name}", "outcome": "passed", "markers": ["postdeploy"]}
             for name in ("test_endpoint_healthy", "test_process_running", "test_no_new_errors")]
    tests[0]["warnings"] = ["api latency: 800 ms is past the warning level health[api].warn_latency_ms = 500 ms"]
    tests.append({"id": "checks/test_slo.py::test_no_fast_burn", "outcome": "waived", "markers": ["postdeploy"],
                  "waiver": "waived: known burn (approved by Dana, until 2026-12-31)"})
    result = coverage.build("postdeploy", tests)
    assert result["verdict"] == "passed"
    assert result["text"].startswith("PASSED with 1 waived failure and 1 warning — ")
    assert "test_no_fast_burn waived: known burn (approved by Dana" in result["text"]
    rows = {r["task"]: r for r in result["coverage"]}
    assert rows["SLO burn rate"]["outcome"] == "waived" and rows["Health endpoints pass"]["outcome"] == "passed"
    lines = textfile.build(tests, ["local"], "postdeploy", []).splitlines()
    burn = 'check="checks/test_slo.py::test_no_fast_burn",host="local",cadence="postdeploy"'
    health = 'check="checks/test_x.py::test_endpoint_healthy",host="local",cadence="postdeploy"'
    assert {f"opsproof_check_success{{{burn}}} 0", f"opsproof_check_waived{{{burn}}} 1",
            f"opsproof_check_warning{{{health}}} 1", f"opsproof_check_waived{{{health}}} 0"} <= set(lines)


# --- one validation for check-config and the run (issue 20, item 12) -------------------------------------

@pytest.mark.parametrize("where, setting, key", [
    ("waivers", [_waiver(check="test_disk_space and (")], "waivers[0].check"),
    ("runbooks", {"test_disk and (": "docs/disk.md"}, "runbooks[test_disk and (]"),
])
def test_check_config_and_the_run_refuse_a_bad_selection_with_the_same_line(suite, where, setting, key):
    import sys

    path = suite.config({"service": "shop", "disk": DISK_FAILING, where: setting})
    done = subprocess.run([sys.executable, "-m", "opsproof.cli", "check-config", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 4 and "Traceback" not in done.stderr, done
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"opsproof: bad maintenance config: {path}: {key}: ") and "not a -k expression" in line
    result = suite.run("-m", "daily", "-k", DISK_CHECKS)
    assert result.ret == 4 and line.removeprefix("opsproof: ") in result.stderr.str(), result.stderr.str()


# ---- the run-time judgement (opsproof/report/judgement.py), pure: a pattern matcher, the redactor and the day in

def _w(**changes) -> Waiver:
    return Waiver(**{**_waiver(), **changes})


def test_a_waiver_covers_a_check_its_pattern_selects_on_its_hosts():
    yes, no = (lambda pattern: True), (lambda pattern: False)
    nodeid = "checks/test_disk.py::test_disk_space[ssh://web1:22]"
    assert covers(_w(), nodeid, yes) and not covers(_w(), nodeid, no)
    assert covers(_w(hosts=["web1"]), nodeid, yes) and not covers(_w(hosts=["web2"]), nodeid, yes)
    assert covers(_w(hosts=["web2", "web1"]), nodeid, yes)


def test_the_first_matching_runbook_a_url_as_written_a_path_resolved():
    books = {"test_backup": "docs/backup.md", "test_disk": "https://wiki/disk", "disk": "docs/other.md"}
    def resolve(path: str) -> str:
        return "/srv/" + path
    assert runbook_for(books, lambda p: p == "test_backup", resolve) == "/srv/docs/backup.md"
    assert runbook_for(books, lambda p: "disk" in p, resolve) == "https://wiki/disk"
    assert runbook_for(books, lambda p: False, resolve) is None


def test_unused_waivers_are_named_with_their_index_and_hosts():
    waivers = [_w(), _w(check="test_nothing", hosts=["web1", "web2"]), _w(check="test_gone")]
    assert unused(waivers, lambda w: w.check == DISK_CHECKS) == [
        "waivers[1]: test_nothing on web1, web2 matches no check", "waivers[2]: test_gone matches no check"]


def test_a_failure_is_waived_by_the_first_waiver_in_force_else_says_the_expired_ones_and_the_runbook():
    today = date.today()
    live, old = _w(reason="grows (OPS-12)"), _w(expires=today - timedelta(days=1), reason="old one")
    red = Redactor(["OPS-12"])
    assert rule(False, [live], "https://wiki/OPS-12", red, today) == Ruling("https://wiki/***")
    waived = rule(True, [old, live], None, red, today)
    assert waived.waived == f"waived: grows (***) (approved by Dana CTO, until {live.expires.isoformat()})"
    assert waived.lines == []
    failed = rule(True, [old], "/srv/run.md", red, today)
    assert failed.waived is None and failed.runbook == "/srv/run.md"
    assert failed.lines == [old.expired_note(), "runbook: /srv/run.md"]
    assert rule(True, [live], None, red, today + timedelta(days=31)).lines == [red.text(live.expired_note())]
    assert rule(True, [], None, red, today) == Ruling()


def test_lines_end_a_failures_text_and_the_listing_says_which_waivers_are_in_force():
    assert with_lines("disk is full\n\n", ["a", "b"]) == "disk is full — a — b"
    assert with_lines("unchanged\n", []) == "unchanged\n"
    today = date.today()
    old = _w(expires=today - timedelta(days=1))
    listed = listing([_w(), old], ["waivers[1]: x matches no check"], today)
    assert [w["in_force"] for w in listed["waivers"]] == [True, False]
    assert listed["waivers"][1]["expires"] == old.expires.isoformat() and listed["waivers"][0]["hosts"] is None
    assert listed["unused_waivers"] == ["waivers[1]: x matches no check"]
