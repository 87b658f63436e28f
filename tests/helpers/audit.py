"""Ledgers for the audit commands' tests (bundle, history): runs with a report and a real JSON summary, chained."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from opsproof.report import ledger
from opsproof.report.run import RunRecord
from opsproof.report.summary import SCHEMA, Results, build_summary, write_summary

START = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)


def record_run(directory: Path, day: int, selection: str = "daily", used: float = 70.0, failed: bool = False,
               **line: Any) -> dict[str, Any]:
    """A run `day` days after START: its report, its summary (disk used `used` %, backup size, an SLO, a
    verification time, new error lines) and its ledger line (extra keys of the line in `line`)."""
    started = START + timedelta(days=day)
    run = RunRecord(run_id=f"run{day:03d}", started=started, service="shop", operator="alice", hosts="local",
                    selection=selection, apply=True, ignore_window=False, config_path="/etc/m.yaml",
                    config_sha256="0" * 64, suite_version="0.1.0", ended=started + timedelta(minutes=1))
    results = Results()
    checks = {
        "checks/test_disk.py::test_disk_space[/-local]": [
            {"what": "space used on /", "measured": used, "op": "<=", "threshold": 85, "key": "disk.max_used_percent",
             "unit": "%", "passed": used <= 85}],
        "checks/test_backups.py::test_newest_backup_is_not_trivial[local]": [
            {"what": "size", "measured": 1000 + day, "op": ">=", "threshold": 10, "key": "backups.min_size_bytes",
             "unit": " B", "passed": True}],
        "checks/test_slo.py::test_objective_met[availability-local]": [
            {"what": "availability", "measured": 99.5, "op": ">=", "threshold": 99, "unit": " %", "passed": True,
             "key": "slo.objectives[availability].target"}],
        "checks/test_errorlog.py::test_no_new_errors[local]": [
            {"what": "new error lines", "measured": day % 3, "op": "<=", "threshold": 5, "key": "logs.max_new_errors",
             "unit": "", "passed": True}],
    }
    for nodeid, comparisons in checks.items():
        info = {"check": "a check", "markers": ["daily"], "comparisons": comparisons, "evidence": []}
        if "backups" in nodeid:
            info["evidence"] = [{"label": "verification of b.tar.gz", "data": {"seconds": 0.5 + day / 10}}]
        for when in ("setup", "call", "teardown"):
            bad = failed and when == "call" and "disk" in nodeid
            results.add(nodeid, when, "failed" if bad else "passed", 0.01, info, "space used" if bad else "")
    html = directory / f"{run.report_stem}.html"
    html.write_text(f"<html>report of {run.run_id}</html>\n")
    tests = results.entries()
    write_summary(html, build_summary(run, tests, int(failed), html.name))
    entry = ledger.entry(run, results.counts(), [t["id"] for t in tests if t["outcome"] == "failed"],
                         [html, html.with_suffix(".json")], directory, int(failed), "failed" if failed else "passed")
    return ledger.append(directory / ledger.NAME, {**entry, **line})


def validator() -> Any:
    """A validator of the JSON summary's schema (opsproof/report/summary.schema.json), the schema itself checked."""
    import jsonschema   # the test extra's

    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)
