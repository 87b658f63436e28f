"""Cadence state with the config's periods and grace; the daily check that fails when a longer cadence is overdue."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from opsproof.cli import main
from opsproof.config.cadences import Cadences
from opsproof.report import cadence, ledger
from opsproof.report.run import RunRecord

from helpers import config_error

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def _run(started: datetime, selection: str, hosts: str = "local") -> RunRecord:
    return RunRecord(run_id=f"run{int(started.timestamp())}", started=started, service="shop", operator="ops",
                     hosts=hosts, selection=selection, apply=False, ignore_window=False, config_path="m.yaml",
                     config_sha256="0" * 64, suite_version="test", ended=started + timedelta(minutes=5))


def record(directory: Path, started: datetime, selection: str, passed: bool = True, hosts: str = "local") -> dict:
    """A run's ledger line, built and appended by the ledger's own functions (only the times are made up)."""
    outcome = {"passed": 3} if passed else {"passed": 2, "failed": 1}
    line = ledger.entry(_run(started, selection, hosts), outcome, [] if passed else ["checks/test_x.py::test_y"],
                        [], directory, 0 if passed else 1)
    return ledger.append(directory / ledger.NAME, line)


def _monthly(tmp_path: Path, grace: timedelta, age: timedelta, hosts=("local",)) -> cadence.CadenceState:
    record(tmp_path, NOW - age - timedelta(minutes=5), "monthly")
    found, _ = cadence.for_hosts(ledger.read_entries(tmp_path), hosts, Cadences(grace=grace), only=("monthly",))
    return found[0]


# ---- the arithmetic

@pytest.mark.parametrize("grace, age, overdue", [
    (DAY, timedelta(days=45), True),
    (timedelta(days=13), timedelta(days=45), True),
    (timedelta(days=14), timedelta(days=45), False),          # exactly on the line (31 + 14 days): not yet overdue
    (DAY, timedelta(days=32, seconds=-1), False),              # the line: 31 d + grace 1 d
    (DAY, timedelta(days=32, seconds=1), True),
    (timedelta(0), timedelta(days=31, seconds=1), True),
])
def test_overdue_after_period_plus_grace(tmp_path, grace, age, overdue):
    state = _monthly(tmp_path, grace, age)
    assert state.overdue(NOW) is overdue
    assert state.due == state.last_pass + timedelta(days=31) + grace


def test_the_sentences_name_age_date_run_and_allowance(tmp_path):
    state = _monthly(tmp_path, DAY, timedelta(days=45))
    run = ledger.read_entries(tmp_path)[0]["run_id"]
    assert state.said(NOW) == f"monthly last fully passed 45 days ago (2026-10-22, run {run}) on local"
    assert state.allows() == "monthly allows 31 d + grace 1 d"
    assert state.age_days(NOW) == 45.0


def test_never_passed_counts_from_the_hosts_first_line(tmp_path):
    record(tmp_path, NOW - timedelta(days=10), "daily", hosts="ssh://web1")
    record(tmp_path, NOW - timedelta(days=3), "weekly", hosts="ssh://web1,ssh://web2")
    record(tmp_path, NOW - timedelta(days=2), "weekly", passed=False, hosts="ssh://web2")
    hosts = ["ssh://web1", "ssh://web2", "ssh://web3"]
    found, notes = cadence.for_hosts(ledger.read_entries(tmp_path), hosts, Cadences(grace=timedelta(0)))
    state = {(s.cadence, s.host): s for s in found}
    assert notes == ["no run on ssh://web3 in the ledger yet: this is its first"]
    assert state["weekly", "ssh://web1"].last_pass == state["weekly", "ssh://web2"].last_pass  # the failed run: no pass
    assert state["weekly", "ssh://web2"].last_run > state["weekly", "ssh://web2"].last_pass
    assert state["monthly", "ssh://web1"].last_pass is None and not state["monthly", "ssh://web1"].overdue(NOW)
    assert state["daily", "ssh://web2"].due == NOW - timedelta(days=3) + DAY   # web2's own first line, not web1's
    assert "never fully passed on ssh://web2 in the 3 days since its first run" in state["daily", "ssh://web2"].said(NOW)
    late = sorted((s.cadence, s.host) for s in found if s.overdue(NOW))
    assert late == [("daily", "ssh://web1"), ("daily", "ssh://web2")]


# ---- the ledger as a run finds it (report/cadence.py's LedgerView: what engine/cadence.py stashes)

def test_a_runs_hosts_text_is_split_as_the_ledger_writes_it():
    assert cadence.split_hosts("ssh://web1:22, ssh://web2:22,") == ["ssh://web1:22", "ssh://web2:22"]
    assert cadence.split_hosts("") == [] and cadence.hosts_of({"hosts": ""}) == ["local"]


def test_no_ledger_yet_is_a_view_without_lines_and_each_longer_cadence_notes_why(tmp_path):
    view = cadence.LedgerView.read(tmp_path / ledger.NAME, NOW, ["local"], Cadences())
    assert not view.exists and view.entries == [] and view.overdue_rows() == []
    due = view.due("daily", "monthly")
    assert due.states == [] and due.records() == [("cadence", {"ledger": str(tmp_path / ledger.NAME), "note": (
        f"no ledger yet: first run (nothing at {tmp_path / ledger.NAME}); nothing can be overdue before a period "
        "passed")})]
    assert cadence.LONGER == ("weekly", "monthly", "quarterly")


def test_the_view_gives_the_overdue_rows_and_each_hosts_state_as_evidence(tmp_path):
    record(tmp_path, NOW - timedelta(days=45), "monthly", hosts="ssh://web1")
    view = cadence.LedgerView.read(tmp_path / ledger.NAME, NOW, ["ssh://web1", "ssh://web2"], Cadences())
    assert view.exists and len(view.entries) == 1
    [row] = [r for r in view.overdue_rows() if r["cadence"] == "monthly"]
    assert row["host"] == "ssh://web1" and row["overdue"] is True and row["text"].startswith("monthly last fully")
    records = view.due("daily", "monthly").records()
    assert records[0] == ("cadence", {"ledger": str(tmp_path / ledger.NAME),
                                      "note": "no run on ssh://web2 in the ledger yet: this is its first"})
    assert records[1][0] == "monthly on ssh://web1" and records[1][1]["overdue"] is True
    assert view.due("monthly", "monthly").records()[0][1]["note"].startswith("this run (monthly) runs the monthly")


# ---- the config

def test_the_section_defaults_and_overrides(tmp_path):
    assert Cadences().allowed("quarterly") == timedelta(days=93)
    assert Cadences.model_validate({"grace": "12h", "monthly": "35d"}).allowed("monthly") == timedelta(days=35.5)
    assert "grace" in str(config_error(tmp_path, "cadences: {grace: -1d}"))
    error = config_error(tmp_path, "cadences: {monthly: 0d}")
    assert error.key == "cadences.monthly" and "positive" in error.problem
    assert config_error(tmp_path, "cadences: {yearly: 365d}").key == "cadences.yearly"


def test_status_uses_the_configs_grace(tmp_path, capsys):
    reports = tmp_path / "reports"
    record(reports, datetime.now(timezone.utc) - timedelta(days=40), "")
    config = tmp_path / "m.yaml"
    config.write_text("service: shop\ncadences: {grace: 60d}\n")
    assert main(["status", str(reports), f"--maint-config={config}"]) == 0
    assert "grace 60 d (from" in capsys.readouterr().out
    config.write_text("service: shop\n")
    assert main(["status", str(reports), f"--maint-config={config}"]) == 1  # the default grace (1 d)
    assert "monthly    local" in capsys.readouterr().out
    config.write_text("service: shop\ncadences: {grace: soon}\n")
    assert main(["status", str(reports), f"--maint-config={config}"]) == 4


# ---- the daily check, run through the suite

def _ids(suite) -> dict[str, str]:
    return {k.split("[")[-1].rstrip("]"): v for k, v in suite.outcomes().items() if "test_cadence" in k}


def test_daily_run_fails_naming_the_overdue_cadence(suite):
    suite.config({"service": "shop"})
    now = datetime.now(timezone.utc)
    first = record(suite.reports, now - timedelta(days=45, minutes=5), "")   # every cadence fully passed, 45 d ago
    record(suite.reports, now - timedelta(days=2), "weekly")
    result = suite.run("-m", "daily", "-k", "cadence")
    assert result.ret == 1, result.stdout.str()
    assert _ids(suite) == {"weekly": "passed", "monthly": "failed", "quarterly": "passed"}
    out = result.stdout.str()
    assert (f"monthly last fully passed 45 days ago ({(now - timedelta(days=45, minutes=5)).date().isoformat()}, "
            f"run {first['run_id']}) on local; monthly allows 31 d + grace 1 d — run pytest -m monthly") in out
    header = [line for line in out.splitlines() if line.startswith("opsproof: OVERDUE:")]
    assert header and "monthly last fully passed 45 days ago" in header[0] and "weekly" not in header[0]
    summary = suite.summary()
    assert {(row["cadence"], row["host"]) for row in summary["overdue"]} == {("daily", "local"), ("monthly", "local")}
    page = suite.html()
    assert "Overdue cadences" in page and "opsproof-overdue" in page

    suite.config({"service": "shop", "cadences": {"grace": "20d"}})      # grace moves the line
    assert suite.run("-m", "daily", "-k", "cadence").ret == 0
    assert _ids(suite)["monthly"] == "passed"

    result = suite.run("-m", "daily or monthly", "-k", "cadence")            # this run is the monthly one
    assert result.ret == 0, result.stdout.str()


def test_a_fresh_report_directory_passes_saying_first_run(suite):
    suite.config({"service": "shop"})
    result = suite.run("-m", "daily", "-k", "cadence")
    assert result.ret == 0, result.stdout.str()
    assert "opsproof: cadences: no ledger yet at" in result.stdout.str()
    tests = [t for t in suite.summary()["tests"] if "test_cadence" in t["id"]]
    assert len(tests) == 3 and all(t["outcome"] == "passed" for t in tests)
    notes = json.dumps([t["evidence"] for t in tests])
    assert notes.count("no ledger yet: first run") == 3
    assert suite.summary()["overdue"] == []
    assert suite.run("-m", "daily", "-k", "cadence").ret == 0                # the second run: a ledger a moment old
    assert "opsproof: cadences: nothing overdue" in suite.run("-m", "daily", "-k", "cadence").stdout.str()


def test_a_plan_only_incomplete_run_is_not_a_full_pass():
    """A monthly run without --apply whose drill was only planned (verdict incomplete) leaves the cadence due."""
    base = {"exit_status": 0, "failed": [], "outcome": {"passed": 3, "skipped": 2}}
    assert cadence.full_pass({**base, "verdict": "passed", "apply": False})
    assert not cadence.full_pass({**base, "verdict": "incomplete", "apply": False})
    assert cadence.full_pass({**base, "verdict": "incomplete", "apply": True})     # acted; unconfigured parts aside
    assert not cadence.full_pass({**base, "verdict": "failed", "apply": True, "exit_status": 1})
    assert cadence.full_pass(base)                                                 # a line from before verdicts
