"""Rotated siblings of a log: which names are copies of it, in logrotate's order (newest first)."""
from __future__ import annotations

import os

import pytest
import testinfra

from opsproof.hosts.target import Target
from opsproof.logs import rotate, siblings


def test_numbered_copies_come_newest_first_plain_before_compressed():
    log = "/var/log/app.log"
    names = [f"{log}.10.gz", f"{log}.2.gz", f"{log}.1.gz", f"{log}.1", f"{log}.3.xz", log, f"{log}.bak",
             f"{log}.old.gz", "/var/log/app.log2.1", f"{log}-20260102.gz", f"{log}-20251231", f"{log}-1"]
    found = siblings.select(log, names)
    assert [r.path[len(log):] for r in found] == [".1", ".1.gz", ".2.gz", ".3.xz", ".10.gz", "-20260102.gz",
                                                  "-20251231"]
    assert [r.number for r in found][:5] == [1, 1, 2, 3, 10] and found[5].date == "20260102"
    assert [r.compression for r in found] == ["", ".gz", ".gz", ".xz", ".gz", ".gz", ""]


@pytest.mark.parametrize("path, rotated", [
    ("app.log.1", True), ("app.log.2.gz", True), ("app.log-20260101.gz", True), ("app.log-2026010112", True),
    ("app.log", False), ("app.log.bak", False), ("app-1.log", False), ("app.log-1", False), ("app.log.gz", False),
])
def test_is_rotated(path, rotated):
    assert siblings.is_rotated(path) is rotated


def test_a_listing_with_times_and_sizes_keeps_them():
    log = "/var/log/app.log"
    assert siblings.select(log, [(f"{log}.1", 5.0, 7), (log, 6.0, 3)]) == [
        siblings.Rotated(f"{log}.1", 1, mtime=5.0, size=7)]


def test_a_targets_rotated_copies_as_the_rotation_check_reads_them(tmp_path):
    """One listing of the log's folder on the target (logs/ondisk.py, shipped): regular files only, with their sizes,
    in logrotate's order; the rotation outcome counts numbered copies, plain or .gz, not dateext ones."""
    for name in ("a.log", "a.log.2.gz", "a.log.1", "a.log-20260101", "a.log.bak", "b.log.1"):
        (tmp_path / name).write_text(name)
    os.symlink(tmp_path / "a.log.1", tmp_path / "a.log.3")  # not a regular file: the listing leaves it out
    log = str(tmp_path / "a.log")
    found = rotate.on_disk(Target(testinfra.get_host("local://"), 30), [], [log])["logs"][log]
    assert [(os.path.basename(r["path"]), r["size"]) for r in found["rotated"]] == [
        ("a.log.1", len("a.log.1")), ("a.log.2.gz", len("a.log.2.gz"))]
    assert found["size"] == len("a.log")
