"""A finished run's ledger line (opsproof/report/ledger_line.py): which files it names, what it masks, how an append
that fails is said and what it does to the exit status. Pure or on tmp_path; the run's end is in test_ledger.py."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from opsproof.report import ledger, ledger_line
from opsproof.report.redact import Redactor
from opsproof.report.run import RunRecord

START = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)


def _run(**changes) -> RunRecord:
    values = dict(run_id="r1", started=START, ended=START, service="shop", operator="alice", hosts="web1, web2",
                  selection="daily", apply=False, ignore_window=False, config_path="/etc/m.yaml",
                  config_sha256="ab" * 32, suite_version="0.1.0 (git 123456789abc)")
    return RunRecord(**{**values, **changes})


def test_the_run_files_are_the_report_its_summary_and_the_junit_file_that_exist(tmp_path):
    html = tmp_path / "run.html"
    assert ledger_line.run_files(html) == []
    html.write_text("<html/>")
    (tmp_path / "run.json").write_text("{}")
    assert ledger_line.run_files(html, None) == [html, tmp_path / "run.json"]
    junit = tmp_path / "junit.xml"
    assert ledger_line.run_files(html, str(junit)) == [html, tmp_path / "run.json"]
    junit.write_text("<testsuites/>")
    assert ledger_line.run_files(html, str(junit))[-1] == junit


def test_the_line_is_masked_all_but_its_digests(tmp_path):
    report = tmp_path / "alice.html"
    report.write_text("x")
    tests = [{"id": "checks/a.py::test_a", "outcome": "failed"}, {"id": "checks/b.py::test_b", "outcome": "error"},
             {"id": "checks/c.py::test_c", "outcome": "waived", "waiver": "waived: ok"},
             {"id": "checks/d.py::test_d", "outcome": "passed", "warnings": ["near"]}]
    digest = ledger.sha256_file(report)
    red = Redactor(["alice", digest[:8], "abab"])       # a short secret that also occurs inside hex digests
    line = ledger_line.run_line(_run(), tests, {"failed": 1, "error": 1}, [report], tmp_path, 1, "failed",
                                [{"check": "test_c"}], red)
    assert line["operator"] == "***" and line["files"] == [{"name": "***.html", "sha256": digest}]
    assert line["config"] == {"path": "/etc/m.yaml", "sha256": "ab" * 32}
    assert line["failed"] == ["checks/a.py::test_a", "checks/b.py::test_b"] and line["verdict"] == "failed"
    assert line["waived"] == [{"id": "checks/c.py::test_c", "waiver": "waived: ok"}]
    assert line["warnings"] == [{"id": "checks/d.py::test_d", "warning": "near"}]
    assert line["waivers"] == [{"check": "test_c"}] and line["exit_status"] == 1


def test_an_appended_line_is_chained_and_its_head_kept(tmp_path):
    path = tmp_path / "reports" / ledger.NAME
    line = ledger_line.run_line(_run(), [], {}, [], tmp_path, 0, "passed", None, Redactor())
    assert ledger_line.append_run(path, line, str(tmp_path / "state")) == ledger_line.Appended(True)
    [written] = [json.loads(raw) for raw in path.read_text().splitlines()]
    assert written["run_id"] == "r1" and written["prev"] == ledger.GENESIS and written["waivers"] == []


def test_a_head_not_kept_is_said_but_the_line_is_in(tmp_path):
    (tmp_path / "state").write_text("a file where the state directory should be")
    path = tmp_path / ledger.NAME
    said = ledger_line.append_run(path, {"run_id": "r1"}, str(tmp_path / "state"))
    assert said.written and said.said.startswith("opsproof: the ledger line was written, but its head could not")
    assert path.read_text().count("\n") == 1


def test_a_line_that_cannot_be_appended_says_what_is_not_saved_and_the_run_exits_4(tmp_path):
    path = tmp_path / ledger.NAME
    path.mkdir()
    said = ledger_line.append_run(path, {"run_id": "r1"}, str(tmp_path / "state"), textfile=True)
    assert not said.written and said.said.startswith("opsproof: no ledger line written (")
    assert said.said.endswith("this run's state not saved (error-log offsets, SLO aggregates: the next run starts "
                              "where this one did), no --textfile written; exit 4")
    assert "no --textfile" not in ledger_line.append_run(path, {}, str(tmp_path / "state")).said
    assert [ledger_line.exit_status(s) for s in (0, 1, 2, 3, 4, 5)] == [4, 4, 2, 3, 4, 4]
