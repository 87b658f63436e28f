"""The report core (opsproof/report/): pure builders, the run record, and the `opsproof summary` command."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from opsproof.cli import main
from opsproof.config.section import KeyPathError, Setting
from opsproof.report.evidence import (Comparison, Evidence, first_line, judge, judge_limit, masked_longrepr,
                                      report_info)
from opsproof.report.html import comparison_row, evidence_cell, evidence_html, evidence_table
from opsproof.report.redact import Redactor
from opsproof.report.run import RunRecord
from opsproof.report.summary import NotASummary, Results, build_summary, read_summary, summary_text, to_json

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 12, 6, 2, 0, 0, tzinfo=timezone.utc)
SUMMARY_KEYS = ["format", "run_id", "service", "hosts", "selection", "config", "suite_version", "operator", "apply",
                "approval", "started",
                "ended", "exit_status", "outcome", "warnings", "waived", "report", "tests"]


def _run(**changes) -> RunRecord:
    values = dict(run_id="abc123", started=START, service="shop", operator="alice", hosts="ssh://web1",
                  selection="daily or weekly", apply=True, ignore_window=False, config_path="/etc/m.yaml",
                  config_sha256="0" * 64, suite_version="0.1.0 (git 123456789abc)")
    values.update(changes)
    return RunRecord(**values)


def _failed_disk() -> dict:
    return {"what": "space used on /", "measured": 91.5, "op": "<=", "threshold": 85, "key": "disk.max_used_percent",
            "unit": "%", "passed": False}


# ---- evidence records and comparisons

def test_judge_names_the_settings_key_and_converts_durations():
    ok = judge("space used on /", 40.0, "<=", Setting(85, "disk.max_used_percent"), "%")
    assert (ok.threshold, ok.key, ok.passed) == (85, "disk.max_used_percent", True)
    max_age = Setting(timedelta(hours=26), "backups.max_age", origin="policy.yaml")
    old = judge("age of the newest backup", 30.0, "<=", max_age, " h")
    assert (old.threshold, old.key, old.passed) == (26.0, "backups.max_age (policy.yaml)", False)
    with pytest.raises(KeyPathError, match="duration"):
        judge("age", 1, "<=", max_age, "%")


def test_judge_carries_the_warning_level_but_not_on_an_equality():
    used = Setting(85, "disk.max_used_percent", warn=80, warn_key="disk.warn_used_percent")
    warned = judge("space used on /", 82, "<=", used, "%")
    assert (warned.passed, warned.warned, warned.warn, warned.warn_key) == (True, True, 80, "disk.warn_used_percent")
    assert judge("space used on /", 79, "<=", used, "%").warned is False
    assert judge("space used on /", 90, "<=", used, "%").warned is False          # failed, not warned
    assert judge("count", 85, "==", used).warn is None


def test_an_unmeasured_value_never_passes_and_the_message_names_the_key():
    assert judge_limit("latency", None, ">=", 0, "x").passed is False
    assert judge_limit("count", 3, "==", 3, "x").passed is True
    comp = judge_limit("days until the certificate expires", 12, ">=", 30, "security.tls[0].min_days", " days")
    assert comp.message("renew it") == ("days until the certificate expires is 12 days; security.tls[0].min_days "
                                        "allows >= 30 days — renew it")
    with pytest.raises(ValueError, match="unknown comparison"):
        judge_limit("x", 1, "=<", 2, "x")


def test_evidence_keeps_records_and_comparisons_in_order():
    ev = Evidence()
    record = {"path": "/"}
    assert ev.record(record, "usage") is record
    ev.judge("space used on /", 90, "<=", Setting(85, "disk.max_used_percent"), unit="%")
    ev.judge_limit("errors", 0, "==", 0, "the guide")
    assert ev.records == [("usage", record)]
    assert [c.passed for c in ev.comparisons] == [False, True]


def test_what_a_checks_report_carries_is_plain_and_masked():
    assert first_line("\n    Disk space under the limit.\n\n    More.\n") == "Disk space under the limit."
    assert first_line(None) == "" and first_line("   ") == ""
    ev = Evidence()
    ev.record({"dsn": "postgresql://app:hunter22@db/app"}, "dump")
    ev.judge_limit("rows of hunter22", 3, ">=", 1, "the guide")
    info = report_info("Backups restore.", ev, ["weekly", "daily", "weekly"], Redactor(["hunter22"]))
    assert info["check"] == "Backups restore." and info["markers"] == ["daily", "weekly"]
    assert info["evidence"] == [{"label": "dump", "data": {"dsn": "postgresql://app:***@db/app"}}]
    assert info["comparisons"][0]["what"] == "rows of ***" and info["comparisons"][0]["passed"] is True
    assert report_info("", None, [], Redactor()) == {"check": "", "evidence": [], "comparisons": [], "markers": []}


def test_a_failure_text_or_skip_reason_is_masked_and_escaped_and_left_alone_when_clean():
    red = Redactor(["hunter22"])
    clean = ("checks/a.py", 3, "Skipped: no backups section")
    assert masked_longrepr(clean, red) is clean
    assert masked_longrepr(("checks/a.py", 3, "Skipped: hunter22\x1b[2J"), red) == ("checks/a.py", 3,
                                                                                     "Skipped: ***\\x1b[2J")
    class Longrepr:       # pytest's failure representation: read as its text
        def __str__(self) -> str:
            return "AssertionError: password hunter22"
    assert masked_longrepr(Longrepr(), red) == "AssertionError: password ***"


# ---- HTML fragments

def test_comparison_row_shows_measured_threshold_and_key():
    row = comparison_row(Comparison.of(_failed_disk()), "df -P -k /")
    assert row == ("<tr><td>space used on /</td><td>91.5%</td><td>&lt;= 85%</td>"
                   "<td><code>disk.max_used_percent</code></td><td><code>df -P -k /</code></td><td>FAIL</td></tr>")
    assert "<td>pass</td>" in comparison_row(Comparison.of({**_failed_disk(), "passed": True}))
    # The results table's one-line column says the same from the same comparison.
    assert evidence_cell([_failed_disk()]) == "<td class='col-evidence'>space used on /: 91.5% (&lt;= 85%)</td>"


def test_evidence_table_escapes_html():
    hostile = {**_failed_disk(), "what": "<script>alert(1)</script>", "key": "a&b", "measured": "<b>"}
    table = evidence_table([hostile])
    assert "<script>" not in table and "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "<code>a&amp;b</code>" in table and "&lt;b&gt;%" in table
    page = evidence_html([{"label": "<i>probe</i>", "data": {"<k>": ["<v1>", "v2"], "n": 3}}], [])
    assert "<i>" not in page and "<k>" not in page and "<v1>" not in page
    assert "evidence: &lt;i&gt;probe&lt;/i&gt;" in page and "&lt;v1&gt;\nv2" in page
    assert evidence_table([]) == ""


def test_a_record_that_is_not_a_mapping_is_one_value_row():
    page = evidence_html([{"label": "count", "data": 7}, {"label": "none", "data": []}], [])
    assert "<tr><td>value</td><td><code>7</code></td></tr>" in page and "<code>[]</code>" in page


# ---- the run record

def test_run_record_from_plain_values():
    run = _run(started=datetime(2026, 12, 6, 3, 0, tzinfo=timezone(timedelta(hours=1))))
    assert run.started == START and run.started.tzinfo == timezone.utc
    assert run.report_stem == "daily-or-weekly_20261206T020000Z"
    assert _run(selection="").report_stem == "all_20261206T020000Z"
    assert run.selects("daily") and run.selects("weekly") and not run.selects("week")
    meta = run.metadata()
    assert meta["Marker expression"] == "daily or weekly" and meta["Actions"] == "apply"
    assert meta["Started (UTC)"] == "2026-12-06T02:00:00Z" and "Ended (UTC)" not in meta
    assert _run(selection="", apply=False).metadata()["Marker expression"] == "(all checks)"
    ended = run.finished(START + timedelta(minutes=5))
    assert ended.metadata()["Ended (UTC)"] == "2026-12-06T02:05:00Z" and run.ended is None
    with pytest.raises(ValueError, match="time zone"):
        _run(started=datetime(2026, 12, 6, 2, 0))


def test_run_record_crosses_to_a_worker_as_plain_values():
    run = _run().finished(START + timedelta(seconds=30))
    handed = json.loads(json.dumps(run.to_dict()))  # what execnet (and JSON) can carry
    back = RunRecord.from_dict(handed)
    assert back == run and back.worker is None
    assert back.on_worker("gw1").worker == "gw1" and back.on_worker("gw1").run_id == "abc123"


# ---- the JSON summary

def _results() -> Results:
    results = Results()
    info = {"check": "Disk has room.", "markers": ["daily"], "evidence": [{"label": "DiskUsage", "data": {"p": "/"}}],
            "comparisons": [_failed_disk()]}
    results.add("checks/test_disk.py::test_room", "setup", "passed", 0.01, info)
    results.add("checks/test_disk.py::test_room", "call", "failed", 0.1, info, "x" * 3000 + "the end")
    results.add("checks/test_disk.py::test_room", "teardown", "passed", 0.01, info)
    results.add("checks/test_slo.py::test_slo", "setup", "skipped", 0.0, None, "Skipped: no slo section in m.yaml")
    results.add("checks/test_probe.py::test_probe", "setup", "failed", 0.2, None, "RuntimeError: died")
    return results


def test_summary_builder_from_records():
    results = _results()
    assert results.counts() == {"failed": 1, "skipped": 1, "error": 1}
    assert results.counts(leave_out="checks/test_slo.py::test_slo") == {"failed": 1, "error": 1}
    run = _run().finished(START + timedelta(minutes=2))
    summary = build_summary(run, results.entries(), 1, "daily_20261206T020000Z.html")
    assert list(summary) == SUMMARY_KEYS
    assert summary["config"] == {"path": "/etc/m.yaml", "sha256": "0" * 64}
    assert (summary["started"], summary["ended"], summary["exit_status"]) == (
        "2026-12-06T02:00:00Z", "2026-12-06T02:02:00Z", 1)
    disk, slo, probe = summary["tests"]
    assert disk["outcome"] == "failed" and disk["duration_s"] == 0.12 and disk["comparisons"] == [_failed_disk()]
    assert len(disk["message"]) == 2000 and disk["message"].endswith("the end")
    assert slo == {"id": "checks/test_slo.py::test_slo", "outcome": "skipped", "host": "ssh://web1", "cadences": [],
                   "message": "no slo section in m.yaml", "comparisons": [], "runbook": None, "duration_s": 0.0}
    assert probe["outcome"] == "error"


def test_summary_reads_back_and_prints_for_a_person():
    summary = build_summary(_run().finished(START), _results().entries(), 1, "r.html")
    text = summary_text(read_summary(to_json(summary)))
    lines = text.splitlines()
    assert "Service: shop" in lines and "Operator: alice" in lines and "Hosts: ssh://web1" in lines
    assert "Outcome: 1 failed, 1 error, 1 skipped (exit status 1)" in lines
    assert "  space used on /: 91.5% (<= 85%) — disk.max_used_percent" in lines
    assert "ERROR checks/test_probe.py::test_probe" in lines and "  RuntimeError: died" in lines
    assert lines[-1] == "Report: r.html"


@pytest.mark.parametrize("text, why", [
    ("not json", "not JSON"),
    ("[1, 2]", "a JSON list"),
    ('{"format": 1}', "no service"),
])
def test_what_is_not_a_summary_is_refused(text, why):
    with pytest.raises(NotASummary, match=why):
        read_summary(text)


def test_a_summary_of_another_format_is_refused():
    summary = build_summary(_run().finished(START), [], 0, "r.html")
    with pytest.raises(NotASummary, match="format 3, this opsproof reads formats 1, 2"):
        read_summary(json.dumps({**summary, "format": 3}))
    with pytest.raises(NotASummary, match="run fields"):
        read_summary(json.dumps({**summary, "started": "yesterday"}))


# ---- the command

def test_opsproof_summary_command(tmp_path, capsys):
    path = tmp_path / "daily.json"
    path.write_text(to_json(build_summary(_run().finished(START), _results().entries(), 1, "daily.html")))
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Marker expression: daily or weekly" in out and "Outcome: 1 failed" in out


@pytest.mark.parametrize("content", [None, "{}", "not json at all", b"\xff\xfe"])
def test_opsproof_summary_exits_4_with_one_line_for_what_is_not_a_summary(tmp_path, capsys, content):
    path = tmp_path / "x.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert main(["summary", str(path)]) == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0], err


def test_the_command_runs_where_pytest_cannot_be_imported(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(to_json(build_summary(_run().finished(START), [], 0, "r.html")))
    code = ("import sys; sys.modules['pytest'] = None; sys.modules['_pytest'] = None\n"
            "from opsproof.cli import main; sys.exit(main(['summary', sys.argv[1]]))")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Outcome: no checks (exit status 0)" in done.stdout


# ---- the layering

def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value))
    return names


def test_nothing_under_opsproof_imports_pytest():
    modules = sorted((ROOT / "opsproof").rglob("*.py"))
    assert len(modules) > 20
    offenders = []
    for path in modules:
        for name in _imported(ast.parse(path.read_text(), str(path))):
            top = name.split(".")[0]
            if top in ("pytest", "_pytest") or top.startswith("pytest_"):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_the_import_walk_sees_every_form():
    tree = ast.parse("import pytest\nfrom _pytest.nodes import Item\nimport importlib\n"
                     "def f():\n    from pytest_html import extras\n    importlib.import_module('pytest')\n")
    assert {"pytest", "_pytest.nodes", "pytest_html", "importlib"} <= _imported(tree)


def test_the_evidence_table_names_the_command_that_measured():
    page = evidence_html([{"label": "DiskUsage", "data": {"command": "df -P -k /", "used_percent": 91}},
                          {"label": "other", "data": {"rows": 3}}], [_failed_disk()])
    assert "<th>command</th>" in page and "<td><code>df -P -k /</code></td>" in page
