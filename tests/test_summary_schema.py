"""The JSON summary's schema (opsproof/report/summary.schema.json): what a run writes validates, format 2 carries the
run id and per check host, cadences, message, comparisons and runbook; `opsproof summary` still reads format 1."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from opsproof.cli import main
from opsproof.report import ledger
from opsproof.report.run import RunRecord
from opsproof.report.summary import FORMAT, Results, build_summary, read_summary, to_json

from helpers.audit import validator

START = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)


def _run() -> RunRecord:
    return RunRecord(run_id="abc123def456", started=START, service="shop", operator="alice",
                     hosts="ssh://web1, ssh://web2", selection="daily", apply=False, ignore_window=False,
                     config_path="/etc/m.yaml", config_sha256="0" * 64, suite_version="0.1.0",
                     ended=START + timedelta(minutes=1))


def _summary() -> dict:
    results = Results()
    disk = {"what": "space used on /", "measured": 91.5, "op": "<=", "threshold": 85, "key": "disk.max_used_percent",
            "unit": "%", "passed": False}
    info = {"check": "Disk has room.", "markers": ["daily", "postmaintenance"], "evidence": [], "comparisons": [disk],
            "runbook": "https://wiki.example/disk"}
    for when, outcome in (("setup", "passed"), ("call", "failed"), ("teardown", "passed")):
        results.add("checks/test_disk.py::test_disk_space[/-web2]", when, outcome, 0.1, info, "space used on / 91.5%")
    results.add("checks/test_slo.py::test_slo[web1]", "setup", "skipped", 0.0, None, "Skipped: no slo section")
    return build_summary(_run(), results.entries(), 1, "daily_20261206T020000Z.html")


def test_a_summary_carries_the_run_id_and_each_checks_host_cadences_message_comparisons_and_runbook():
    summary = _summary()
    assert summary["format"] == FORMAT == 2 and summary["run_id"] == "abc123def456"
    disk, slo = summary["tests"]
    assert (disk["host"], disk["cadences"], disk["runbook"]) == ("ssh://web2", ["daily"], "https://wiki.example/disk")
    assert disk["message"] == "space used on / 91.5%" and disk["comparisons"][0]["key"] == "disk.max_used_percent"
    assert (slo["host"], slo["cadences"], slo["comparisons"], slo["runbook"]) == ("ssh://web1", [], [], None)
    validator().validate(json.loads(to_json(summary)))
    assert RunRecord.from_summary(read_summary(to_json(summary))).run_id == "abc123def456"


@pytest.mark.parametrize("change", [
    lambda s: s.pop("run_id"),
    lambda s: s.update(format=1),
    lambda s: s["tests"][0].pop("host"),
    lambda s: s["tests"][0].update(outcome="green"),
    lambda s: s["tests"][0]["comparisons"][0].pop("key"),
    lambda s: s.update(report="../elsewhere/r.html"),
])
def test_the_schema_refuses_a_summary_missing_what_format_2_promises(change):
    summary = json.loads(to_json(_summary()))
    change(summary)
    assert list(validator().iter_errors(summary))


def test_opsproof_summary_still_reads_a_format_1_summary(tmp_path, capsys):
    old = json.loads(to_json(_summary()))
    old["format"] = 1
    old.pop("run_id")
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert main(["summary", str(tmp_path / "old.json")]) == 0
    out = capsys.readouterr().out
    assert "Service: shop" in out and "Run id" not in out
    assert RunRecord.from_summary(old).run_id == ""


def test_every_summary_a_real_run_writes_validates_and_names_its_ledger_line(suite, example_app):
    suite.config(example_app.config())
    assert suite.run("-m", "daily").ret == 0
    check = validator()
    (line,) = ledger.read_entries(suite.reports)
    for path in sorted(suite.reports.glob("*.json")):
        summary = json.loads(path.read_text())
        check.validate(summary)
        assert summary["run_id"] == line["run_id"] and summary["report"] == path.with_suffix(".html").name
        assert all(t["host"] == "local" and "daily" in t["cadences"] for t in summary["tests"])
