"""Round trips to a remote host: a daily run reads a host's measurements in one shipped call or two (the survey,
opsproof/hosts/survey.py), counted as sshd counts them ("Starting session" in its own log); the evidence and the
error log's and the SLO read's reference points are what they are without the survey, and what a run with --apply
reads after an action is read again after it."""
from __future__ import annotations

import os

import pytest

from helpers.sshd import ALIAS

MAX_SESSIONS = 3
# --apply on the example (a backup taken, temp cleaned, no log due for rotation): the survey (2), the lock, the backup,
# the survey again after it (2), the cleanup, the lock's release. Each action that acts adds its own commands and at
# most the two calls of the survey asked again after it; the reads between actions add none.
APPLY_SESSIONS = 8
DAILY = "daily or postdeploy"   # the example's daily checks, and its service checks (not daily) beside them


def _sessions(sshd) -> int:
    return sshd.log.read_text(errors="replace").count("Starting session")


def _six_checks(app) -> dict:
    """The example's config without rotation, SLOs and temp cleanup: the six checks of bench/bench_remote.py."""
    data = {k: v for k, v in app.config().items() if k not in ("slo", "temp")}
    data["logs"] = {k: v for k, v in data["logs"].items() if k != "rotate"}
    return data


@pytest.mark.slow
def test_daily_run_on_a_remote_host_opens_at_most_three_sessions(suite, example_app, sshd):
    suite.config(_six_checks(example_app))
    hosts = (f"--hosts=ssh://{ALIAS}", f"--ssh-config={sshd.ssh_config}", "-m", "daily")
    before = _sessions(sshd)
    first = suite.run(*hosts)
    assert first.ret == 0, first.stdout.str()
    assert 0 < _sessions(sshd) - before <= MAX_SESSIONS, _sessions(sshd) - before   # 0: sshd logged nothing
    tests = {t["id"]: t for t in suite.summary()["tests"]}
    disk = [t for i, t in tests.items() if "test_disk_space[" in i]
    assert disk and all(t["outcome"] == "passed" for t in disk), disk
    usage = [e["data"] for t in disk for e in t["evidence"] if e["label"] == "DiskUsage"]
    assert usage and all(u["command"].startswith("df -P -k") and u["used_percent"] is not None for u in usage), usage
    [scan] = [e["data"] for i, t in tests.items() if "test_no_new_errors[" in i for e in t["evidence"]
              if e["label"] == "ErrorScan"]
    assert scan["reference"].startswith("first run"), scan
    # The reference point moved on as without a survey: the next run reads only the line written since.
    line = "2026-11-26T00:00:00Z ERROR payment provider timed out\n"
    with (example_app.root / "logs" / "error.log").open("a") as fh:
        fh.write(line)
    before = _sessions(sshd)
    second = suite.run(*hosts)
    assert second.ret == 1, second.stdout.str()
    assert 0 < _sessions(sshd) - before <= MAX_SESSIONS, _sessions(sshd) - before   # 0: sshd logged nothing
    [again] = [e["data"] for t in suite.summary()["tests"] if "test_no_new_errors[" in t["id"] for e in t["evidence"]
               if e["label"] == "ErrorScan"]
    assert (again["start_offset"], again["matches"], again["bytes_read"]) == (scan["end_offset"], 1, len(line)), again


def _evidence(summary: dict, check: str) -> dict:
    """label -> data of every evidence record of the items of `check` (a test function's name), and "comparisons":
    the config key of each threshold they were judged against."""
    out: dict = {"comparisons": []}
    for test in summary["tests"]:
        if f"::{check}[" in test["id"]:
            out.update({e["label"]: e["data"] for e in test["evidence"]})
            out["comparisons"] += [c["key"] for c in test["comparisons"]]
    return out


def _same_shape(local: dict, remote: dict, check: str) -> None:
    assert local.keys() == remote.keys(), (check, sorted(local), sorted(remote))
    for label, data in local.items():
        if isinstance(data, dict):
            assert data.keys() == remote[label].keys(), (check, label)
    assert set(local["comparisons"]) == set(remote["comparisons"]), (check, local["comparisons"], remote["comparisons"])
    assert local["comparisons"] or check in ("test_rotation_ran_cleanly", "test_port_listening"), check  # no threshold
    assert len(local) > 1, (check, local)   # some record besides the comparisons: the check observed something


@pytest.mark.slow
def test_the_examples_whole_daily_run_on_a_remote_host_opens_at_most_three_sessions(suite, example_app, sshd):
    """Rotation, temp, SLO, backups, error log, disk and services: one survey; each check's evidence as a local run's
    (the command or read, its output, the config key); the error log's and the SLO read's reference points move on."""
    suite.config(example_app.config())
    local = suite.run("-m", DAILY, "-k", "not test_endpoint_healthy")   # no probe writes between the two runs' reads
    assert local.ret == 0, local.stdout.str()
    here = suite.summary()
    hosts = (f"--hosts=ssh://{ALIAS}", f"--ssh-config={sshd.ssh_config}", "-m", DAILY)
    before = _sessions(sshd)
    first = suite.run(*hosts)
    assert first.ret == 0, first.stdout.str()
    assert 0 < _sessions(sshd) - before <= MAX_SESSIONS, _sessions(sshd) - before   # 0: sshd logged nothing
    there = suite.summary()
    for check in ("test_rotation_ran_cleanly", "test_active_logs_under_max_size", "test_no_stale_temp_files",
                  "test_objective_met", "test_newest_backup_is_fresh", "test_no_new_errors", "test_disk_space",
                  "test_port_listening"):
        _same_shape(_evidence(here, check), _evidence(there, check), check)
    rotation = [_evidence(s, "test_rotation_ran_cleanly")["rotate-logs"] for s in (here, there)]
    assert rotation[0]["command"].startswith("logrotate -d") and rotation[0]["log"], rotation[0]
    for key in ("command", "rendered", "files", "decisions", "before", "errors"):
        assert rotation[0][key] == rotation[1][key], key
    on_disk = [{k: v for k, v in _evidence(s, "test_active_logs_under_max_size").items() if k.startswith("on disk")}
               for s in (here, there)]
    assert on_disk[0] == on_disk[1] and len(on_disk[0]) == 2, on_disk
    reads = [_evidence(s, "test_objective_met")["LogRead"] for s in (here, there)]
    assert reads[1]["reference"].startswith("first run") and reads[1]["requests"] == reads[0]["requests"] > 0, reads
    usage = _evidence(there, "test_disk_space")["DiskUsage"]
    assert usage["command"].startswith("df -P -k") and usage["used_percent"] is not None, usage
    # A second run reads only what was written since: the SLO aggregates and the error log's offset moved on.
    with (example_app.root / "logs" / "access.log").open("a") as fh:
        fh.write(line := '127.0.0.1 - - [06/Dec/2026:20:00:00 +0000] "GET /x HTTP/1.1" 200 2 "-" "t" 0.010\n')
    before = _sessions(sshd)
    second = suite.run(*hosts)
    assert second.ret == 0, second.stdout.str()
    assert 0 < _sessions(sshd) - before <= MAX_SESSIONS, _sessions(sshd) - before   # 0: sshd logged nothing
    again = _evidence(suite.summary(), "test_objective_met")["LogRead"]
    assert (again["reference"], again["bytes_read"], again["requests"]) == ("since the last run", len(line), 1), again
    scan = _evidence(suite.summary(), "test_no_new_errors")["ErrorScan"]
    assert scan["bytes_read"] == 0 and not scan["reference"].startswith("first run"), scan


@pytest.mark.slow
def test_a_daily_run_with_apply_is_surveyed_and_reads_again_after_each_action(suite, example_app, sshd):
    """--apply: the backup is taken and temp cleaned one action at a time, each recorded; what the checks read after
    an action is read after it (the new archive is the one verified), in at most APPLY_SESSIONS sessions."""
    stale = example_app.root / "tmp" / "stale.tmp"
    stale.parent.mkdir(exist_ok=True)
    stale.write_text("old\n")
    os.utime(stale, (1, 1))
    suite.config(example_app.config())
    before = _sessions(sshd)
    run = suite.run(f"--hosts=ssh://{ALIAS}", f"--ssh-config={sshd.ssh_config}", "-m", "daily", "--apply")
    assert run.ret == 0, run.stdout.str()
    assert 0 < _sessions(sshd) - before <= APPLY_SESSIONS, _sessions(sshd) - before   # 0: sshd logged nothing
    summary = suite.summary()
    taken = _evidence(summary, "test_backup_taken")["backup"]
    checked = [k for k in _evidence(summary, "test_newest_archive_is_intact") if k.startswith("verification of")]
    assert checked == [f"verification of {os.path.basename(taken['path'])}"], (checked, taken)
    assert _evidence(summary, "test_newest_backup_is_fresh")["Recency"]["path"] == taken["path"]
    cleaned = _evidence(summary, "test_no_stale_temp_files")
    [record] = [v for k, v in cleaned.items() if k.startswith("clean-temp")]
    assert record["mode"] == "apply" and not stale.exists(), record
    assert _evidence(summary, "test_rotation_ran_cleanly")["rotate-logs"]["mode"] == "apply"


def test_the_local_host_is_surveyed_too_each_read_runs_once(suite, example_app, tmp_path):
    """This machine answers the same survey in the run's own process: a command several checks read (`df` of each
    path, the backup listing) runs once per run, not once per check (the listing ran 6 times, each `df` twice); the
    listing runs once more at collection, where the weekly verification's items are named after the kept archives."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in ("find", "df"):
        real = next(p for p in ("/usr/bin/" + tool, "/bin/" + tool) if os.path.exists(p))
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\nexec {real} "$@"\n')
        (bin_dir / tool).chmod(0o755)
    suite.config(example_app.config())
    result = suite.run("-m", "daily", env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert result.ret in (0, 1), result.stdout.str()   # without --apply the actions only plan
    ran = [line for line in calls.read_text().splitlines() if line]   # (find's -printf format ends in a newline)
    listing = [r for r in ran if r.startswith("find ") and "/backups " in r]
    df = [r for r in ran if r.startswith("df ")]
    assert len(listing) == 2 and len(set(listing)) == 1, ran
    assert len(df) == 4 and len(set(df)) == 4, df   # -k and -i of each of the example's two paths
