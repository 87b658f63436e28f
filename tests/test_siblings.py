"""Rotated siblings of a log: which names are copies of it, in logrotate's order (newest first)."""
from __future__ import annotations

import os

import pytest
import testinfra

from opsproof.hosts.target import Target
from opsproof.logs import siblings


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


def test_find_lists_the_directory_of_a_target(tmp_path):
    for name in ("a.log", "a.log.2.gz", "a.log.1", "a.log-20260101", "a.log.bak", "b.log.1"):
        (tmp_path / name).write_text(name)
    os.symlink(tmp_path / "a.log.1", tmp_path / "a.log.3")  # not a regular file: Target.files leaves it out
    found = siblings.find(Target(testinfra.get_host("local://"), 30), str(tmp_path / "a.log"))
    assert [os.path.basename(r.path) for r in found] == ["a.log.1", "a.log.2.gz", "a.log-20260101"]
    assert found[0].size == len("a.log.1") and found[0].mtime > 0
