"""The error-log scan: new lines only, across partial lines, truncation and rotation, in bounded memory.

Unit tests drive opsproof.logs.scan.scan_errors (errorlog.scan_file in process) on the local machine through a testinfra host;
suite tests run checks/test_errorlog.py against a real log file in a copy of the suite.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

from opsproof.logs.scan import scan_errors
from opsproof.hosts.target import Target

PATTERN = "ERROR|CRITICAL|FATAL"
CHECK = "checks/test_errorlog.py"  # run only this module: other checks sharing the marker are not under test here
FAST = ("-p", "no:hypothesispytest", "-p", "no:benchmark")  # unused third-party plugins: seconds of start-up


@pytest.fixture(scope="module")
def local() -> Target:
    return Target(testinfra.get_host("local://"), 30)


class Log:
    """A log file and the reference point a scheduled run would keep between scans."""

    def __init__(self, target: Target, path: Path, pattern: str = PATTERN) -> None:
        self.target, self.path, self.pattern = target, path, pattern
        self.state: dict = {}

    def write(self, text: str, path: Path | None = None) -> None:
        with open(path or self.path, "a") as fh:
            fh.write(text)

    def scan(self):
        scan, self.state = scan_errors(self.target, str(self.path), self.pattern, self.state)
        assert scan.error is None, scan.error
        return scan


@pytest.fixture
def log(local: Target, tmp_path: Path) -> Log:
    return Log(local, tmp_path / "error.log")


def test_first_run_reads_the_whole_file(log):
    log.write("INFO start\nERROR disk full\nINFO ok\nCRITICAL db down\n")
    scan = log.scan()
    assert (scan.matches, scan.lines_read) == (2, 4)
    assert scan.sample == ["ERROR disk full", "CRITICAL db down"]
    assert scan.reference == "first run: whole file"
    assert scan.end_offset == log.path.stat().st_size == scan.bytes_read


def test_second_run_reads_only_new_bytes(log):
    log.write("ERROR old one\nINFO ok\n")
    first = log.scan()
    log.write("INFO fine\nFATAL new one\n")
    second = log.scan()
    assert first.matches == 1
    assert second.matches == 1 and second.sample == ["FATAL new one"]
    assert second.start_offset == first.end_offset
    assert second.bytes_read == len("INFO fine\nFATAL new one\n")
    assert "since the last run" in second.reference
    third = log.scan()
    assert (third.matches, third.bytes_read) == (0, 0)


def test_a_match_in_an_unterminated_last_line_counts_at_once_and_once(log):
    """A crashed writer never writes its last newline: the match counts in this run, and never a second time."""
    log.write("INFO ok\nFATAL process crash")
    first = log.scan()
    assert (first.matches, first.unterminated, first.end_offset) == (1, True, len("INFO ok\n"))
    assert first.sample == ["FATAL process crash [last line, no newline yet: the writer may have crashed]"]
    again = log.scan()
    assert (again.matches, again.unterminated) == (0, False), "the same unfinished line, counted again"
    log.write("ed\nINFO restarted\n")
    done = log.scan()
    assert (done.matches, done.lines_read) == (0, 2), "the line, finished later, counted a second time"
    log.write("ERROR half a li")
    assert log.scan().matches == 1
    log.write("ne\n")
    assert log.scan().matches == 0


def test_an_unterminated_line_that_does_not_match_waits_for_its_newline(log):
    log.write("INFO ok\nERR")
    assert log.scan().matches == 0
    log.write("OR complete now\n")
    done = log.scan()
    assert done.matches == 1 and done.sample == ["ERROR complete now"]


def test_an_unterminated_match_fails_the_check_in_the_same_run(suite, tmp_path):
    """`printf 'FATAL process crashed' >> error.log` fails the daily check at once (it passed forever before)."""
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "error.log"
    log.write_text("INFO up\n")
    suite.config({"service": "crash", "root": str(tmp_path), "logs": {"error_log": "logs/error.log",
                                                                      "since": "last_run"}})
    assert suite.run("-m", "daily", CHECK).ret == 0
    with open(log, "a") as fh:
        fh.write("FATAL process crashed")
    assert suite.run("-m", "daily", CHECK).ret == 1
    assert suite.run("-m", "daily", CHECK).ret == 0, "since: last_run counted it once"
    with open(log, "a") as fh:
        fh.write(" at 03:12\nINFO restarted\n")
    assert suite.run("-m", "daily", CHECK).ret == 0, "the finished line was counted a second time"


def test_truncation_is_detected_and_read_from_the_start(log):
    log.write("INFO a long line to make the file bigger than what follows\n" * 10)
    log.scan()
    with open(log.path, "w") as fh:  # copytruncate-style: same inode, smaller file
        fh.write("ERROR after truncation\n")
    scan = log.scan()
    assert "truncated" in scan.reference
    assert scan.matches == 1 and scan.sample == ["ERROR after truncation"]
    assert scan.start_offset == 0
    assert scan.unread == [f"could not read what {log.path} got after the last run (past byte 590): no file here "
                           "holds it any more (it was deleted, or truncated in place with no copy kept)"]


def test_rotation_by_rename_counts_old_tail_and_new_file_once(log):
    log.write("ERROR before the last scan\n")
    assert log.scan().matches == 1
    log.write("ERROR written after the scan, before rotation\n")
    os.rename(log.path, f"{log.path}.1")                       # logrotate's create mode
    log.write("ERROR late write through the old handle\n", Path(f"{log.path}.1"))
    log.write("INFO new file\nERROR in the new file\n")
    scan = log.scan()
    assert scan.rotated_from == f"{log.path}.1"
    assert scan.sample == ["ERROR written after the scan, before rotation", "ERROR late write through the old handle",
                           "ERROR in the new file"]
    assert scan.matches == 3
    assert log.scan().matches == 0, "nothing is counted twice"


def test_two_rotations_between_scans_read_the_intermediate_file(log):
    log.write("INFO scanned\n")
    log.scan()
    log.write("ERROR tail of the first file\n")
    os.rename(log.path, f"{log.path}.1")
    log.write("ERROR the whole second file\n")
    os.rename(f"{log.path}.1", f"{log.path}.2")
    os.rename(log.path, f"{log.path}.1")
    log.write("ERROR the third file\n")
    scan = log.scan()
    assert scan.sample == ["ERROR tail of the first file", "ERROR the whole second file", "ERROR the third file"]


def test_rotated_file_gone_is_said_in_the_reference(log):
    log.write("INFO scanned\n")
    log.scan()
    os.rename(log.path, f"{log.path}.1.gz")  # named as compressed, but not gzip: its rest cannot be read
    log.write("ERROR new\n")
    scan = log.scan()
    assert scan.matches == 1
    assert len(scan.unread) == 1 and f"{log.path}.1.gz could not be read: Not a gzipped file" in scan.unread[0]


@pytest.mark.parametrize("pattern, expected", [
    (r"^ERROR", ["ERROR at the start", "ERROR again at the start"]),     # anchors hold on every line
    (r"\[error\]", ["2026/01/01 [error] 12#0: upstream timed out"]),    # nginx style, escaped
    (r"(?i)fatal", ["Fatal: out of memory"]),
    (r"code=5\d\d$", ["request done code=503"]),
    (r"\AERROR", ["ERROR at the start", "ERROR again at the start"]),    # line by line, like grep
])
def test_pattern_is_a_python_regex_applied_per_line(local, tmp_path, pattern, expected):
    log = Log(local, tmp_path / "app.log", pattern)
    log.write("INFO first\nERROR at the start\nINFO mentions ERROR in the middle\nERROR again at the start\n"
              "2026/01/01 [error] 12#0: upstream timed out\nerror without brackets\nFatal: out of memory\n"
              "request done code=503\nrequest done code=503 later\n")
    assert log.scan().sample == expected


def test_lines_split_on_newline_only(log):
    log.write("INFO has a \x0c form feed and ERROR\x1c separators\r\nINFO ok\r\n")
    scan = log.scan()
    assert (scan.lines_read, scan.matches) == (2, 1)


def test_chunk_and_long_line_boundaries(log, monkeypatch):
    """Tiny chunks and line cap: every line counted once, a line past the cap streamed whole (a match anywhere in
    it counts, as grep's would), offsets exact."""
    import opsproof.logs.errorlog as errorlog
    import opsproof.logs.matching as matching

    monkeypatch.setattr(errorlog, "CHUNK", 7)
    monkeypatch.setattr(errorlog, "MAX_LINE", 16)
    monkeypatch.setattr(matching, "SHOWN", 4)  # a long line's sample comes from its first piece: MAX_LINE >= SHOWN * 4
    text = ("ERROR a\nINFO b\nERROR this line is far longer than sixteen bytes\nINFO " + "y" * 40 + " ERROR beyond the cap\n"
            "ERROR c\nERROR partial")
    log.write(text)
    scan = log.scan()
    assert scan.lines_read == 5
    assert scan.sample == ["ERRO… [line of 7 characters, cut]", "ERRO… [line of 48 characters, cut]",
                           "INFO… [line of 66 characters, cut]", "ERRO… [line of 7 characters, cut]",
                           "ERRO… [line of 13 characters, cut] [last line, no newline yet: the writer may have crashed]"]
    assert scan.long_lines == 2 and scan.matches == 5
    assert scan.end_offset == len(text) - len("ERROR partial")
    log.write(" now done\nERROR finally\n")
    assert log.scan().sample == ["ERRO… [line of 13 characters, cut]"]


def test_missing_file_is_an_error_and_keeps_the_reference(local, tmp_path):
    scan, state = scan_errors(local, str(tmp_path / "nope.log"), PATTERN, {"inode": 7, "offset": 10})
    assert scan.error and "no such file" in scan.error
    assert state == {"inode": 7, "offset": 10}


def _write_big_log(path: Path, size_mb: int) -> tuple[int, int]:
    """size_mb MiB of log lines, an ERROR line in each MiB, and one 9 MiB line starting with ERROR."""
    line = b"2026-01-01T00:00:00Z INFO request served in 12 ms path=/api/v1/items status=200\n"
    block = line * (1024 * 1024 // len(line))
    block = block[: 1024 * 1024 - 64] + b"ERROR one per MiB".ljust(63, b".") + b"\n"
    assert len(block) == 1024 * 1024
    with open(path, "wb") as fh:
        for i in range(size_mb):
            fh.write(block)
            if i == size_mb // 2:
                fh.write(b"ERROR at the start of a 9 MiB line " + b"x" * (9 * 1024 * 1024) + b" ERROR again\n")
    return size_mb + 1, os.path.getsize(path)


_MEASURE = """
import json, sys, tracemalloc
import testinfra
from opsproof.logs.scan import scan_errors
from opsproof.hosts.target import Target
target = Target(testinfra.get_host("local://"), 60)
scan_errors(target, sys.argv[2], "x", {})  # warm up: imports and first allocations


def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key + ":"))


try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets the peak RSS (VmHWM) to the current RSS
    before = status("VmRSS")
except OSError:  # no /proc, or a kernel that refuses: the allocation peak still bounds the scan
    before = None
tracemalloc.start()
scan, _ = scan_errors(target, sys.argv[1], sys.argv[3], {})
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
growth = None if before is None else status("VmHWM") - before
print(json.dumps({"matches": scan.matches, "bytes_read": scan.bytes_read, "error": scan.error,
                  "peak_alloc": peak, "rss_before": before, "rss_growth": growth}))
"""


@pytest.mark.slow  # a fresh interpreter: mutation runs (tests/mutation_select.py) leave it out, it cannot see a mutant
def test_large_log_is_scanned_in_bounded_memory(tmp_path, record_property):
    """A fresh interpreter scans a 209 MiB log: its peak RSS grows by a small fraction of the file size."""
    path, small = tmp_path / "big.log", tmp_path / "small.log"
    small.write_text("INFO warm up\n")
    expected, size = _write_big_log(path, 200)
    try:
        out = subprocess.run([sys.executable, "-c", _MEASURE, str(path), str(small), PATTERN], capture_output=True,
                             text=True, timeout=120, check=True).stdout
    finally:
        path.unlink()
    m = json.loads(out)
    rss = "not measurable here" if m["rss_growth"] is None else f"grew {m['rss_growth'] / 2**20:.1f} MiB"
    print(f"scanned {size / 2**20:.0f} MiB: peak Python allocation {m['peak_alloc'] / 2**20:.1f} MiB, peak RSS {rss}")
    record_property("peak_alloc_mib", round(m["peak_alloc"] / 2**20, 1))
    assert m["error"] is None
    assert m["matches"] == expected, "one ERROR per MiB, and the 9 MiB line once"
    assert m["bytes_read"] == size
    assert m["peak_alloc"] < size / 8, f"peak allocation {m['peak_alloc'] / 2**20:.1f} MiB for {size / 2**20:.0f} MiB"
    if m["rss_growth"] is not None:
        record_property("rss_growth_mib", round(m["rss_growth"] / 2**20, 1))
        assert m["rss_growth"] < size / 8, f"peak RSS grew {rss} for {size / 2**20:.0f} MiB"


# --- the check, run as a suite --------------------------------------------------------------------------

def _config(tmp_path: Path, **logs) -> dict:
    return {"service": "errorlog-test", "root": str(tmp_path), "logs": {"error_log": "logs/error.log", **logs}}


def _outcome(suite, name="test_no_new_errors"):
    tests = [t for t in suite.summary()["tests"] if f"::{name}" in t["id"]]
    assert len(tests) == 1, tests
    return tests[0]


def test_suite_new_error_fails_then_next_run_passes(suite, tmp_path):
    """With logs.since: last_run a run counts only what came after the previous one (the default keeps failing
    until acknowledged: tests/test_errorlog_ack.py)."""
    (tmp_path / "logs").mkdir()
    error_log = tmp_path / "logs" / "error.log"
    error_log.write_text("2026-01-01T00:00:00Z INFO started\n2026-01-01T00:00:01Z ERROR payment gateway refused\n")
    suite.config(_config(tmp_path, since="last_run"))
    first = suite.run("-m", "postdeploy", CHECK, *FAST)
    assert first.ret == 1, first.stdout.str()
    test = _outcome(suite)
    assert test["outcome"] == "failed"
    assert "ERROR payment gateway refused" in test["message"]
    assert "is 1; logs.max_new_errors allows <= 0" in test["message"]
    assert (suite.path / ".opsproof").is_dir(), "the reference point lives in state_dir"

    second = suite.run("-m", "postdeploy", CHECK, *FAST)
    assert second.ret == 0, second.stdout.str()
    assert _outcome(suite)["outcome"] == "passed"

    with open(error_log, "a") as fh:
        fh.write("2026-01-01T00:00:02Z CRITICAL and another\n2026-01-01T00:00:03Z FATAL a third\n")
    suite.config(_config(tmp_path, max_new_errors=1, since="last_run"))
    third = suite.run("-m", "postdeploy", CHECK, *FAST)
    assert third.ret == 1
    test = _outcome(suite)
    assert "is 2; logs.max_new_errors allows <= 1" in test["message"]
    assert "CRITICAL and another" in test["message"] and "payment gateway" not in test["message"]


def test_suite_missing_error_log_fails(suite, tmp_path):
    suite.config(_config(tmp_path))
    result = suite.run("-m", "postdeploy", CHECK, *FAST)
    assert result.ret == 1, result.stdout.str()
    test = _outcome(suite)
    assert test["outcome"] == "failed"
    assert "logs/error.log" in test["message"] and "no such file" in test["message"]


def test_suite_without_logs_section_skips_with_reason(suite, tmp_path):
    suite.config({"service": "errorlog-test", "root": str(tmp_path)})
    result = suite.run("-m", "postdeploy", CHECK, *FAST)
    assert result.ret in (0, 5), result.stdout.str()
    test = _outcome(suite)
    assert test["outcome"] == "skipped"
    assert "no logs section in maintenance.yaml" in test["message"]
