"""No false green from the error-log scan under real logrotate: what was written before a rotation is counted.

The reference point a run keeps is an offset plus fingerprints of the file's first bytes and of the bytes before
the offset, so the file the last run read is found wherever logrotate left it: renamed and compressed at once
(`compress` without `delaycompress`), copied and truncated (`copytruncate`: the same inode, regrown past the old
offset), dateext names, bzip2/xz/zstd. A rest that cannot be read is named and fails the check.
Each scenario is run by the real logrotate (`-f`, its own state file) on files in tmp_path.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import testinfra

from opsproof.hosts.target import Target
from opsproof.logs.scan import scan_errors

from helpers import require_tool

CHECK = "checks/test_errorlog.py"
COMPRESSORS = {"gz": ("gzip", ""), "bz2": ("bzip2", "compresscmd /usr/bin/bzip2\nuncompresscmd /usr/bin/bunzip2\n"),
               "xz": ("xz", "compresscmd /usr/bin/xz\nuncompresscmd /usr/bin/unxz\n"),
               "zst": ("zstd", "compresscmd /usr/bin/zstd\nuncompresscmd /usr/bin/unzstd\ncompressoptions -q\n")}


@pytest.fixture(scope="module")
def local() -> Target:
    return Target(testinfra.get_host("local://"), 30)


class Rotated:
    """A log, logrotate with one config, and the reference point a scheduled run keeps between scans."""

    def __init__(self, target: Target, root: Path, options: str) -> None:
        require_tool("logrotate")
        self.target, self.path = target, root / "error.log"
        self.conf, self.status = root / "logrotate.conf", root / "logrotate.status"
        self.conf.write_text(f"{self.path} {{\n  rotate 5\n  missingok\n{options}}}\n")
        self.path.write_text("")
        self.state: dict = {}

    def write(self, text: str) -> None:
        with open(self.path, "a") as fh:
            fh.write(text)

    def rotate(self) -> None:
        binary = shutil.which("logrotate") or "/usr/sbin/logrotate"
        done = subprocess.run([binary, "-f", "-s", str(self.status), str(self.conf)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    def scan(self):
        scan, self.state = scan_errors(self.target, str(self.path), "ERROR|CRITICAL|FATAL", self.state)
        assert scan.error is None, scan.error
        return scan


def test_an_error_before_a_compressed_rotation_is_counted(local, tmp_path):
    """logrotate's order with `compress` and no `delaycompress`: rename, new file, gzip NAME.1 -> NAME.1.gz."""
    log = Rotated(local, tmp_path, "  compress\n  create\n")
    log.write("INFO up\n" * 100)
    assert log.scan().matches == 0
    log.write("ERROR payment gateway refused\n")
    log.rotate()
    assert not Path(f"{log.path}.1").exists() and Path(f"{log.path}.1.gz").exists()
    log.write("INFO after the rotation\n")
    scan = log.scan()
    assert (scan.matches, scan.unread) == (1, []), scan.reference
    assert scan.sample == ["ERROR payment gateway refused"]
    assert scan.rotated_from == f"{log.path}.1.gz"
    assert scan.reference.endswith(f"and {log.path}.1.gz from offset 800")
    assert log.scan().matches == 0, "counted once"


def test_two_compressed_rotations_on_the_same_inode_count_every_error(local, tmp_path):
    """`copytruncate` + `compress`, twice: the log keeps its inode and is regrown past the old offset; the errors
    written before each rotation are in NAME.2.gz and NAME.1.gz and all three are counted."""
    log = Rotated(local, tmp_path, "  compress\n  copytruncate\n")
    log.write("INFO starting\n")
    log.scan()
    inode = log.path.stat().st_ino
    log.write("ERROR one\n")
    log.rotate()
    log.write("ERROR two\n")
    log.rotate()
    log.write("ERROR three\n" + "INFO padding the new file past the old offset\n" * 3)
    assert log.path.stat().st_ino == inode
    scan = log.scan()
    assert scan.sample == ["ERROR one", "ERROR two", "ERROR three"], scan.reference
    assert scan.reference == (f"file was truncated or replaced in place: read from its start, and {log.path}.2.gz "
                              f"from offset 14, and all of {log.path}.1.gz")
    assert scan.unread == []


def test_truncated_in_place_and_regrown_past_the_offset_is_read_from_its_start(local, tmp_path):
    """8 000 bytes read; truncated to 0 (no copy kept); an ERROR and enough lines to pass 8 000 again."""
    log = Rotated(local, tmp_path, "")
    log.write("I" * 79 + "\n" * 1 + ("I" * 79 + "\n") * 99)
    first = log.scan()
    assert first.end_offset == 8000
    with open(log.path, "r+") as fh:
        fh.truncate(0)
    log.write("ERROR after the truncation\n" + "x" * 99 + "\n" * 1 + ("x" * 99 + "\n") * 80)
    assert log.path.stat().st_size > 8000
    scan = log.scan()
    assert (scan.matches, scan.start_offset, scan.sample) == (1, 0, ["ERROR after the truncation"])
    assert scan.reference.startswith("file was truncated or replaced in place")
    assert scan.unread == [f"could not read what {log.path} got after the last run (past byte 8000): no file here "
                           "holds it any more (it was deleted, or truncated in place with no copy kept)"]


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_dateext_and_each_compressor(local, tmp_path, ext):
    tool, options = COMPRESSORS[ext]
    require_tool(tool)
    log = Rotated(local, tmp_path, f"  compress\n  dateext\n  dateformat -%Y%m%d%s\n  compressext .{ext}\n{options}")
    log.write("INFO up\n")
    log.scan()
    log.write(f"CRITICAL written before the {ext} rotation\n")
    log.rotate()
    (rotated,) = [p for p in tmp_path.iterdir() if p.name.startswith("error.log-")]
    assert rotated.name.endswith(f".{ext}")
    log.write("INFO next\n")
    scan = log.scan()
    assert (scan.matches, scan.unread) == (1, []), scan.reference
    assert scan.rotated_from == str(rotated)


def test_a_rest_that_cannot_be_decompressed_here_fails_and_says_what(local, tmp_path, monkeypatch):
    """No zstd module in this Python and no zstd on PATH: the rotated copy's rest is named, not skipped."""
    require_tool("zstd")
    log = Rotated(local, tmp_path, "  compress\n" + COMPRESSORS["zst"][1] + "  compressext .zst\n")
    log.write("INFO up\n")
    log.scan()
    log.write("ERROR in the zstd copy\n")
    log.rotate()
    import opsproof.logs.follow as follow
    monkeypatch.setattr(follow, "_module_opener", lambda _c: None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    log.write("INFO next\n")
    scan = log.scan()
    assert scan.matches == 0
    assert scan.unread == [f"could not read what {log.path} got after the last run (past byte 8): no file here holds "
                           f"it any more (no zstd on this host to read {log.path}.1.zst)"]


def test_a_damaged_compressed_copy_is_unread_not_a_pass(local, tmp_path):
    log = Rotated(local, tmp_path, "  compress\n  delaycompress\n  create\n")
    log.write("INFO up\n")
    log.scan()
    log.write("ERROR one\n")
    log.rotate()
    log.write("ERROR two\n")
    log.rotate()                                   # error.log.2.gz holds "INFO up / ERROR one"
    gz = Path(f"{log.path}.2.gz")
    gz.write_bytes(gz.read_bytes()[:-12])          # cut before its trailer: a copy that ends early
    scan = log.scan()
    assert scan.sample[-1] == "ERROR two"
    assert scan.unread == [f"could not read all of {gz} past byte 8: Compressed file ended before the end-of-stream "
                           "marker was reached"]


def test_the_daily_check_fails_on_an_error_hidden_by_a_compressed_rotation(suite, tmp_path):
    """The issue's reproduction, through pytest -m daily: it passed before, quoting "not counted" in its evidence."""
    require_tool("logrotate")
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "error.log"
    log.write_text("INFO up\n")
    suite.config({"service": "rotated", "root": str(tmp_path), "logs": {"error_log": "logs/error.log"}})
    assert suite.run("-m", "daily", CHECK).ret == 0
    with open(log, "a") as fh:
        fh.write("ERROR disk nearly full\n")
    conf = tmp_path / "logrotate.conf"
    conf.write_text(f"{log} {{\n  rotate 3\n  compress\n  create\n}}\n")
    subprocess.run([shutil.which("logrotate") or "/usr/sbin/logrotate", "-f", "-s", str(tmp_path / "status"),
                    str(conf)], check=True, timeout=60)
    result = suite.run("-m", "daily", CHECK)
    assert result.ret == 1
    (test,) = [t for t in suite.summary()["tests"] if "test_no_new_errors" in t["id"]]
    assert "ERROR disk nearly full" in test["message"]
    os.remove(f"{log}.1.gz")
    assert suite.run("-m", "daily", CHECK).ret == 1, "the unread rest must not pass once its copy is gone"
    (test,) = [t for t in suite.summary()["tests"] if "test_no_new_errors" in t["id"]]
    assert "could not read what" in test["message"] and "opsproof ack errorlog" in test["message"]
