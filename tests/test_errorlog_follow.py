"""Where the file the last scan read is now (opsproof.logs.follow), and what the scan makes of it, in process.

The reference point's fingerprints (a grown file past both of them, a compressed copy skipped through, a copy
with the same head but other bytes before the offset), references from before fingerprints (the inode alone),
the decompressing tool's exit status, the order copies are tried in, and last lines without their newline in
a rotated copy (a whole line there: the file grows no more). Real files in tmp_path; a deadline is driven by a
clock that advances one second per look, never by the wall clock.
"""
from __future__ import annotations

import builtins
import bz2
import gzip
import hashlib
import io
import lzma
import os
import shutil
import subprocess
import types
import zlib
from pathlib import Path

import pytest

from opsproof.logs import errorlog, follow
from opsproof.logs.matching import MAX_LINE

from helpers import require_tool
from helpers.logfiles import RotatingLog, count_preads

NOTE = " [last line, no newline yet: the writer may have crashed]"


Log = RotatingLog


@pytest.fixture
def log(tmp_path: Path) -> Log:
    return Log(tmp_path / "error.log")


class Clock:
    """time for errorlog: monotonic() is 1, 2, 3, ... one per look."""

    def __init__(self) -> None:
        self.now = 0

    def monotonic(self) -> float:
        self.now += 1
        return float(self.now)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """errorlog's own deadline checks on the clock; the search for the copy (follow's checks) never stops."""
    fake = Clock()
    monkeypatch.setattr(errorlog, "time", fake)
    monkeypatch.setattr(errorlog, "_checker", lambda _deadline: lambda _done: None)
    return fake


def no_module(monkeypatch, tmp_path: Path, keep_path: bool = True) -> None:
    """Compressed copies other than .gz read by the tool on PATH (or by nothing, with keep_path=False)."""
    real = follow._module_opener
    monkeypatch.setattr(follow, "_module_opener", lambda c: real(c) if c == ".gz" else None)
    if not keep_path:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))


# --- last lines without their newline -------------------------------------------------------------------------


def test_a_counted_partial_line_once_finished_is_not_counted_again_and_the_next_lines_are(log):
    log.write("INFO a\nERROR partial")
    first = log.scan()
    assert (first.matches, first.unterminated, first.resume["partial_counted"]) == (1, True, True)
    log.write(" done\nERROR second\nERROR third")
    scan = log.scan()
    assert scan.sample == ["ERROR second", "ERROR third" + NOTE]
    assert (scan.matches, scan.lines_read, scan.unterminated) == (2, 2, True)


def test_a_rotated_copy_ending_without_a_newline_is_read_whole(log):
    log.write("INFO a\n")
    log.scan()
    log.write("ERROR b\nERROR last")
    log.rotate(("", ".1"))
    log.write("INFO new\n")
    scan = log.scan()
    assert scan.sample == ["ERROR b", "ERROR last"], "a rotated copy grows no more: its last line is whole"
    assert (scan.matches, scan.lines_read, scan.unterminated) == (2, 3, False)
    assert scan.bytes_read == len("ERROR b\nERROR last") + len("INFO new\n")
    assert scan.resume["partial_counted"] is False
    assert scan.inode == os.stat(log.path).st_ino


def test_a_newer_rotation_ending_without_a_newline_is_read_whole(log):
    log.write("INFO a\n")
    log.scan()
    log.write("INFO b\n")
    log.rotate(("", ".2"))
    log.write("INFO c\nERROR end", ".1")
    log.write("INFO new\n")
    scan = log.scan()
    assert scan.reference.endswith(f"and all of {log.path}.1")
    assert (scan.sample, scan.lines_read, scan.unterminated) == (["ERROR end"], 4, False)
    assert scan.bytes_read == len("INFO b\n") + len("INFO c\nERROR end") + len("INFO new\n")


def test_a_counted_partial_line_finished_in_the_rotated_copy_is_not_counted_again(log):
    log.write("ERROR a")
    assert log.scan().matches == 1
    log.write(" ERROR b\n")
    log.rotate(("", ".1"))
    log.write("INFO new\n")
    scan = log.scan()
    assert (scan.matches, scan.lines_read) == (0, 2), scan.sample


def test_a_counted_partial_line_still_unfinished_in_the_rotated_copy_is_not_counted_again(log):
    log.write("ERROR a")
    assert log.scan().matches == 1
    log.write(" ERROR more")
    log.rotate(("", ".1"))
    log.write("INFO new\nINFO newer\n")
    scan = log.scan()
    assert (scan.matches, scan.lines_read, scan.unterminated) == (0, 3, False), scan.sample


def test_a_long_last_line_without_a_match_is_not_a_match(log):
    log.write("INFO a\n" + "x" * (MAX_LINE + 10))
    scan = log.scan()
    assert (scan.matches, scan.unterminated, scan.end_offset) == (0, False, len("INFO a\n"))


def test_a_long_last_line_of_a_rotated_copy_is_read_whole(log):
    log.write("INFO a\n")
    log.scan()
    log.write("ERROR " + "x" * MAX_LINE)
    log.rotate(("", ".1"))
    log.write("INFO new\n")
    scan = log.scan()
    assert (scan.matches, scan.long_lines, scan.unterminated) == (1, 1, False)
    assert scan.sample == ["ERROR " + "x" * 494 + f"… [line of {MAX_LINE + 6} characters, cut]"]


def test_undecodable_bytes_in_an_unterminated_last_line_are_replaced(log):
    log.write(b"INFO a\nERROR \xff\xfe")
    assert log.scan().sample == ["ERROR \ufffd\ufffd" + NOTE]


def test_undecodable_bytes_in_a_long_unterminated_last_line_are_replaced(log):
    log.write(b"ERROR \xff" + b"x" * (MAX_LINE + 10))
    scan = log.scan()
    assert scan.sample == ["ERROR \ufffd" + "x" * 493 + f"… [line of {MAX_LINE + 17} characters, cut]" + NOTE]


# --- the deadline, in the rotated copies ----------------------------------------------------------------------


def test_the_deadline_stops_the_rest_of_the_last_read_file(log, clock):
    log.write("INFO a\n")
    log.scan()
    log.write("ERROR b\n")
    log.rotate(("", ".1"))
    log.write("INFO new\n")
    scan = log.scan(deadline=0.5)
    assert scan.error == f"cannot read {log.path}: stopped at offset 7: out of time (command_timeout_s)"


def test_the_deadline_stops_a_rotation_read_whole(log, clock):
    log.write("INFO a\n")
    log.scan()
    os.remove(log.path)
    log.write("ERROR in a newer copy\n", ".1")
    log.write("INFO new\n")
    log.state["at"] = os.stat(log.at(".1")).st_mtime - 60
    scan = log.scan(deadline=0.5)
    assert scan.error == f"cannot read {log.path}: stopped at offset 0: out of time (command_timeout_s)"


def test_a_tool_stopped_by_the_deadline_is_out_of_time_not_a_damaged_copy(log, tmp_path, monkeypatch, clock):
    require_tool("bzip2")
    no_module(monkeypatch, tmp_path)
    log.write("INFO a\n")
    log.scan()
    os.remove(log.path)
    log.write(b"INFO filler line\n" * 60_000, ".1")     # 1 MiB decompressed: more than a read and a pipe hold
    log.compress(".1", bz2.open, ".bz2")
    log.write("INFO new\n")
    log.state["at"] = os.stat(log.at(".1.bz2")).st_mtime - 60
    scan = log.scan(deadline=2.5)                       # the first read is done, the second look is too late
    assert scan.error.startswith(f"cannot read {log.path}: stopped at offset "), scan.error
    assert scan.error.endswith(": out of time (command_timeout_s)"), scan.error
    assert not any("bzip2" in line for line in scan.unread), scan.unread


# --- which copy, when the last-read file is not where it was ----------------------------------------------------


def test_rotations_written_since_the_reference_time_are_read_when_the_file_is_gone(log):
    log.write("INFO a\n")
    log.scan()
    os.remove(log.path)
    log.write("ERROR older\n", ".2")
    log.write("ERROR newer\n", ".1")
    os.utime(log.at(".2"), (999_000, 999_000))
    os.utime(log.at(".1"), (1_001_000, 1_001_000))
    log.write("INFO new\n")
    log.state["at"] = 1_000_000.0
    scan = log.scan()
    assert scan.sample == ["ERROR newer"]
    assert scan.reference.endswith(f"and all of {log.path}.1")


def test_a_newer_rotation_that_cannot_be_read_is_unread(log):
    log.write("INFO a\n")
    log.scan()
    log.write("INFO b\n")
    log.rotate(("", ".2"))
    log.write(b"not gzip at all\n", ".1.gz")
    log.write("ERROR new\n")
    scan = log.scan()
    assert scan.unread == [f"could not read {log.path}.1.gz, written after the last run: Not a gzipped file (b'no')"]
    assert scan.reference == (f"file was rotated: read from the start of the new file, and {log.path}.2 from offset 7")
    assert scan.sample == ["ERROR new"]


def test_every_copy_that_could_not_be_read_is_named(log, tmp_path, monkeypatch):
    log.write("INFO a\n")
    log.scan()
    os.remove(log.path)
    log.write(b"x", ".1.zst")
    log.write(b"x", ".2.zst")
    log.write("INFO new\n")
    no_module(monkeypatch, tmp_path, keep_path=False)
    scan = log.scan()
    assert scan.unread == [f"could not read what {log.path} got after the last run (past byte 7): no file here holds "
                           f"it any more (no zstd on this host to read {log.path}.1.zst; no zstd on this host to read "
                           f"{log.path}.2.zst)"]


def test_an_unreadable_copy_is_passed_over_for_the_one_that_holds_the_file(log, tmp_path, monkeypatch):
    log.write("INFO a\n")
    log.scan()
    log.write("ERROR b\n")
    log.rotate(("", ".2"))
    log.compress(".2")
    log.write(b"x", ".1.zst")
    log.write("INFO new\n")
    no_module(monkeypatch, tmp_path, keep_path=False)
    scan = log.scan()
    assert (scan.rotated_from, scan.sample) == (f"{log.path}.2.gz", ["ERROR b"])
    assert scan.unread == [f"could not read {log.path}.1.zst, written after the last run: no zstd on this host to "
                           f"read {log.path}.1.zst"]


def test_a_damaged_copy_is_passed_over_for_the_one_that_holds_the_file(log):
    log.write("INFO a\n")
    log.scan()
    log.write("ERROR b\n")
    log.rotate(("", ".2"))
    log.compress(".2")
    log.write(b"not gzip at all\n", ".1.gz")
    log.write("INFO new\n")
    scan = log.scan()
    assert (scan.rotated_from, scan.sample) == (f"{log.path}.2.gz", ["ERROR b"])
    assert scan.unread == [f"could not read {log.path}.1.gz, written after the last run: Not a gzipped file (b'no')"]


def test_the_renamed_file_is_taken_before_a_copy_holding_the_same_bytes(log):
    """NAME.1 is a copy taken at the offset (logrotate's `copy`); the file itself, renamed later, got more."""
    log.write("INFO a\n")
    log.scan()
    shutil.copyfile(log.path, log.at(".1"))
    log.write("ERROR late\n")
    log.rotate(("", ".2"))
    log.write("ERROR new\n")
    scan = log.scan()
    assert scan.rotated_from == f"{log.path}.2"
    assert scan.sample == ["ERROR late", "ERROR new"]


def test_dateext_rotations_after_the_file_are_read_oldest_first(log):
    log.write("INFO a\n")
    log.scan()
    log.write("ERROR first\n")
    log.rotate(("", "-20260101"))
    log.write("ERROR second\n", "-20260102")
    log.write("ERROR third\n", "-20260103")
    log.write("ERROR fourth\n", "-20260104")
    log.write("ERROR new\n")
    scan = log.scan()
    assert scan.sample == ["ERROR first", "ERROR second", "ERROR third", "ERROR fourth", "ERROR new"]


def test_each_numbered_rotation_gone_in_between_is_named(log):
    log.write("INFO a\n")
    log.scan()
    log.rotate(("", ".4"))
    log.write("ERROR newest rotation\n", ".1")
    log.write("INFO new\n")
    scan = log.scan()
    assert scan.rotated_from == f"{log.path}.4"
    assert scan.unread == [f"{log.path}.{n} is gone: what it held after the last run was not read" for n in (3, 2)]


def test_a_relative_path_whose_folder_cannot_be_listed_says_which(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    log = Log(Path("error.log"))
    log.write("INFO a\n")
    log.scan()
    log.rotate(("", ".1"))
    log.write("ERROR new\n")
    monkeypatch.setattr(os, "listdir", lambda _d: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    assert log.scan().unread == ["could not read what error.log got after the last run (past byte 7): no file here "
                                 "holds it any more (cannot list .: Permission denied)"]


# --- fingerprints: where they are taken, and both must match ----------------------------------------------------


@pytest.mark.parametrize("size", [1500, 5000])
def test_a_grown_file_is_read_from_the_offset(log, size):
    log.write("I" * (size - 1) + "\n")
    assert log.scan().end_offset == size
    log.write("ERROR grown\n")
    scan = log.scan()
    assert (scan.reference, scan.sample) == (f"since the last run (offset {size})", ["ERROR grown"])


@pytest.mark.parametrize("size", [1500, 5000])
@pytest.mark.parametrize("copy", ["plain", "gzip", "bzip2 by the tool"])
def test_a_rotated_copy_is_read_from_the_offset(log, tmp_path, monkeypatch, size, copy):
    """NAME.1 plain (as logrotate leaves it with delaycompress), gzip'd by Python's module, or bzip2'd with only the
    tool to read it: found by its fingerprints, then read from the offset, nothing left unread."""
    if copy == "bzip2 by the tool":
        require_tool("bzip2")
        no_module(monkeypatch, tmp_path)
    log.write("I" * (size - 1) + "\n")
    log.scan()
    log.write("ERROR tail\n")
    log.rotate(("", ".1"))
    suffix = {"plain": "", "gzip": ".gz", "bzip2 by the tool": ".bz2"}[copy]
    if copy == "gzip":
        log.compress(".1")
    elif suffix:
        log.compress(".1", bz2.open, ".bz2")
    log.write("ERROR new\n")
    scan = log.scan()
    assert (scan.rotated_from, scan.sample, scan.unread) == (f"{log.path}.1{suffix}", ["ERROR tail", "ERROR new"], [])


@pytest.mark.parametrize("copy", ["A" * 1024 + "C" * 1500, "C" * 1024 + "B" * 1500],
                         ids=["same head, other bytes before the offset", "other head, same bytes before the offset"])
def test_a_copy_as_long_is_not_the_file_unless_both_fingerprints_match(log, copy):
    log.write("A" * 1024 + "B" * 1500 + "\n")
    log.scan()
    os.remove(log.path)
    log.write(copy + "\nERROR not this file's\n", ".1")
    log.write("INFO new\n")
    scan = log.scan()
    assert (scan.matches, scan.rotated_from) == (0, None)
    assert len(scan.unread) == 1 and scan.unread[0].startswith("could not read what")


def test_a_file_rewritten_in_place_with_the_same_head_is_read_from_its_start(log):
    log.write("H" * 1099 + "\n" + "T" * 999 + "\n")
    log.scan()
    with open(log.path, "r+b") as fh:
        fh.truncate(0)
        fh.write(b"H" * 1099 + b"\n" + b"ERROR before the offset\n" + b"U" * 975 + b"\n" + b"INFO after\n")
    scan = log.scan()
    assert scan.reference.startswith("file was truncated or replaced in place: read from its start")
    assert scan.sample == ["ERROR before the offset"]


def test_a_new_file_starting_like_the_old_one_is_not_taken_for_it(log):
    log.write("INFO starting\n")
    log.scan()
    log.write("ERROR tail\n")
    log.rotate(("", ".1"))
    log.write("INFO starting\nERROR new\n")
    scan = log.scan()
    assert (scan.rotated_from, scan.sample) == (f"{log.path}.1", ["ERROR tail", "ERROR new"])


def test_the_same_inode_on_another_device_is_another_file(log):
    log.write("INFO a\n")
    mark = log.scan().resume
    log.write("ERROR b\n")
    log.state = {**mark, "dev": mark["dev"] + 1}
    scan = log.scan()
    assert scan.reference == "file was rotated: read from the start of the new file"
    assert scan.sample == ["ERROR b"]
    st = os.stat(log.path)
    with open(log.path, "rb") as fh:
        assert not follow.is_current(fh.fileno(), st, {**mark, "dev": st.st_dev + 1})
        assert follow.is_current(fh.fileno(), st, mark)


def test_a_reference_whose_tail_reaches_before_the_file_start_is_not_this_file(log):
    """No mark is written so (its tail stops at its offset); a state file edited by hand is not taken for the file,
    and the check reads no byte before the start (pread of a negative offset would raise)."""
    log.write("INFO a\n" * 10)
    mark = log.scan().resume
    st = os.stat(log.path)
    with open(log.path, "rb") as fh:
        assert follow.is_current(fh.fileno(), st, {**mark, "tail_len": mark["offset"] + 1}) is False
        assert follow.is_current(fh.fileno(), st, mark) is True


def test_a_recheck_opens_the_log_once_and_reads_both_fingerprints_from_that_descriptor(log, monkeypatch):
    """The check that it is the file last read, the read from the offset and the new reference point share one
    open: the fingerprints (checked, then taken anew) are four 1 KiB preads, and the file is not opened again."""
    log.write("INFO a\n" * 400)
    log.scan()
    log.write("ERROR b\n")
    opened: list[str] = []
    real = builtins.open

    def counting(file, *args, **kwargs):
        opened.append(str(file))
        return real(file, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", counting)
    preads = count_preads(monkeypatch)
    scan = log.scan()
    assert (scan.reference, scan.sample) == ("since the last run (offset 2800)", ["ERROR b"])
    assert opened == [str(log.path)]
    assert preads == [1024] * 4


# --- references from before fingerprints: the inode and offset alone ------------------------------------------


def test_an_old_reference_finds_the_renamed_file_by_its_inode(log):
    log.write("INFO a\n")
    log.state = {"inode": os.stat(log.path).st_ino, "offset": 7}
    log.write("ERROR b\n")
    log.rotate(("", ".1"))
    log.write("ERROR new\n")
    scan = log.scan()
    assert (scan.rotated_from, scan.sample, scan.unread) == (f"{log.path}.1", ["ERROR b", "ERROR new"], [])


def test_an_old_reference_takes_a_renamed_file_with_nothing_after_the_offset(log):
    log.write("INFO a\n")
    log.state = {"inode": os.stat(log.path).st_ino, "offset": 7}
    log.rotate(("", ".1"))
    log.write("ERROR new\n")
    scan = log.scan()
    assert (scan.rotated_from, scan.sample, scan.unread) == (f"{log.path}.1", ["ERROR new"], [])


def test_an_old_reference_takes_no_copy_with_another_inode(log):
    log.write("INFO a\n")
    log.state = {"inode": os.stat(log.path).st_ino, "offset": 7}
    log.write("INFO other\nERROR other\n", ".1")      # written before the log goes: no inode of its to reuse
    log.write("INFO other\nERROR other\n", ".2")
    log.compress(".2")
    os.rename(log.path, log.path.parent / "kept elsewhere")   # its inode stays taken: the new log gets another
    log.write("INFO new\n")
    scan = log.scan()
    assert (scan.rotated_from, scan.matches) == (None, 0)
    assert len(scan.unread) == 1


def test_an_old_reference_to_a_file_truncated_in_place(log):
    log.write("INFO a long first line\n" * 4)
    log.state = {"inode": os.stat(log.path).st_ino, "offset": 96}
    with open(log.path, "r+b") as fh:
        fh.truncate(0)
        fh.write(b"ERROR b\n")
    scan = log.scan()
    assert scan.reference.startswith("file was truncated or replaced in place: read from its start")
    assert scan.sample == ["ERROR b"]


# --- the scan's end: where the file was when the scan started ---------------------------------------------------


def test_the_scan_stops_at_the_size_it_started_with(log, monkeypatch):
    """A writer appending while the scan reads: what came after the size seen at the start is the next run's."""
    log.write("ERROR one\n")
    real = os.stat

    def stale(path, *args, **kwargs):
        st = real(path, *args, **kwargs)
        return os.stat_result((*st[:6], 10, *st[7:])) if str(path) == str(log.path) else st

    log.write("ERROR two\n")
    monkeypatch.setattr(errorlog, "os", types.SimpleNamespace(stat=stale))
    scan = log.scan()
    assert (scan.end_offset, scan.sample) == (10, ["ERROR one"])


# --- follow's parts ---------------------------------------------------------------------------------------------


def test_the_read_errors_include_each_decompressors():
    assert follow._errors() == follow.READ_ERRORS
    assert {OSError, EOFError, ValueError, zlib.error, lzma.LZMAError} == set(follow.READ_ERRORS)


def test_a_mark_holds_the_inode_device_offset_and_both_fingerprints(tmp_path):
    path = tmp_path / "log"
    data = bytes(range(256)) * 12
    path.write_bytes(data)
    st = os.stat(path)
    expected = {"inode": st.st_ino, "dev": st.st_dev, "offset": 3000,
                "head": hashlib.sha256(data[:1024]).hexdigest()[:32], "head_len": 1024,
                "tail": hashlib.sha256(data[1976:3000]).hexdigest()[:32], "tail_len": 1024}
    assert follow.mark(str(path), 3000) == expected
    assert follow.mark(str(path), 3000, st) == expected


def test_a_log_cut_short_between_the_scan_and_its_new_mark_keeps_no_reference_point(log, monkeypatch):
    """Truncated in place after the scan read it: the fingerprints cannot be taken at the offset reached, so the scan
    says so (and the caller keeps the last reference point) rather than recording one for bytes that are gone."""
    log.write("INFO a\n" * 400)
    real = errorlog._scan

    def scan_then_cut(*args, **kwargs):
        end = real(*args, **kwargs)
        os.truncate(log.path, 100)
        return end
    monkeypatch.setattr(errorlog, "_scan", scan_then_cut)
    scan = log.scan()
    assert (scan.error, scan.resume) == (f"cannot read {log.path}: {log.path} shrank while it was read", {})


def test_a_mark_past_the_end_of_a_file_that_shrank_is_refused(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"x" * 1500)
    with pytest.raises(OSError, match=f"^{path} shrank while it was read$"):
        follow.mark(str(path), 3000)


def test_mark_end(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"INFO a\n" * 10)
    assert follow.mark_end(str(path)) == follow.mark(str(path), 70)
    assert follow.mark_end(str(tmp_path)) == {"error": f"{tmp_path} is not a regular file"}
    assert follow.mark_end(str(tmp_path / "gone")) == {"error": f"{tmp_path}/gone does not exist"}
    assert follow.mark_end(f"{path}/x") == {"error": f"cannot read {path}/x: Not a directory"}


class Dribble(io.RawIOBase):
    """A stream that gives at most 3 bytes a read (a pipe can)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, n: int = -1) -> bytes:
        piece, self.data = self.data[:min(n, 3)], self.data[min(n, 3):]
        return piece


def test_read_exactly_collects_short_reads_up_to_n():
    assert follow.read_exactly(Dribble(b"0123456789"), 8) == b"01234567"
    assert follow.read_exactly(Dribble(b"0123"), 8) == b"0123"


def test_skip_drops_n_bytes_in_steps_and_looks_at_the_deadline_before_each():
    step = follow.STEP
    stream, looks = io.BytesIO(b"x" * (3 * step) + b"rest"), []
    assert follow.skip(stream, 2 * step + 10, looks.append) == 2 * step + 10
    assert looks == [0, step, 2 * step]
    assert stream.read() == b"x" * (step - 10) + b"rest"
    assert follow.skip(io.BytesIO(b"short"), 100) == 5


def test_the_deadline_is_looked_at_while_reading_up_to_an_offset_inside_the_first_kib(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"x" * 1500)
    ref, looks = follow.mark(str(path), 1500), []

    def check(done: int) -> None:
        looks.append(done)
        if len(looks) > 1:
            raise TimeoutError("out of time")

    with open(path, "rb") as fh, pytest.raises(TimeoutError):
        follow._same(fh, ref, check, plain=False)


def test_the_deadline_is_looked_at_in_each_part_of_a_compressed_copy(tmp_path):
    """The head, each step skipped through, and the bytes before the offset."""
    step = follow.STEP
    data = b"x" * (3 * step)
    (tmp_path / "log").write_bytes(data)
    ref, looks = follow.mark(str(tmp_path / "log"), len(data)), []
    stream = io.BytesIO(data)
    assert follow._same(stream, ref, looks.append, plain=False)
    assert looks == [0, 0, step, 2 * step, 0]


def test_a_copy_that_ends_before_the_offset_is_not_the_file(log, tmp_path, monkeypatch):
    """The reference an acknowledgement records, at the end of a file whose last line has no newline yet; the copy
    is compressed from the file's first 1 500 bytes: its head matches, and it stops before the bytes before the
    offset (a tool's stream at its end gives nothing more, never padding)."""
    require_tool("bzip2")
    no_module(monkeypatch, tmp_path)
    log.write("H" * 1023 + "\n" + "X" * 3000)
    log.state = follow.mark_end(str(log.path))
    head = Path(log.path).read_bytes()[:1500]
    os.rename(log.path, log.path.parent / "kept elsewhere")
    Path(log.at(".1.bz2")).write_bytes(bz2.compress(head))
    log.write("INFO new\n")
    scan = log.scan()
    assert (scan.rotated_from, len(scan.unread)) == (None, 1), scan.reference


def test_a_tool_is_waited_for_after_its_output_ends(log, tmp_path, monkeypatch):
    """A tool whose output has ended is not killed: its exit status is what says the copy was whole (this one
    closes its output, then takes a moment to exit 0)."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "bzip2").write_text('#!/bin/sh\nbzip2_real="$(PATH=/usr/bin:/bin command -v bzip2)"\n'
                                 '"$bzip2_real" "$@"\nexec >&-\nsleep 1\n')
    (tools / "bzip2").chmod(0o755)
    require_tool("bzip2")
    no_module(monkeypatch, tmp_path)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    log.write("INFO a\n")
    log.scan()
    log.write("ERROR b\n")
    log.rotate(("", ".1"))
    log.compress(".1", bz2.open, ".bz2")
    log.write("INFO new\n")
    scan = log.scan()
    assert (scan.rotated_from, scan.sample, scan.unread) == (f"{log.path}.1.bz2", ["ERROR b"], [])


def test_a_tools_complaint_that_is_not_utf8_is_quoted_with_replacements(tmp_path, monkeypatch):
    require_tool("bzip2")
    no_module(monkeypatch, tmp_path)
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/logs-\xff"))
    folder.mkdir()
    log = Log(folder / "error.log")
    log.write("INFO a\n")
    log.scan()
    log.write("INFO b\n")
    log.rotate(("", ".2"))
    Path(log.at(".1.bz2")).write_bytes(bz2.compress(b"ERROR x\n" * 1000)[:-20])
    log.write("INFO new\n")
    said = subprocess.run(["bzip2", "-dc", "--", log.at(".1.bz2")], capture_output=True).stderr
    assert b"\xff" in said
    (unread,) = log.scan().unread
    assert unread.endswith(f"failed: {said.decode(errors='replace').strip()[-200:]}")


def test_the_module_for_each_compression():
    assert (follow._module_opener(".gz"), follow._module_opener(".bz2"), follow._module_opener(".xz")) == (
        gzip.open, bz2.open, lzma.open)
    assert follow._module_opener("") is None


def test_a_compression_with_neither_module_nor_tool_is_unreadable(tmp_path, monkeypatch):
    monkeypatch.setattr(follow, "_module_opener", lambda _c: None)
    with pytest.raises(follow.Unreadable, match=f"^no decompressor on this host to read {tmp_path}/x.gz$"):
        follow.open_stream(f"{tmp_path}/x.gz", ".gz")


def test_a_damaged_copy_read_by_the_tool_is_unread_with_the_tools_complaint(log, tmp_path, monkeypatch):
    require_tool("bzip2")
    no_module(monkeypatch, tmp_path)
    log.write("INFO a\n")
    log.scan()
    log.write("INFO b\n")
    log.rotate(("", ".2"))
    with bz2.open(log.at(".1.bz2"), "wb") as fh:
        fh.write(b"ERROR in the damaged copy\n" * 1000)
    damaged = log.at(".1.bz2")
    Path(damaged).write_bytes(Path(damaged).read_bytes()[:-20])
    log.write("INFO new\n")
    said = subprocess.run(["bzip2", "-dc", "--", damaged], capture_output=True).stderr.decode().strip()[-200:]
    scan = log.scan()
    assert scan.unread == [f"could not read {damaged}, written after the last run: bzip2 -dc -- {damaged} failed: "
                           f"{said}"]


def test_a_short_damaged_candidate_read_by_the_tool_is_named(log, tmp_path, monkeypatch):
    require_tool("bzip2")
    no_module(monkeypatch, tmp_path)
    log.write("INFO a\n")
    log.scan()
    os.remove(log.path)
    Path(log.at(".1.bz2")).write_bytes(bz2.compress(b"INFO other\n")[:-8])
    log.write("INFO new\n")
    (unread,) = log.scan().unread
    assert f"(bzip2 -dc -- {log.path}.1.bz2 failed: " in unread


def test_a_tool_stopped_early_on_purpose_is_not_a_damaged_copy(log, tmp_path, monkeypatch):
    """A candidate that is not the file is left after its first KiB: the tool is stopped, not taken for failing."""
    require_tool("bzip2")
    no_module(monkeypatch, tmp_path)
    log.write("INFO a\n")
    log.scan()
    os.remove(log.path)
    with bz2.open(log.at(".1.bz2"), "wb") as fh:
        fh.write(b"INFO another file\n" * 60_000)
    log.write("INFO new\n")
    assert log.scan().unread == [f"could not read what {log.path} got after the last run (past byte 7): no file here "
                                 "holds it any more (it was deleted, or truncated in place with no copy kept)"]
