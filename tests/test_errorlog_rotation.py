"""The error-log scan across rotations, in process: which files it reads, and the reference it says it used.

logrotate's numbering (NAME.1 newest), dateext names, compressed copies, a relative path, and the deadline
reaching the rotated files too. Exact reference strings: the evidence an auditor reads.
"""
from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest

from opsproof.logs.errorlog import scan_file

from helpers.logfiles import RotatingLog


Log = RotatingLog


@pytest.fixture
def log(tmp_path: Path) -> Log:
    return Log(tmp_path / "error.log")


def test_rename_rotation_reference(log):
    log.write("INFO scanned\n")
    offset = log.scan().end_offset
    log.write("ERROR tail\n")
    log.rotate(("", ".1"))
    log.write("ERROR new\n")
    scan = log.scan()
    assert scan.reference == f"file was rotated: read from the start of the new file, and {log.path}.1 from offset {offset}"
    assert (scan.matches, scan.rotated_from, scan.start_offset) == (2, f"{log.path}.1", 0)
    assert scan.bytes_read == len("ERROR tail\n") + len("ERROR new\n"), "the old file's rest and the new file"


def test_three_rotations_read_every_file_in_between(log):
    log.write("INFO scanned\n")
    log.scan()
    for n in (1, 2):
        log.write(f"ERROR file {n}\n")
        log.rotate(*[(f".{k}", f".{k + 1}") for k in range(n - 1, 0, -1)], ("", ".1"))
    log.write("ERROR file 3\n")
    log.rotate((".2", ".3"), (".1", ".2"), ("", ".1"))
    log.write("ERROR file 4\n")
    scan = log.scan()
    assert scan.sample == ["ERROR file 1", "ERROR file 2", "ERROR file 3", "ERROR file 4"]
    assert scan.reference == (f"file was rotated: read from the start of the new file, and {log.path}.3 from offset 13, "
                              f"and all of {log.path}.2, and all of {log.path}.1")


def test_a_compressed_newer_rotation_is_read_and_a_missing_one_is_unread(log):
    log.write("INFO scanned\n")
    log.scan()
    log.write("ERROR tail\n")
    log.rotate(("", ".2"))
    with gzip.open(f"{log.path}.1.gz", "wt") as fh:
        fh.write("ERROR compressed\n" * 50)
    log.write("ERROR new\n")
    scan = log.scan()
    assert scan.reference == (f"file was rotated: read from the start of the new file, and {log.path}.2 from offset 13, "
                              f"and all of {log.path}.1.gz")
    assert (scan.matches, scan.unread) == (52, [])
    log.write("INFO next\n")
    log.rotate((".2", ".3"), ("", ".2"))
    os.remove(f"{log.path}.1.gz")
    log.write("ERROR newest\n")
    scan = log.scan()
    assert scan.reference.endswith(f"{log.path}.2 from offset {len('ERROR new')+1}"), scan.reference
    assert scan.sample == ["ERROR newest"]
    assert scan.unread == [f"{log.path}.1 is gone: what it held after the last run was not read"]


def test_a_dateext_rotation_reads_no_numbered_file(log):
    log.write("INFO scanned\n")
    log.scan()
    log.write("ERROR tail\n")
    log.rotate(("", "-20260101"))
    log.write("ERROR stray numbered copy\n", ".1")
    log.write("ERROR new\n")
    scan = log.scan()
    assert scan.reference == (f"file was rotated: read from the start of the new file, and {log.path}-20260101 from "
                              "offset 13")
    assert scan.sample == ["ERROR tail", "ERROR new"]


def test_the_old_file_gone_is_said(log):
    log.write("INFO scanned\n")
    log.scan()
    os.remove(log.path)
    log.write("ERROR new\n")
    scan = log.scan()
    assert scan.reference in ("file was rotated: read from the start of the new file",   # a new inode
                              "file was truncated or replaced in place: read from its start")  # the old one, reused
    assert (scan.matches, scan.rotated_from) == (1, None)
    assert scan.unread == [f"could not read what {log.path} got after the last run (past byte 13): no file here "
                           "holds it any more (it was deleted, or truncated in place with no copy kept)"]


def test_a_relative_path_finds_its_rotated_sibling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    log = Log(Path("error.log"))
    log.write("INFO scanned\n")
    log.scan()
    log.write("ERROR tail\n")
    log.rotate(("", ".1"))
    log.write("ERROR new\n")
    scan = log.scan()
    assert (scan.rotated_from, scan.matches) == ("error.log.1", 2)


def test_a_listing_that_fails_reads_the_new_file_and_says_so(log, monkeypatch):
    log.write("INFO scanned\n")
    log.scan()
    log.rotate(("", ".1"))
    log.write("ERROR new\n")
    monkeypatch.setattr(os, "listdir", lambda _d: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    scan = log.scan()
    assert scan.error is None and scan.matches == 1
    assert scan.unread == [f"could not read what {log.path} got after the last run (past byte 13): no file here "
                           f"holds it any more (cannot list {log.path.parent}: Permission denied)"]


def test_the_deadline_reaches_the_rotated_file(log):
    log.write("INFO scanned\n")
    log.scan()
    log.write("ERROR tail\n" * 3)
    log.rotate(("", ".1"))
    log.write("ERROR new\n")
    scan = log.scan(deadline=time.monotonic() - 1)
    assert scan.error == (f"cannot read {log.path}: stopped after 0 bytes of a rotated copy: out of time "
                          "(command_timeout_s)")


def test_the_deadline_reaches_a_newer_rotation(log):
    log.write("INFO scanned\n")
    log.scan()
    log.rotate(("", ".1"))
    log.write("ERROR second file, longer\n")
    log.rotate((".1", ".2"), ("", ".1"))
    log.write("ERROR new\n")
    found = scan_file(str(log.path), "ERROR", log.state, deadline=time.monotonic() + 60)
    assert found.rotated_from == f"{log.path}.2" and found.sample == ["ERROR second file, longer", "ERROR new"]
    scan = log.scan(deadline=time.monotonic() - 1)
    assert scan.error is not None and "out of time (command_timeout_s)" in scan.error
