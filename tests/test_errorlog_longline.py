"""The error-log scan in process, at its edges: lines past MAX_LINE streamed in windows, the read buffer, the deadline.

Small CHUNK, MAX_LINE, OVERLAP and EDGE (monkeypatched) put every cut of a long line's windows where the
tests want it; each case is also what tests/test_hostile.py checks on a 50 MB line in a fresh process.
These run in process, so mutation testing (scripts/mutation) sees them.
"""
from __future__ import annotations

import time
import tracemalloc
import warnings
from pathlib import Path

import pytest

import opsproof.logs.errorlog as errorlog
import opsproof.logs.matching as matching
from opsproof.logs.errorlog import scan_file


@pytest.fixture
def small(monkeypatch) -> None:
    """Reads of 64 bytes, lines over 100 bytes streamed, windows that keep 40 bytes, 8 bytes of edge."""
    for name, value in (("CHUNK", 64), ("MAX_LINE", 100), ("SLACK", 16)):
        monkeypatch.setattr(errorlog, name, value)
    for name, value in (("OVERLAP", 40), ("EDGE", 8), ("SHOWN", 20)):
        monkeypatch.setattr(matching, name, value)


def _range(path: Path, start: int, end: int, matcher) -> int:
    """errorlog._scan over [start, end) of a plain file."""
    with open(path, "rb", buffering=0) as fh:
        fh.seek(start)
        return errorlog._scan(fh, start, end, matcher, None)


def _scan(tmp_path: Path, data: bytes, pattern: str = "ERROR", previous: dict | None = None, **kw):
    path = tmp_path / "error.log"
    path.write_bytes(data)
    scan = scan_file(str(path), pattern, previous or {}, **kw)
    assert scan.error is None, scan.error
    return scan


def test_a_match_at_the_end_of_a_long_line_counts_once_with_its_length(tmp_path, small):
    data = b"INFO start\n" + b"x" * 1000 + b" ERROR y\nINFO after\n"
    scan = _scan(tmp_path, data)
    assert (scan.matches, scan.lines_read, scan.long_lines) == (1, 3, 1)
    assert scan.sample == ["x" * 20 + "… [line of 1008 characters, cut]"]
    assert scan.end_offset == scan.bytes_read == len(data)


def test_a_long_line_that_matches_early_still_reports_its_whole_length(tmp_path, small):
    scan = _scan(tmp_path, b"ERROR " + b"y" * 994 + b"\n" + b"ERROR short\n")
    assert scan.sample == ["ERROR " + "y" * 14 + "… [line of 1000 characters, cut]", "ERROR short"]
    assert (scan.matches, scan.long_lines, scan.lines_read) == (2, 1, 2)


def test_several_long_lines_among_short_ones(tmp_path, small):
    lines = [b"a" * 150, b"ERROR short", b"b" * 300 + b"ERROR", b"c" * 101, b"d" * 100, b"ERROR " + b"e" * 500]
    scan = _scan(tmp_path, b"\n".join(lines) + b"\n")
    assert (scan.lines_read, scan.long_lines, scan.matches) == (6, 4, 3)
    assert scan.sample[0] == "ERROR short"


def test_an_unfinished_long_line_waits_and_then_counts(tmp_path, small):
    head = b"INFO ok\n" + b"z" * 700 + b" ERROR"
    path = tmp_path / "error.log"
    path.write_bytes(head)
    first = scan_file(str(path), "ERROR", {})
    assert (first.matches, first.lines_read, first.long_lines, first.end_offset) == (1, 1, 0, len(b"INFO ok\n"))
    assert first.unterminated and first.resume["partial_counted"], "a match in the unfinished line counts at once"
    assert first.sample == ["z" * 20 + f"… [line of {len(head) - 8} characters, cut]" + errorlog._UNTERMINATED]
    with open(path, "ab") as fh:
        fh.write(b" done\nERROR next\n")
    second = scan_file(str(path), "ERROR", first.resume)
    assert (second.matches, second.lines_read, second.long_lines) == (1, 2, 1), "the finished line is not counted twice"
    assert second.end_offset == len(head) + len(b" done\nERROR next\n")
    assert second.sample == ["ERROR next"]
    again = scan_file(str(path), "ERROR", {"inode": first.inode, "offset": first.end_offset})
    assert (again.matches, again.sample[0]) == (2, "z" * 20 + f"… [line of {len(head) - 8 + 5} characters, cut]"), \
        "a reference that did not count it (the last run failed) counts it whole"


@pytest.mark.parametrize("pattern, where, expected", [
    (r"^ERROR", "start", 1), (r"^ERROR", "middle", 0), (r"^ERROR", "end", 0),
    (r"ERROR$", "end", 1), (r"ERROR$", "middle", 0), (r"ERROR$", "start", 0),
    (r"\bERROR\b", "glued", 0), (r"\bERROR\b", "spaced", 1), (r"\bERROR\b", "left", 0), (r"\bERROR\b", "right", 0),
])
def test_anchors_and_word_edges_hold_wherever_the_windows_are_cut(tmp_path, small, pattern, where, expected):
    """Every offset of the match within a 700-byte line: a cut never makes a line's edge (or a word's) of its own."""
    for k in range(0, 200):  # pieces of 64 bytes: windows start at 88 + 64 j, every alignment is covered
        body = b"y" * k
        rest = b"y" * (700 - k)
        line = {"start": b"ERROR" + body + rest, "middle": b"y" + body + b"ERROR" + rest,
                "end": body + rest + b"ERROR", "glued": body + b"ERROR" + rest,
                "spaced": body + b" ERROR " + rest, "left": b"y" + body + b"ERROR " + rest,
                "right": body + b" ERRORy" + rest}[where]
        scan = _scan(tmp_path, line + b"\n", pattern)
        assert (scan.matches, scan.long_lines) == (expected, 1), (pattern, where, k)


def test_a_match_across_a_read_boundary_is_found(tmp_path, small):
    for k in range(90, 300, 7):
        scan = _scan(tmp_path, b"y" * k + b"ERROR split over a read\n", "ERROR split")
        assert scan.matches == 1, k


def test_a_long_line_without_a_match(tmp_path, small):
    scan = _scan(tmp_path, b"y" * 5000 + b"\nERRO R\n")
    assert (scan.matches, scan.lines_read, scan.long_lines, scan.sample) == (0, 2, 1, [])


def test_a_line_longer_than_the_slack_grows_the_buffer_without_losing_a_byte(tmp_path, small):
    """Lines of 17 to 99 bytes carried over a read: the buffer grows; every line is read once, none streamed."""
    lines = [(b"ERROR " if i % 3 == 0 else b"INFO ") + bytes([97 + i % 26]) * (12 + i % 80) for i in range(88)]
    scan = _scan(tmp_path, b"\n".join(lines) + b"\n", keep_lines=100)
    assert (scan.lines_read, scan.long_lines, scan.matches) == (88, 0, 30)
    assert scan.sample == [line.decode()[:20] + (f"… [line of {len(line)} characters, cut]" if len(line) > 20 else "")
                           for line in lines if line.startswith(b"ERROR")]


def test_the_sample_keeps_keep_lines_and_cuts_a_long_one_at_shown(tmp_path, monkeypatch):
    monkeypatch.setattr(matching, "SHOWN", 10)
    scan = _scan(tmp_path, b"ERROR 1234\nERROR 12345\nERROR 3\r\nERROR 4\n", keep_lines=3)
    assert scan.matches == 4
    assert scan.sample == ["ERROR 1234", "ERROR 1234… [line of 11 characters, cut]", "ERROR 3"]


def test_a_scan_past_its_deadline_stops_with_an_error(tmp_path):
    path = tmp_path / "error.log"
    path.write_bytes(b"ERROR one\n" * 10)
    scan = scan_file(str(path), "ERROR", {}, deadline=time.monotonic() - 1)
    assert scan.error == f"cannot read {path}: stopped at offset 0: out of time (command_timeout_s)"
    assert scan_file(str(path), "ERROR", {}, deadline=time.monotonic() + 60).matches == 10


def test_an_empty_range_reads_nothing(tmp_path):
    path = tmp_path / "error.log"
    path.write_bytes(b"ERROR one\n")
    st = path.stat()
    scan = scan_file(str(path), "ERROR", {"inode": st.st_ino, "offset": st.st_size})
    assert (scan.matches, scan.lines_read, scan.bytes_read, scan.start_offset, scan.end_offset) == (0, 0, 0, 10, 10)
    assert scan.reference == "since the last run (offset 10)"


def test_a_directory_is_not_a_log(tmp_path):
    scan = scan_file(str(tmp_path), "ERROR", {})
    assert scan.error == f"{tmp_path} is not a regular file"


def test_a_shorter_match_just_after_a_rejected_one_is_found(tmp_path, small):
    """`Xa.{40}Z` running past a window's edge is left to the next window; `aQ` one byte later counts here."""
    for k in range(60, 200):
        scan = _scan(tmp_path, b"y" * k + b"XaQ" + b"y" * 39 + b"Z" + b"y" * (600 - k) + b"\n", r"Xa.{40}Z|aQ")
        assert scan.matches == 1, k


def test_invalid_utf8_in_a_long_line_is_replaced_not_fatal(tmp_path, small):
    """Undecodable bytes, and a character cut by a window's edge: replaced, the match still found and shown."""
    for k in range(100, 140):
        data = b"\xff" + "é".encode() * k + b"\xc3 ERROR \xe2\x82" + b"z" * 300 + b"\n"
        scan = _scan(tmp_path, data)
        assert scan.matches == 1, k
        assert scan.sample[0].startswith("\ufffdé"), scan.sample


def test_the_sample_strips_a_carriage_return_only(tmp_path):
    scan = _scan(tmp_path, b"ERROR X\r\nERROR Y\n\rERROR \r\r\n")
    assert scan.sample == ["ERROR X", "ERROR Y", "\rERROR "]


def test_an_empty_block_does_not_choose_the_rare_bytes():
    """The literal finder picks its rare bytes from the first block that has lines, not from an empty one."""
    matcher = matching.Matcher("ERROR", errorlog.ErrorScan("x", "ERROR"), 5)
    data = b"info line\n" * 500 + b"an ERROR\n"
    matcher.block(data, 10, 10)
    assert matcher.literals.anchors is None and matcher.scan.lines_read == 0
    matcher.block(data, 0, len(data))
    assert matcher.literals.anchors is not None and matcher.literals.anchors != [None]
    assert (matcher.scan.lines_read, matcher.scan.matches) == (501, 1)


def test_the_scan_stops_at_the_size_it_was_given(tmp_path):
    """Lines appended after the stat wait for the next run: the read ends at the stat's size, complete lines only."""
    path = tmp_path / "error.log"
    path.write_bytes(b"ERROR one\nERROR two\nERROR 3\n")  # the last line: appended after the stat
    scan = errorlog.ErrorScan(str(path), "ERROR")
    matcher = matching.Matcher("ERROR", scan, 5)
    assert _range(path, 0, 15, matcher) == 10   # "ERROR two" is cut at 15: not complete (counted, as unfinished)
    assert (scan.matches, scan.lines_read, scan.bytes_read, scan.unterminated) == (2, 1, 10, True)
    scan.matches, scan.sample = 1, scan.sample[:1]
    assert _range(path, 10, 20, matcher) == 20
    assert (scan.matches, scan.sample) == (2, ["ERROR one", "ERROR two"])


def test_a_scan_warns_about_nothing(tmp_path):
    path = tmp_path / "error.log"
    path.write_bytes(b"ERROR one\n" * 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert scan_file(str(path), "ERROR", {}).matches == 100


def test_a_file_shorter_than_its_stat_ends_the_read_at_its_end(tmp_path):
    """Truncated between the stat and the read: what is there is read, and the offset is where it ends."""
    path = tmp_path / "error.log"
    path.write_bytes(b"ERROR one\nINFO two\n")
    scan = errorlog.ErrorScan(str(path), "ERROR")
    assert _range(path, 0, 1000, matching.Matcher("ERROR", scan, 5)) == 19
    assert (scan.matches, scan.lines_read, scan.bytes_read) == (1, 2, 19)


def test_empty_lines_where_a_read_begins(tmp_path, small):
    """A read that starts with a newline (an empty line) ends the line before it; it is never taken for a long one."""
    scan = _scan(tmp_path, b"\nERROR a\n")
    assert (scan.lines_read, scan.matches, scan.end_offset) == (2, 1, 9)
    scan = _scan(tmp_path, b"x" * 63 + b"\n" + b"\n" + b"ERROR b\n" * 20)  # the second read starts with "\n"
    assert (scan.lines_read, scan.matches, scan.long_lines) == (22, 20, 0)


def test_reads_larger_than_the_line_cap(tmp_path, monkeypatch):
    """With reads longer than MAX_LINE, a read that begins with an empty line holds no long line."""
    monkeypatch.setattr(errorlog, "CHUNK", 256)
    monkeypatch.setattr(errorlog, "MAX_LINE", 100)
    scan = _scan(tmp_path, b"\n" + b"ERROR x\n" * 40 + b"y" * 300 + b" ERROR\n")
    assert (scan.lines_read, scan.matches, scan.long_lines) == (42, 41, 1)


def test_a_line_without_its_newline_is_streamed_once_past_the_cap(tmp_path, small):
    """Memory: a 300 KB line not yet ended is held as windows, not whole (MAX_LINE + a read at most)."""
    path = tmp_path / "error.log"
    path.write_bytes(b"ERROR warm up\n")
    scan_file(str(path), "ERROR", {})
    path.write_bytes(b"INFO start\n" + b"x" * 300_000 + b" ERROR")
    tracemalloc.start()
    try:
        scan = scan_file(str(path), "ERROR", {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (scan.matches, scan.lines_read, scan.end_offset, scan.unterminated) == (1, 1, 11, True)
    assert peak < 50_000, f"peak allocation {peak} bytes for a 300 KB line"


def test_the_evidence_names_the_file_and_pattern_and_keeps_20_lines_by_default(tmp_path):
    scan = _scan(tmp_path, b"".join(b"ERROR %d\n" % i for i in range(25)), "ERR(OR)")
    assert (scan.path, scan.pattern, scan.matches) == (str(tmp_path / "error.log"), "ERR(OR)", 25)
    assert scan.sample == [f"ERROR {i}" for i in range(20)]


def test_a_log_that_cannot_be_stat_says_why(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    assert scan_file(str(tmp_path / "nope.log"), "ERROR", {}).error == f"cannot read {tmp_path / 'nope.log'}: no such file"
    below = tmp_path / "file" / "error.log"
    assert scan_file(str(below), "ERROR", {}).error == f"cannot read {below}: Not a directory"


def test_a_reference_without_an_offset_reads_from_the_start(tmp_path):
    path = tmp_path / "error.log"
    path.write_bytes(b"ERROR one\n")
    scan = scan_file(str(path), "ERROR", {"inode": path.stat().st_ino})
    assert (scan.start_offset, scan.matches, scan.reference) == (0, 1, "since the last run (offset 0)")
