"""Round trips to a remote host: a daily run reads a host's measurements in one shipped call or two (the survey,
opsproof/hosts/survey.py), counted as sshd counts them ("Starting session" in its own log); the evidence and the
error log's reference point are what they are without the survey."""
from __future__ import annotations

import pytest

from helpers.sshd import ALIAS

MAX_SESSIONS = 3


def _sessions(sshd) -> int:
    return sshd.log.read_text(errors="replace").count("Starting session")


def _six_checks(app) -> dict:
    """The example's config without rotation, SLOs and temp cleanup (their reads are not in the survey yet)."""
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
    assert _sessions(sshd) - before <= MAX_SESSIONS, _sessions(sshd) - before
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
    assert _sessions(sshd) - before <= MAX_SESSIONS
    [again] = [e["data"] for t in suite.summary()["tests"] if "test_no_new_errors[" in t["id"] for e in t["evidence"]
               if e["label"] == "ErrorScan"]
    assert (again["start_offset"], again["matches"], again["bytes_read"]) == (scan["end_offset"], 1, len(line)), again
