"""Errors stay until acknowledged: a failing error-log check keeps failing, in every selection, until `opsproof ack`."""
from __future__ import annotations

import json
import os
import subprocess

from opsproof.cli import main
from opsproof.report import ledger

CHECK = "checks/test_errorlog.py"


def _setup(suite, tmp_path, **logs):
    (tmp_path / "logs").mkdir(exist_ok=True)
    log = tmp_path / "logs" / "error.log"
    log.write_text("INFO up\nERROR payment gateway refused\n")
    suite.config({"service": "ack-test", "root": str(tmp_path), "logs": {"error_log": "logs/error.log", **logs}})
    return log


def _outcome(suite) -> dict:
    (test,) = [t for t in suite.summary()["tests"] if "test_no_new_errors" in t["id"]]
    return test


def test_errors_stay_counted_in_every_selection_until_acknowledged(suite, tmp_path, capsys):
    log = _setup(suite, tmp_path)
    assert suite.run("-m", "daily", CHECK).ret == 1
    again = suite.run("-m", "daily", CHECK)
    assert again.ret == 1, "a daily run that failed did not keep its reference point: the error was forgotten"
    assert "opsproof ack errorlog" in _outcome(suite)["message"]
    assert suite.run("-m", "postdeploy", CHECK).ret == 1, "the daily run hid the error from the post-deploy gate"

    config = suite.path / "maintenance.yaml"
    assert main(["ack", "errorlog", "--reason", "gateway outage INC-42, fixed", "--by", "alice",
                 f"--maint-config={config}", f"--report-dir={suite.path / 'reports'}"]) == 0
    assert "acknowledged up to byte" in capsys.readouterr().out
    line = ledger.read_entries(suite.path / "reports")[-1]
    assert line["kind"] == "ack" and line["operator"] == "alice"
    assert line["ack"]["reason"] == "gateway outage INC-42, fixed" and line["ack"]["offset"] == log.stat().st_size
    assert main(["verify-ledger", str(suite.path / "reports")]) == 0          # the chain holds with the ack in it

    assert suite.run("-m", "daily", CHECK).ret == 0
    assert "acknowledged" in _outcome(suite)["evidence"][0]["data"]["reference"]
    assert suite.run("-m", "postdeploy", CHECK).ret == 0                       # a selection after the ack, too

    with open(log, "a") as fh:
        fh.write("FATAL disk full\n")
    assert suite.run("-m", "daily", CHECK).ret == 1
    message = _outcome(suite)["message"]
    assert "FATAL disk full" in message and "payment gateway" not in message and "is 1;" in message
    from opsproof.report import cadence
    entries = ledger.read_entries(suite.path / "reports")
    runs = [e for e in entries if cadence.is_run(e)]
    assert len(runs) == len(entries) - 1                                      # the ack line is not a run
    assert main(["status", str(suite.path / "reports")]) == 0                 # nothing overdue on day one
    state = json.loads(next((suite.path / ".opsproof").glob("*/errorlog.json")).read_text())
    assert state[f"errorlog-ack:{log}"]["by"] == "alice"


def test_since_last_run_keeps_the_old_behaviour(suite, tmp_path):
    _setup(suite, tmp_path, since="last_run")
    assert suite.run("-m", "daily", CHECK).ret == 1
    assert suite.run("-m", "daily", CHECK).ret == 0


def test_ack_refuses_what_it_cannot_do(suite, tmp_path, capsys):
    _setup(suite, tmp_path)
    config = suite.path / "maintenance.yaml"
    assert main(["ack", "errorlog", "--reason", "  ", f"--maint-config={config}"]) == 4
    (tmp_path / "logs" / "error.log").unlink()
    assert main(["ack", "errorlog", "--reason", "x", f"--maint-config={config}"]) == 1
    assert "does not exist" in capsys.readouterr().err
    config.write_text("service: nologs\n")
    assert main(["ack", "errorlog", "--reason", "x", f"--maint-config={config}"]) == 4
    assert "no logs section" in capsys.readouterr().err


def test_a_run_that_could_not_write_its_report_consumes_nothing(suite, tmp_path):
    """If writing the run's evidence fails at the end (here: a plugin that fails the way a full disk would), the
    error-log reference point does not move: the next run sees the same lines."""
    _setup(suite, tmp_path, since="last_run")
    (suite.path / "diskfull.py").write_text(
        "def pytest_sessionfinish(session):\n    raise OSError(28, 'No space left on device')\n")
    broken = suite.run("-m", "daily", CHECK, "-p", "diskfull")
    assert "No space left on device" in broken.stdout.str() + "\n".join(broken.errlines), broken.stdout.str()
    assert "checks/test_errorlog.py F" in broken.stdout.str()        # the check did run (and saw the error)
    assert not list(suite.path.glob(".opsproof/*/errorlog.json")), "the reference point moved without a report"
    (suite.path / "diskfull.py").unlink()
    assert suite.run("-m", "daily", CHECK).ret == 1        # the error is still there to be seen


def _state_files(suite) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in suite.path.glob(".opsproof/*/errorlog.json")}


def test_an_ack_that_cannot_write_its_ledger_line_changes_nothing(suite, tmp_path, capsys):
    """`--report-dir=<a file>` was a traceback, exit 1, after the offsets had moved: the next daily passed with no
    ack line anywhere. Now: exit 4, one line, the offsets as they were, the next daily still failing."""
    _setup(suite, tmp_path)
    config = suite.path / "maintenance.yaml"
    assert suite.run("-m", "daily", CHECK).ret == 1
    before = _state_files(suite)
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("x")
    assert main(["ack", "errorlog", "--reason", "r", f"--maint-config={config}", f"--report-dir={not_a_dir}"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not acknowledged, nothing changed" in err and "is a file, not a directory" in err
    assert _state_files(suite) == before
    assert suite.run("-m", "daily", CHECK).ret == 1, "the offsets moved without a ledger line"


def test_a_ledger_that_fails_mid_append_leaves_the_offsets_where_they_were(suite, tmp_path, capsys, monkeypatch):
    """Everything checked, then the append itself fails (a full disk): the staged state is dropped, exit 1."""
    _setup(suite, tmp_path)
    config = suite.path / "maintenance.yaml"
    assert suite.run("-m", "daily", CHECK).ret == 1
    before = _state_files(suite)

    def full(*_a, **_k):
        raise OSError(28, "No space left on device", str(suite.path / "reports" / ledger.NAME))
    monkeypatch.setattr(ledger, "append", full)
    assert main(["ack", "errorlog", "--reason", "r", f"--maint-config={config}"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert _state_files(suite) == before
    assert not list(suite.path.glob(".opsproof/*/.errorlog.*")), "a staged state file was left behind"
    monkeypatch.undo()
    assert suite.run("-m", "daily", CHECK).ret == 1


def test_an_unwritable_ledger_is_refused_before_anything(suite, tmp_path, capsys):
    _setup(suite, tmp_path)
    config = suite.path / "maintenance.yaml"
    reports = suite.path / "reports"
    reports.mkdir(exist_ok=True)
    os.mkfifo(reports / ledger.NAME)
    assert main(["ack", "errorlog", "--reason", "r", f"--maint-config={config}"]) == 4
    assert "is not a regular file" in capsys.readouterr().err
    assert not _state_files(suite)


def test_an_ack_follows_the_log_through_a_compressed_rotation(suite, tmp_path):
    """The ack records fingerprints, not only the inode: errors written after it and then rotated away are counted."""
    log = _setup(suite, tmp_path)
    config = suite.path / "maintenance.yaml"
    assert main(["ack", "errorlog", "--reason", "read", f"--maint-config={config}"]) == 0
    with open(log, "a") as fh:
        fh.write("ERROR after the ack\n")
    os.rename(log, f"{log}.1")
    subprocess.run(["gzip", f"{log}.1"], check=True, timeout=60)
    log.write_text("INFO new file\n")
    assert suite.run("-m", "daily", CHECK).ret == 1
    assert "ERROR after the ack" in _outcome(suite)["message"]


def test_a_selection_scan_moves_its_reference_on_only_when_the_check_passed(tmp_path):
    """scan_selection reads from the selection's own point (or a later acknowledgement); saved_after moves it on only
    after a pass (or with logs.since: last_run), and never after a scan that could not read the log."""
    import testinfra

    from opsproof.config import Maint
    from opsproof.hosts.target import Target
    from opsproof.logs.ack import ack_key, scan_selection, selection_key

    log = tmp_path / "error.log"
    log.write_text("INFO up\nERROR payment gateway refused\n")
    logs = Maint.model_validate({"service": "s", "logs": {"error_log": str(log)}}).logs
    local = Target(testinfra.get_host("local://"), 10)
    first = scan_selection(local, logs, "daily", {})
    assert first.scan.error is None and first.scan.matches == 1 and first.key == selection_key(str(log), "daily")
    assert first.saved_after(False, 5.0) is None
    moved = first.saved_after(True, 5.0)
    assert moved == {first.key: {**first.reference, "at": 5.0}}
    again = scan_selection(local, logs, "daily", moved)
    assert again.scan.matches == 0 and "acknowledged" not in again.scan.reference
    acked = scan_selection(local, logs, "postdeploy", {ack_key(str(log)): {**first.reference, "at": 9.0, "by": "x"}})
    assert acked.scan.matches == 0 and acked.scan.reference.endswith(" (acknowledged up to there)")
    last_run = Maint.model_validate({"service": "s", "logs": {"error_log": str(log), "since": "last_run"}}).logs
    assert scan_selection(local, last_run, "daily", {}).saved_after(False, 5.0) is not None
    missing = Maint.model_validate({"service": "s", "logs": {"error_log": str(tmp_path / "none.log")}}).logs
    unread = scan_selection(local, missing, "daily", {})
    assert unread.scan.error is not None and unread.saved_after(True, 5.0) is None
