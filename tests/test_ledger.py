"""The ledger: one chained line per run; verify-ledger names every altered or missing file and broken link."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from opsproof.cli import main
from opsproof.cli.ledger import sign_command, status_command, verify_command
from opsproof.report import cadence, ledger
from opsproof.report.ledger_sign import sign, verify_signature
from opsproof.report.run import RunRecord

from helpers import require_tool, wait_for
from helpers.logfiles import count_preads

START = datetime(2026, 12, 6, 2, 0, 0, tzinfo=timezone.utc)


def _run(n: int = 0, **changes) -> RunRecord:
    values = dict(run_id=f"run{n:03d}", started=START + timedelta(hours=n), service="shop", operator="alice",
                  hosts="local", selection="daily", apply=False, ignore_window=False, config_path="/etc/m.yaml",
                  config_sha256="0" * 64, suite_version="0.1.0 (git 123456789abc)",
                  ended=START + timedelta(hours=n, minutes=1))
    values.update(changes)
    return RunRecord(**values)


def _record_run(directory: Path, n: int, failed: tuple[str, ...] = (), state_dir: Path | None = None) -> list[Path]:
    """What a run leaves: a report and a summary, and its ledger line naming both (with `state_dir`, the head
    this machine remembers, as a run's fixture appends it)."""
    files = [directory / f"daily_{n}.html", directory / f"daily_{n}.json"]
    for path in files:
        path.write_text(f"report of run {n}\n")
    outcome = {"passed": 3, "failed": len(failed)} if failed else {"passed": 3}
    line = ledger.entry(_run(n), outcome, failed, files, directory, 1 if failed else 0)
    if state_dir is None:
        ledger.append(directory / ledger.NAME, line)
    else:
        ledger.append(directory / ledger.NAME, line, state_dir=state_dir)
    return files


def _lines(directory: Path) -> list[str]:
    return (directory / ledger.NAME).read_text().splitlines()


def _write_lines(directory: Path, lines: list[str]) -> None:
    (directory / ledger.NAME).write_text("".join(line + "\n" for line in lines))


def test_a_line_carries_the_run_and_chains_to_genesis_then_to_the_line_before(tmp_path):
    _record_run(tmp_path, 1, failed=("checks/test_disk.py::test_space[/]",))
    _record_run(tmp_path, 2)
    first, second = (json.loads(line) for line in _lines(tmp_path))
    assert first["prev"] == ledger.GENESIS
    assert second["prev"] == ledger.line_hash(_lines(tmp_path)[0].encode())
    assert first["run_id"] == "run001" and first["started"] == "2026-12-06T03:00:00Z"
    assert first["ended"] == "2026-12-06T03:01:00Z" and first["commit"] == "123456789abc"
    assert first["config"] == {"path": "/etc/m.yaml", "sha256": "0" * 64}
    assert first["failed"] == ["checks/test_disk.py::test_space[/]"] and first["outcome"]["failed"] == 1
    assert [f["name"] for f in first["files"]] == ["daily_1.html", "daily_1.json"]
    import hashlib

    assert first["files"][0]["sha256"] == hashlib.sha256(b"report of run 1\n").hexdigest()
    for key in ("selection", "hosts", "operator", "suite_version", "apply", "exit_status"):
        assert key in first, key


def test_two_runs_then_verify_is_intact(tmp_path, capsys):
    _record_run(tmp_path, 1)
    _record_run(tmp_path, 2)
    result = ledger.verify(tmp_path)
    assert (result.exit_status, result.lines, result.files, result.problems) == (0, 2, 4, [])
    assert verify_command(str(tmp_path)) == 0
    assert "intact — 2 run(s)" in capsys.readouterr().out


def test_an_edited_report_is_named(tmp_path, capsys):
    _record_run(tmp_path, 1)
    html, _ = _record_run(tmp_path, 2)
    html.write_text("report of run 2, all green\n")
    assert verify_command(str(tmp_path / ledger.NAME)) == 1
    err = capsys.readouterr().err
    assert "altered: daily_2.html (run run002" in err
    assert "daily_1" not in err and "broken link" not in err


def test_a_removed_report_is_named(tmp_path):
    _record_run(tmp_path, 1)
    _record_run(tmp_path, 2)
    (tmp_path / "daily_1.json").unlink()
    result = ledger.verify(tmp_path)
    assert result.exit_status == 1
    assert result.problems == ["missing: daily_1.json (run run001, 2026-12-06T03:00:00Z)"]


def test_removing_the_first_line_breaks_the_chain(tmp_path):
    for n in (1, 2, 3):
        _record_run(tmp_path, n)
    _write_lines(tmp_path, _lines(tmp_path)[1:])
    result = ledger.verify(tmp_path)
    assert result.exit_status == 1
    assert len(result.problems) == 3 and "line 1 (run run002" in result.problems[0]
    assert "first line(s) were removed" in result.problems[0]
    assert [p.split(" —")[0] for p in result.problems[1:]] == ["orphan: daily_1.html", "orphan: daily_1.json"]


def test_an_edited_removed_or_reordered_line_breaks_the_chain(tmp_path):
    for n in (1, 2, 3, 4):
        _record_run(tmp_path, n)
    lines = _lines(tmp_path)
    edited = [lines[0], lines[1].replace('"passed":3', '"passed":4'), lines[2], lines[3]]
    _write_lines(tmp_path, edited)
    assert [p.split(":")[0] for p in ledger.verify(tmp_path).problems] == ["line 3 (run run003, 2026-12-06T05"]
    _write_lines(tmp_path, [lines[0], lines[2], lines[3]])
    assert "does not chain to line 1" in " ".join(ledger.verify(tmp_path).problems)
    _write_lines(tmp_path, [lines[0], lines[2], lines[1], lines[3]])
    problems = ledger.verify(tmp_path).problems
    assert len(problems) == 3 and all("reordered" in p for p in problems)
    _write_lines(tmp_path, [lines[0], "{garbage", *lines[1:]])
    problems = ledger.verify(tmp_path).problems
    assert problems[0] == "line 2: not a ledger entry (edited)" and "line 3" in problems[1]


@pytest.mark.parametrize("content", [None, "", "hello\n", '{"format": 1}\n', "[1, 2]\n"])
def test_what_is_not_a_ledger_exits_4(tmp_path, capsys, content):
    path = tmp_path / "ledger.jsonl"
    if content is not None:
        path.write_text(content)
    assert verify_command(str(path)) == 4
    assert "not an opsproof ledger" in capsys.readouterr().err


# ---- the ledger's tail: what a chain cannot show (its last lines removed)

def _drop_last(directory: Path, count: int, with_files: bool) -> None:
    """Remove the ledger's last `count` lines, as someone hiding those runs would (and their reports, too)."""
    lines = _lines(directory)
    for gone in lines[len(lines) - count:]:
        for item in json.loads(gone)["files"] if with_files else []:
            (directory / item["name"]).unlink()
    _write_lines(directory, lines[:len(lines) - count])


def test_a_report_no_line_names_is_an_orphan(tmp_path, capsys):
    for n in (1, 2, 3):
        _record_run(tmp_path, n)
    (tmp_path / "notes.txt").write_text("not a report\n")
    _drop_last(tmp_path, 1, with_files=False)
    assert verify_command(str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "orphan: daily_3.html" in err and "orphan: daily_3.json" in err
    assert "daily_2" not in err and "notes.txt" not in err


@pytest.mark.parametrize("dropped", [1, 2])
def test_dropping_the_last_lines_is_named_from_the_head_this_machine_wrote(tmp_path, capsys, dropped):
    reports, state = tmp_path / "reports", tmp_path / "state"
    reports.mkdir()
    for n in (1, 2, 3, 4):
        _record_run(reports, n, state_dir=state)
    assert verify_command(str(reports), state_dir=str(state)) == 0
    assert "the head this machine last wrote (run run004, line 4) is in place" in capsys.readouterr().out
    _drop_last(reports, dropped, with_files=True)
    assert ledger.verify(reports).exit_status == 0  # the chain alone cannot tell
    assert verify_command(str(reports), state_dir=str(state)) == 1
    err = capsys.readouterr().err
    assert f"shortened: the ledger ends at run run00{4 - dropped} (line {4 - dropped}); run run004 was written " \
           "after it (line 4)" in err


def test_a_line_dropped_stays_named_after_the_next_run(tmp_path, capsys):
    reports, state = tmp_path / "reports", tmp_path / "state"
    reports.mkdir()
    for n in (1, 2, 3):
        _record_run(reports, n, state_dir=state)
    _drop_last(reports, 1, with_files=True)
    _record_run(reports, 4, state_dir=state)  # the next run appends after the gap: the chain holds again
    assert ledger.verify(reports).exit_status == 0
    assert verify_command(str(reports), state_dir=str(state)) == 1
    err = capsys.readouterr().err
    assert "run run003 (line 3) was written by this machine and was gone when run run004 was appended" in err
    assert "run run004, line 3" not in err


def test_an_edited_last_line_is_named_from_the_head(tmp_path, capsys):
    reports, state = tmp_path / "reports", tmp_path / "state"
    reports.mkdir()
    for n in (1, 2):
        _record_run(reports, n, state_dir=state)
    lines = _lines(reports)
    _write_lines(reports, [lines[0], lines[1].replace('"exit_status":0', '"exit_status":1')])
    assert ledger.verify(reports).exit_status == 0  # nothing chains to the last line
    assert verify_command(str(reports), state_dir=str(state)) == 1
    assert "run run002 (line 2), the last line this machine wrote, is not in the ledger" in capsys.readouterr().err


def test_lines_other_writers_append_raise_no_alarm(tmp_path, capsys):
    """A writer without this machine's state (another machine sharing the folder, a tool) appends after the head:
    the head is still in place; the next line written here becomes the head, counted from the file."""
    reports, state = tmp_path / "reports", tmp_path / "state"
    reports.mkdir()
    _record_run(reports, 1, state_dir=state)
    _record_run(reports, 2)
    assert verify_command(str(reports), state_dir=str(state)) == 0
    assert "(run run001, line 1) is in place; 1 line(s) after it" in capsys.readouterr().out
    _record_run(reports, 3, state_dir=state)
    other = tmp_path / "other"  # another ledger has a head of its own
    other.mkdir()
    _record_run(other, 9, state_dir=state)
    assert verify_command(str(reports), state_dir=str(state)) == 0
    assert "(run run003, line 3) is in place" in capsys.readouterr().out
    assert verify_command(str(other / ledger.NAME), state_dir=str(state)) == 0
    assert "(run run009, line 1) is in place" in capsys.readouterr().out


def test_a_damaged_head_record_is_named_and_the_next_append_counts_afresh(tmp_path, capsys):
    reports, state = tmp_path / "reports", tmp_path / "state"
    reports.mkdir()
    _record_run(reports, 1, state_dir=state)
    (head,) = state.glob("ledger-head.*.json")
    head.write_text("{not json")
    assert verify_command(str(reports), state_dir=str(state)) == 1
    assert f"{head}: not a ledger head record" in capsys.readouterr().err
    _record_run(reports, 2, state_dir=state)
    assert verify_command(str(reports), state_dir=str(state)) == 0
    assert "(run run002, line 2) is in place" in capsys.readouterr().out


def test_a_head_that_cannot_be_kept_is_said_after_the_line_is_written(tmp_path):
    (tmp_path / "state").write_text("a file where the state dir should be\n")
    with pytest.raises(ledger.HeadNotKept, match="the ledger line was written, but its head could not be kept"):
        _record_run(tmp_path, 1, state_dir=tmp_path / "state")
    assert [e["run_id"] for e in ledger.read_entries(tmp_path)] == ["run001"]


def test_without_state_the_tail_is_not_checked_and_it_says_so(tmp_path, capsys):
    _record_run(tmp_path, 1)
    assert verify_command(str(tmp_path)) == 0
    assert "end not checked: no state_dir" in capsys.readouterr().out
    assert verify_command(str(tmp_path), state_dir=str(tmp_path / "state")) == 0
    assert "end not checked: " + str(tmp_path / "state") + " holds no head of this ledger" in capsys.readouterr().out


APPENDER = """
import sys, time
from pathlib import Path
from opsproof.cli import main
from opsproof.report import cadence, ledger
directory, who, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
(directory / f"ready-{who}").touch()
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:   # both start appending together
    time.sleep(0.001)
for n in range(count):
    ledger.append(directory / ledger.NAME, {"format": ledger.FORMAT, "run_id": f"{who}-{n}", "started": "x",
                  "ended": "x", "outcome": {}, "files": [], "pad": who * 3000})
"""


def test_two_processes_appending_at_once_leave_whole_lines_in_one_chain(tmp_path):
    script = tmp_path / "appender.py"
    script.write_text(APPENDER)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path), who, "150", str(go)]) for who in "ab"]
    wait_for(lambda: all((tmp_path / f"ready-{w}").exists() for w in "ab"), 30, "both appenders to start")
    go.touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    result = ledger.verify(tmp_path)
    assert (result.exit_status, result.lines) == (0, 300), result.problems
    ids = [e["run_id"] for e in result.entries]
    assert sorted(ids) == sorted(f"{w}-{n}" for w in "ab" for n in range(150))


def _keypair(directory: Path, name: str) -> tuple[Path, str]:
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True,
                   timeout=30)
    return key, Path(str(key) + ".pub").read_text().split()[:2]


def test_a_signed_head_verifies_with_the_allowed_key_and_fails_with_another(tmp_path, capsys):
    require_tool("ssh-keygen")
    _record_run(tmp_path, 1)
    _record_run(tmp_path, 2)
    key, (kind, pub) = _keypair(tmp_path, "alice")
    other, (okind, opub) = _keypair(tmp_path, "mallory")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'alice@example.org namespaces="opsproof" {kind} {pub}\n')
    sign(tmp_path / ledger.NAME, key)
    assert verify_signature(tmp_path / ledger.NAME, allowed)[0]
    assert verify_command(str(tmp_path), str(allowed)) == 0
    assert "signed by alice@example.org" in capsys.readouterr().out
    _record_run(tmp_path, 3)  # a run after the signature: the head is no longer signed
    ok, why = verify_signature(tmp_path / ledger.NAME, allowed)
    assert not ok and "signed line 2, not the head line (3)" in why
    sign(tmp_path / ledger.NAME, other)
    assert verify_command(str(tmp_path), str(allowed)) == 1
    assert "a key" in capsys.readouterr().err
    allowed.write_text(f"alice@example.org {okind} {opub}\n")  # once the file lists that key, it verifies
    assert verify_signature(tmp_path / ledger.NAME, allowed)[0]
    (tmp_path / "ledger.jsonl.sig").unlink()
    assert "unsigned" in verify_signature(tmp_path / ledger.NAME, allowed)[1]


def test_a_signature_is_checked_without_allowed_signers(tmp_path, capsys):
    """ssh-keygen -Y check-novalidate over the head: an edited head, a dropped line or a run after the signature
    is a mismatch (exit 1); a good one is reported with its key, not as who signed."""
    require_tool("ssh-keygen")
    for n in (1, 2, 3):
        _record_run(tmp_path, n)
    key, _ = _keypair(tmp_path, "alice")
    sign(tmp_path / ledger.NAME, key)
    assert verify_command(str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "signature holds over the head line (3), made with ED25519 key SHA256:" in out
    assert "not checked against an allowed-signers file" in out
    lines = _lines(tmp_path)
    _write_lines(tmp_path, [*lines[:2], lines[2].replace('"passed":3', '"passed":4')])  # an edited signed head
    assert ledger.verify(tmp_path).exit_status == 0  # the chain alone cannot tell
    assert verify_command(str(tmp_path)) == 1
    assert "ledger.jsonl.sig matches neither the head line (3) nor a line before it" in capsys.readouterr().err
    _write_lines(tmp_path, lines[:2])  # the signed head dropped
    (tmp_path / "daily_3.html").unlink()
    (tmp_path / "daily_3.json").unlink()
    assert verify_command(str(tmp_path)) == 1
    assert "matches neither the head line (2)" in capsys.readouterr().err
    _write_lines(tmp_path, lines)
    _record_run(tmp_path, 4)  # a run after the signature: the head is no longer signed
    assert verify_command(str(tmp_path)) == 1
    assert "signed line 3, not the head line (4)" in capsys.readouterr().err
    (tmp_path / "ledger.jsonl.sig").write_text("not a signature\n")
    assert verify_command(str(tmp_path)) == 1
    assert "ledger.jsonl.sig is not an SSH signature" in capsys.readouterr().err


# ---- cadence state (opsproof status)

@pytest.mark.parametrize("expression, ran", [
    ("", {"daily", "weekly", "monthly", "quarterly"}),
    ("daily", {"daily"}),
    ("not daily", {"weekly", "monthly", "quarterly"}),
    ("daily or weekly", {"daily", "weekly"}),
    ("daily and weekly", set()),
    ("(monthly or quarterly) and not daily", {"monthly", "quarterly"}),
    ("premaintenance", set()),
])
def test_which_cadences_a_marker_expression_runs(expression, ran):
    assert {c for c in cadence.PERIODS if cadence.selects(expression, c)} == ran


def _entry(started: str, selection: str, passed: bool, hosts: str = "local") -> dict:
    return {"started": started, "ended": started, "selection": selection, "hosts": hosts,
            "exit_status": 0 if passed else 1, "outcome": {"passed": 3} if passed else {"passed": 2, "failed": 1},
            "failed": [] if passed else ["checks/test_x.py::test_y"]}


def test_last_run_last_pass_and_overdue_per_cadence_and_host():
    entries = [_entry("2026-10-01T02:00:00Z", "monthly", True, "ssh://web1,ssh://web2"),
               _entry("2026-11-20T02:00:00Z", "monthly", False, "ssh://web1"),
               _entry("2026-12-05T02:00:00Z", "daily", True, "ssh://web1,ssh://web2")]
    now = datetime(2026, 12, 6, 1, 0, tzinfo=timezone.utc)
    found = {(s.cadence, s.host): s for s in cadence.states(entries)}
    monthly = found["monthly", "ssh://web1"]
    assert monthly.last_run == datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
    assert monthly.last_pass == datetime(2026, 10, 1, 2, 0, tzinfo=timezone.utc) and monthly.overdue(now)
    assert not found["daily", "ssh://web2"].overdue(now)
    assert found["weekly", "ssh://web1"].last_run is None and found["weekly", "ssh://web1"].overdue(now)
    assert not found["quarterly", "ssh://web1"].overdue(now)  # due 92 days after the ledger's first line
    text = cadence.status_text(list(found.values()), now)
    assert "monthly    ssh://web1" in text and "(65 d ago); OVERDUE since 2026-11-01T02:00:00Z" in text
    assert text.splitlines()[-1].startswith("4 overdue: weekly on ssh://web1, weekly on ssh://web2, monthly on")


def test_a_new_installation_is_not_overdue_on_day_one():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    found = cadence.states([_entry("2026-12-06T02:00:00Z", "daily", True)])
    assert [s.cadence for s in found if s.overdue(now)] == []


def test_status_command_reads_the_ledger(tmp_path, capsys):
    assert status_command(str(tmp_path / "none.jsonl"), datetime.now(timezone.utc)) == 4
    _record_run(tmp_path, 1)
    assert status_command(str(tmp_path), START + timedelta(hours=5)) == 0
    out = capsys.readouterr().out
    assert "daily      local" in out and "0 overdue" in out
    assert status_command(str(tmp_path), START + timedelta(days=3)) == 1
    assert "1 overdue: daily on local" in capsys.readouterr().out


def test_sign_command(tmp_path, capsys):
    require_tool("ssh-keygen")
    key, _ = _keypair(tmp_path, "alice")
    assert sign_command(str(tmp_path), str(key)) == 4
    _record_run(tmp_path, 1)
    assert sign_command(str(tmp_path), str(key)) == 0 and (tmp_path / "ledger.jsonl.sig").exists()
    assert sign_command(str(tmp_path), str(tmp_path / "no-such-key")) == 1


# ---- the suite appends a line at the end of each run

DISK_OK = {"paths": ["/"], "max_used_percent": 100, "max_inodes_used_percent": 100}


def test_two_daily_runs_then_verify_then_an_edit_is_named(suite, capsys):
    suite.config({"service": "shop", "disk": DISK_OK})
    junit = suite.reports / "junit.xml"
    assert suite.run("-m", "daily").ret == 0
    assert suite.run("-m", "daily", f"--junitxml={junit}").ret == 0
    first, second = ledger.read_entries(suite.reports)
    assert second["prev"] == ledger.line_hash((suite.reports / ledger.NAME).read_bytes().split(b"\n")[0])
    assert first["selection"] == "daily" and first["outcome"]["passed"] == 5 and first["exit_status"] == 0
    names = [f["name"] for f in second["files"]]
    assert names[0].endswith(".html") and names[1].endswith(".json") and names[2] == "junit.xml"
    assert main(["verify-ledger", str(suite.reports)]) == 0
    report = suite.reports / first["files"][0]["name"]
    report.write_text(report.read_text().replace("passed", "PASSED"))
    assert main(["verify-ledger", str(suite.reports / ledger.NAME)]) == 1
    assert f"altered: {report.name}" in capsys.readouterr().err
    assert main(["status", str(suite.reports)]) == 0
    assert "daily      local" in capsys.readouterr().out


def test_no_secret_reaches_the_ledger(suite):
    secret, token = "Pw-9f8e7d6c5b", "tok-0a1b2c3d4e5f"
    url = f"http://app:{secret}@127.0.0.1:9/health?token={token}"
    suite.config({"service": "shop", "health": [{"name": "api", "url": url, "timeout_s": 2}]})
    result = suite.run("-m", "daily or postdeploy", f"--hosts=ssh://ops:{secret}@127.0.0.1")
    text = (suite.reports / ledger.NAME).read_text()
    assert secret not in text and token not in text, text
    assert ledger.read_entries(suite.reports)[0]["exit_status"] == result.ret


BARRIER = '''
import os, time
from pathlib import Path
import pytest

pytestmark = [pytest.mark.daily]


def test_both_runs_get_here():
    """Holds each run until both are here, so they finish together."""
    here = Path(os.environ["BARRIER_DIR"])
    (here / os.environ["BARRIER_NAME"]).touch()
    deadline = time.monotonic() + 60
    while len(list(here.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(list(here.iterdir())) == 2
'''


def test_two_runs_finishing_at_once_leave_two_lines_in_one_chain(suite, tmp_path):
    suite.config({"service": "shop"})
    (suite.path / "checks" / "test_barrier.py").write_text(BARRIER)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = []
    for name in ("a", "b"):
        env = dict(os.environ, BARRIER_DIR=str(barrier), BARRIER_NAME=name)
        env.pop("OPSPROOF_CONFIG", None)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "daily", "-k", "both_runs",
             f"--html=reports/run-{name}.html"], cwd=suite.path, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT))
    outputs = [p.communicate(timeout=300)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    result = ledger.verify(suite.reports)
    assert (result.exit_status, result.lines) == (0, 2), result.problems
    assert sorted(f["name"] for e in result.entries for f in e["files"]) == [
        "run-a.html", "run-a.json", "run-b.html", "run-b.json"]


def test_real_runs_then_their_last_lines_dropped_are_named(suite, monkeypatch, capsys):
    """Each run remembers the head it wrote in the state dir; verify-ledger finds that state as a run does."""
    suite.config({"service": "shop", "disk": DISK_OK})
    for _ in range(3):
        assert suite.run("-m", "daily").ret == 0
    ids = [e["run_id"] for e in ledger.read_entries(suite.reports)]
    whole = (suite.reports / ledger.NAME).read_text()
    monkeypatch.chdir(suite.path)  # ./maintenance.yaml, so .opsproof/ beside it, as the run found them
    monkeypatch.delenv("OPSPROOF_CONFIG", raising=False)
    assert main(["verify-ledger", "reports"]) == 0
    assert f"(run {ids[2]}, line 3) is in place" in capsys.readouterr().out
    for dropped in (1, 2):
        _write_lines(suite.reports, whole.splitlines()[:3 - dropped])
        expected = (f"shortened: the ledger ends at run {ids[2 - dropped]} (line {3 - dropped}); "
                    f"run {ids[2]} was written")
        assert main(["verify-ledger", "reports"]) == 1
        err = capsys.readouterr().err
        assert expected in err and err.count("orphan: ") == 2, err  # the last dropped run's report and summary
        for orphan in [*suite.reports.glob("*.html"), *suite.reports.glob("*.json")]:
            if not any(orphan.name in line for line in whole.splitlines()[:3 - dropped]):
                orphan.unlink()  # a careful cut removes the reports, too: only the head names it
        assert main(["verify-ledger", "reports"]) == 1
        err = capsys.readouterr().err
        assert expected in err and "orphan" not in err and "1 problem(s)" in err, err
        assert main(["verify-ledger", str(suite.reports), f"--maint-config={suite.path / 'maintenance.yaml'}"]) == 1
        assert expected in capsys.readouterr().err
        monkeypatch.chdir(suite.path.parent)
        assert main(["verify-ledger", str(suite.reports), f"--state-dir={suite.path / '.opsproof'}"]) == 1
        assert expected in capsys.readouterr().err
        assert main(["verify-ledger", str(suite.reports)]) == 0  # no config here: the end cannot be checked
        assert "end not checked: no state_dir" in capsys.readouterr().out
        monkeypatch.chdir(suite.path)
    assert main(["verify-ledger", "reports", "--maint-config=no-such.yaml"]) == 4
    assert "bad maintenance config" in capsys.readouterr().err


# ---- in process, line by line (mutation testing: tests/MUTANTS.md)

def _entry_line(n: int, prev: str) -> bytes:
    return json.dumps({"format": ledger.FORMAT, "run_id": f"run{n}", "started": "s", "ended": "e", "outcome": {},
                       "files": [], "prev": prev}, sort_keys=True, separators=(",", ":")).encode()


def test_a_line_records_what_the_run_was_judged(tmp_path):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("x\n")
    (tmp_path / "reports").mkdir()
    judgement = {"warnings": ["w1"], "waived": ["c1"], "waivers": [{"check": "c1"}]}
    line = ledger.entry(_run(1, approval={"by": "bob"}), {"passed": 1}, [], [outside], tmp_path / "reports", 0,
                        verdict="passed", judgement=judgement)
    assert (line["service"], line["approval"], line["verdict"]) == ("shop", {"by": "bob"}, "passed")
    assert (line["warnings"], line["waived"], line["waivers"]) == (["w1"], ["c1"], [{"check": "c1"}])
    assert line["files"][0]["name"] == str(outside)          # outside the ledger's folder: its absolute path
    bare = ledger.entry(_run(2, ended=None, suite_version="0.1.0"), {}, [], [], tmp_path, 0)
    assert (bare["ended"], bare["commit"], bare["verdict"], bare["warnings"]) == (None, None, None, [])


def test_verify_text_says_what_holds_and_each_problem_on_its_own_line(tmp_path):
    _record_run(tmp_path, 1)
    path = tmp_path / ledger.NAME
    assert ledger.verify(tmp_path).text() == (
        f"{path}: intact — 1 run(s), chain holds, 2 file(s) match their SHA-256, every report in the folder is named\n"
        "  end not checked: no state_dir (pass --maint-config=PATH or --state-dir=DIR of the machine that runs the "
        "checks)")
    (tmp_path / "daily_1.json").unlink()
    (tmp_path / "daily_1.html").write_text("changed\n")
    text = ledger.verify(tmp_path, state_dir=tmp_path / "state").text()
    assert text.splitlines()[:3] == [f"{path}: 2 problem(s)", f"  altered: daily_1.html (run run001, "
                                     f"2026-12-06T03:00:00Z): SHA-256 {ledger.sha256_file(tmp_path / 'daily_1.html')}, "
                                     f"the ledger holds {json.loads(_lines(tmp_path)[0])['files'][0]['sha256']}",
                                     "  missing: daily_1.json (run run001, 2026-12-06T03:00:00Z)"]
    assert text.splitlines()[3:] == [f"  end not checked: {tmp_path / 'state'} holds no head of this ledger (this "
                                     "machine did not write it, or not since opsproof keeps heads)"]


def test_a_report_that_cannot_be_read_is_named_and_the_rest_still_checked(tmp_path):
    _record_run(tmp_path, 1)
    (tmp_path / "daily_1.html").unlink()
    (tmp_path / "daily_1.html").mkdir()                     # something that cannot be hashed in its place
    (tmp_path / "daily_1.json").write_text("changed\n")
    problems = ledger.verify(tmp_path).problems
    assert problems[0] == "unreadable: daily_1.html (Is a directory)" and problems[1].startswith(
        "altered: daily_1.json")
    (tmp_path / "daily_1.html").rmdir()
    problems = ledger.verify(tmp_path).problems
    assert problems[0].startswith("missing: daily_1.html") and problems[1].startswith("altered: daily_1.json")


def test_what_is_not_a_ledger_says_which_and_what_this_machine_wrote(tmp_path):
    reports, state = tmp_path / "reports", tmp_path / "state"
    reports.mkdir()
    path = reports / ledger.NAME
    assert ledger.verify(reports).not_ledger == "cannot read it (No such file or directory)"
    for n in (1, 2):
        _record_run(reports, n, state_dir=state)
    suffix = "; this machine wrote 2 line(s) to it, the last run run002"
    for content, why in ((None, "cannot read it (No such file or directory)"), ("", "empty"),
                         ("hello\n", "no line is an opsproof ledger entry"),
                         (json.dumps({"format": ledger.FORMAT, "run_id": "x"}) + "\n", "no line is an opsproof ledger entry")):
        if content is None:
            path.unlink()
        else:
            path.write_text(content)
        assert ledger.verify(reports).not_ledger == why
        assert ledger.verify(reports, state_dir=state).not_ledger == why + suffix
        assert ledger.verify(reports, state_dir=tmp_path / "other").not_ledger == why
    (head,) = state.glob("ledger-head.*.json")
    head.write_text("{not json")
    assert ledger.verify(reports, state_dir=state).not_ledger == "no line is an opsproof ledger entry"


def test_verify_names_a_line_that_chains_to_the_start_out_of_place(tmp_path):
    for n in (1, 2):
        _record_run(tmp_path, n)
    first, second = _lines(tmp_path)
    _write_lines(tmp_path, [second])
    problems = ledger.verify(tmp_path).problems
    assert problems[0] == ("line 1 (run run002, 2026-12-06T04:00:00Z): broken link — does not chain to the start: "
                           "the ledger's first line(s) were removed")
    _write_lines(tmp_path, [first, first.replace("run001", "run009")])
    assert ledger.verify(tmp_path).problems[:1] == [
        "line 2 (run run009, 2026-12-06T03:00:00Z): broken link — chains to the start although it is not the first "
        "line (reordered)"]


def test_lines_at_and_over_the_bound(tmp_path):
    """A line of MAX_LINE_BYTES is a line; one byte more is "not a ledger line", hashed as it streams past: the line
    after it chains to it, and the lines after it keep their numbers. A last line needs no newline."""
    import hashlib

    bound = ledger.MAX_LINE_BYTES
    one = _entry_line(1, ledger.GENESIS)
    at = b"x" * bound
    over = b"y" * (bound + 1)
    two = _entry_line(2, ledger.line_hash(at))
    huge = b"z" * (3 * bound + 12345)
    three = _entry_line(3, hashlib.sha256(huge).hexdigest())
    four = _entry_line(4, ledger.line_hash(three))
    five = _entry_line(5, hashlib.sha256(over).hexdigest())
    path = tmp_path / ledger.NAME
    path.write_bytes(b"\n".join([one, at, two, huge, three, four, over, five]))      # no newline at the end
    result = ledger.verify(tmp_path)
    assert result.lines == 8 and [e["run_id"] for e in result.entries] == ["run1", "run2", "run3", "run4", "run5"]
    assert result.problems == ["line 2: not a ledger entry (edited)", ledger.over_bound(4), ledger.over_bound(7)]
    assert [e["run_id"] for e in ledger.read_entries(tmp_path)] == ["run1", "run2", "run3", "run4", "run5"]
    path.write_bytes(b"\n".join([one, over]))                                        # unterminated, over the bound
    assert ledger.verify(tmp_path).problems == [ledger.over_bound(2)]
    path.write_bytes(b"\n".join([one, at]))                                          # unterminated, at the bound
    assert ledger.verify(tmp_path).problems == ["line 2: not a ledger entry (edited)"]
    path.write_bytes(b"\n".join([one, over + b"\n" + b"\n" + five]))
    assert ledger.verify(tmp_path).problems == [ledger.over_bound(2)]


def test_a_line_over_the_bound_is_never_held_whole(tmp_path):
    import tracemalloc

    bound = ledger.MAX_LINE_BYTES
    (tmp_path / ledger.NAME).write_bytes(_entry_line(1, ledger.GENESIS) + b"\n" + b"q" * (10 * bound) + b"\n")
    tracemalloc.start()
    try:
        result = ledger.verify(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.problems == [ledger.over_bound(2)] and peak < 3 * bound, peak


def test_an_append_after_a_last_line_at_the_bound_chains_to_it(tmp_path):
    path = tmp_path / ledger.NAME
    at = b"x" * ledger.MAX_LINE_BYTES
    path.write_bytes(_entry_line(1, ledger.GENESIS) + b"\n" + at + b"\n")
    assert ledger.append(path, json.loads(_entry_line(2, "")))["prev"] == ledger.line_hash(at)
    path.write_bytes(_entry_line(1, ledger.GENESIS) + b"\n" + at + b"x\n")
    with pytest.raises(ledger.LedgerError, match="its last line is over"):
        ledger.append(path, json.loads(_entry_line(2, "")))


def test_a_head_lost_stays_lost_and_each_record_says_when(tmp_path):
    from opsproof.report import ledger_head

    reports, state = tmp_path / "reports", tmp_path / "state"
    reports.mkdir()
    for n in (1, 2, 3):
        _record_run(reports, n, state_dir=state)
    _drop_last(reports, 1, with_files=True)
    before = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    _record_run(reports, 4, state_dir=state)
    _record_run(reports, 5, state_dir=state)                # a second run after the gap still carries it
    after = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = ledger_head.recall(state, reports / ledger.NAME)
    (lost,) = head["lost"]
    assert (head["run_id"], head["line"]) == ("run005", 4) and before <= head["written"] <= after
    assert (lost["run_id"], lost["line"], lost["noticed_by"]) == ("run003", 3, "run004")
    assert before <= lost["noticed"] <= after and lost["written"] <= before
    problems = ledger.verify(reports, state_dir=state).problems
    assert problems[0].startswith(f"run run003 (line 3) was written by this machine and was gone when run run004 was "
                                  f"appended ({lost['noticed']})")


def test_a_long_single_line_and_trailing_spaces_are_chained_to_whole(tmp_path):
    """The last line is read back in blocks (64 KiB, then 128 KiB): a first line that ends exactly one byte into the
    file's start, and a line ending in spaces, are chained to as verify hashes them."""
    path = tmp_path / ledger.NAME
    line = _entry_line(1, ledger.GENESIS)
    line = line[:-1] + b',"pad":"' + b"p" * (65536 + 131072 - len(line) - 9) + b'"}'
    assert len(line) + 1 == 1 + 65536 + 131072
    path.write_bytes(line + b"\n")
    assert ledger.append(path, json.loads(_entry_line(2, "")))["prev"] == ledger.line_hash(line)
    path.write_bytes(_entry_line(1, ledger.GENESIS) + b"  \n")
    ledger.append(path, json.loads(_entry_line(2, "")))
    assert ledger.verify(tmp_path).problems == []


def _head(state: Path, reports: Path) -> Path:
    from opsproof.report import ledger_head

    return ledger_head.head_file(state, reports / ledger.NAME)


def test_the_head_record_names_its_ledger_and_only_its_owner_reads_it(tmp_path):
    import re

    from opsproof.report import ledger_head

    reports, state = tmp_path / "reports", tmp_path / "state"
    reports.mkdir()
    _record_run(reports, 1, state_dir=state)
    head = _head(state, reports)
    assert head.parent == state and re.fullmatch(r"ledger-head\.[0-9a-f]{16}\.json", head.name), head.name
    assert head.stat().st_mode & 0o777 == 0o600
    assert ledger_head.recall(state, reports / ledger.NAME)["ledger"] == os.path.realpath(reports / ledger.NAME)


@pytest.mark.parametrize("record, why", [
    ({"run_id": "run001", "line": 1}, "needs run_id, line and sha256"),
    ({"run_id": "run001", "line": 1, "sha256": "x", "lost": [{"run_id": "run000"}]}, "needs run_id, line and sha256"),
    ([1, 2], "needs run_id, line and sha256"),
    ("pad" * 400_000, "at most 1048576"),
])
def test_a_head_record_that_is_not_one_is_refused_naming_it(tmp_path, record, why):
    from opsproof.report import ledger_head

    head = _head(tmp_path, tmp_path)
    head.write_text(json.dumps(record))
    with pytest.raises(ledger_head.HeadError) as info:
        ledger_head.recall(tmp_path, tmp_path / ledger.NAME)
    assert str(info.value).startswith(f"{head}: not a ledger head record (") and why in str(info.value), info.value
    if why.startswith("needs"):
        assert str(info.value) == f"{head}: not a ledger head record (needs run_id, line and sha256)"
    head.write_text(json.dumps({"run_id": "run001", "line": 1, "sha256": "x", "lost": None}))
    assert ledger_head.recall(tmp_path, tmp_path / ledger.NAME)["run_id"] == "run001"


def test_a_head_that_cannot_be_kept_says_why(tmp_path):
    (tmp_path / "state").write_text("a file where the state dir should be\n")
    with pytest.raises(ledger.HeadNotKept) as info:
        _record_run(tmp_path, 1, state_dir=tmp_path / "state")
    assert "[Errno" not in str(info.value) and str(info.value).startswith(
        f"the ledger line was written, but its head could not be kept in {_head(tmp_path / 'state', tmp_path)}: ")


def test_each_way_the_end_differs_from_the_head_is_said_whole(tmp_path):
    from opsproof.report import ledger_head

    reports, state = tmp_path / "reports", tmp_path / "state"
    reports.mkdir()
    for n in (1, 2, 3):
        _record_run(reports, n, state_dir=state)
    record = _head(state, reports)
    where = f" (this machine's record: {record}; remove it only if the ledger was started over on purpose)"
    result = ledger.verify(reports, state_dir=state)
    assert result.problems == [] and result.notes == ["the head this machine last wrote (run run003, line 3) is in place"]
    lines = _lines(reports)
    _write_lines(reports, lines[1:])                                   # the first line removed: the head moved up
    result = ledger.verify(reports, state_dir=state)
    assert result.problems[-1] == ("line 2 (run run003): this machine wrote it as line 3: lines before it were removed "
                                   "or added" + where) and result.notes == []
    _write_lines(reports, [lines[0], "{garbage"])                     # cut short, ending in a line that is no entry
    result = ledger.verify(reports, state_dir=state)
    assert result.problems[-1] == ("shortened: the ledger ends at a line that is not an entry (line 2); run run003 "
                                   "was written after it (line 3)" + where) and result.notes == []
    _write_lines(reports, lines)
    kept = json.loads(record.read_text())
    record.write_text(json.dumps({**kept, "lost": [{"run_id": "run000", "line": 1, "sha256": "0" * 64}]}))
    assert ledger.verify(reports, state_dir=state).problems == [
        "run run000 (line 1) was written by this machine and was gone when run ? was appended (?): the ledger lost its "
        "end then" + where]
    assert ledger_head.check(kept, {}, ["run001", "run002", None], record)[0] == [
        "run run003 (line 3), the last line this machine wrote, is not in the ledger (it ends at a line that is not an "
        f"entry, line 3): that line was edited or the ledger's end replaced (this machine's record: {record}; remove it "
        "only if the ledger was started over on purpose)"]


def test_an_append_after_a_torn_or_odd_last_line_starts_a_line_of_its_own(tmp_path):
    import hashlib

    path = tmp_path / "new" / "dirs" / ledger.NAME                   # its folders are made, it is made 0644
    umask = os.umask(0o022)
    try:
        ledger.append(path, json.loads(_entry_line(1, "")))
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
    first = path.read_bytes()
    for tail in (b"{torn", b"{garbageX\n", b"\n" * 70_000):           # unterminated; ending in X; many blank lines
        path.write_bytes(first + tail)
        record = ledger.append(path, json.loads(_entry_line(2, "")))
        last = (first + tail).rstrip(b"\n").rsplit(b"\n", 1)[-1]
        assert record["prev"] == hashlib.sha256(last).hexdigest(), tail[:10]
        result = ledger.verify(path)
        assert result.lines == (2 if tail.startswith(b"\n") else 3), tail[:10]
        assert [p for p in result.problems if "broken link" in p] == [], result.problems
        assert result.entries[-1]["run_id"] == "run2" and path.read_bytes().endswith(b"\n" + json.dumps(
            record, sort_keys=True, separators=(",", ":")).encode() + b"\n"), tail[:10]
    path.write_bytes(_entry_line(1, ledger.GENESIS) + b"  \n")        # a line ending in spaces is hashed with them
    record = ledger.append(path, json.loads(_entry_line(2, "")))
    assert record["prev"] == hashlib.sha256(_entry_line(1, ledger.GENESIS) + b"  ").hexdigest()


def test_a_line_is_written_with_sorted_keys_and_values_json_cannot_hold_as_text(tmp_path):
    path = tmp_path / ledger.NAME
    record = ledger.append(path, {"run_id": "r", "format": ledger.FORMAT, "where": tmp_path, "files": []})
    raw = path.read_bytes().rstrip(b"\n")
    assert raw == json.dumps({**record, "where": str(tmp_path)}, sort_keys=True, separators=(",", ":")).encode()
    assert list(json.loads(raw)) == sorted(json.loads(raw))


def test_a_line_of_the_bound_is_appended_and_one_byte_more_is_refused(tmp_path):
    path = tmp_path / ledger.NAME
    base = {"format": ledger.FORMAT, "run_id": "r", "pad": ""}
    size = len(json.dumps({**base, "prev": ledger.GENESIS}, sort_keys=True, separators=(",", ":")))
    ledger.append(path, {**base, "pad": "p" * (ledger.MAX_LINE_BYTES - size)})
    before = path.read_bytes()
    assert len(before) == ledger.MAX_LINE_BYTES + 1
    over = {**base, "pad": "p" * (ledger.MAX_LINE_BYTES - size + 1)}
    with pytest.raises(ledger.LedgerError) as info:
        ledger.append(path, over)
    assert str(info.value) == (f"{path}: this line would be {ledger.MAX_LINE_BYTES + 1} bytes, over the "
                               f"{ledger.MAX_LINE_BYTES} a ledger line may have; nothing appended")
    assert path.read_bytes() == before


def test_an_over_bound_last_line_is_refused_after_reading_at_most_the_bound(tmp_path, monkeypatch):
    path = tmp_path / ledger.NAME
    path.write_bytes(_entry_line(1, ledger.GENESIS) + b"\n" + b"x" * (2 * ledger.MAX_LINE_BYTES) + b"\n")
    read = count_preads(monkeypatch)
    with pytest.raises(ledger.LedgerError) as info:
        ledger.append(path, json.loads(_entry_line(2, "")))
    assert str(info.value) == f"{path}: its last line is over {ledger.MAX_LINE_BYTES} bytes: not a ledger line"
    assert sum(read) == ledger.MAX_LINE_BYTES + 2, sum(read)            # the bound and one byte, and the newline


def test_a_head_whose_earlier_lines_were_removed_stays_counted_from_this_machine(tmp_path):
    reports, state = tmp_path / "reports", tmp_path / "state"
    reports.mkdir()
    for n in (1, 2, 3):
        _record_run(reports, n, state_dir=state)
    _write_lines(reports, _lines(reports)[1:])
    _record_run(reports, 4, state_dir=state)
    problems = ledger.verify(reports, state_dir=state).problems
    assert problems[-1].startswith("line 3 (run run004): this machine wrote it as line 4: lines before it were "
                                   "removed or added"), problems
