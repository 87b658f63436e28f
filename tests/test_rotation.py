"""Log rotation through logrotate: no line lost under a live writer, delayed compression, errors read from stderr."""
from __future__ import annotations

import gzip
import os
import re
import signal
from pathlib import Path

import pytest

import opsproof.logs.rotate as rotate_module
import testinfra

from helpers import config_error, require_tool, wait_for
from helpers.live_writer import (POSTROTATE, numbers_written, rotate_after_the_writer_left, rotate_under_a_live_writer,
                                 rotation_policy, start_writer)
from opsproof.logs.rotate import RotationRun, _logrotate, outcome, render, rotate
from opsproof.hosts.target import Target


@pytest.fixture(scope="module")
def local() -> Target:
    return Target(testinfra.get_host("local://"), 60)


def test_no_line_is_lost_while_rotating_under_a_live_writer(local, tmp_path):
    """>= 100 000 numbered lines, rotation run again and again while they are written: each number exactly once."""
    rotate_under_a_live_writer(local, tmp_path)


def test_a_writer_that_left_removes_its_pid_file_and_a_later_rotation_still_passes(local, tmp_path):
    """The writer's last act is removing its pid file: a rotation after it exits signals nobody and succeeds."""
    rotate_after_the_writer_left(local, tmp_path)


def test_a_writer_that_never_reopens_blocks_compression(local, tmp_path):
    """Without a working postrotate the writer keeps NAME.1 open: the run says so and never compresses it."""
    require_tool("logrotate")
    root = tmp_path
    policy = rotation_policy(root, postrotate="true", reopen_timeout_s=0.5)
    writer = start_writer(root, 30_000, burst=30_000, pause=30)  # writes everything, then holds the file open
    try:
        wait_for(lambda: len(numbers_written(root, strict=False)) == 30_000, what="the writer's lines")
        first = rotate(local, policy, str(root), str(root / ".opsproof"), apply=True)
        assert first.rotated and any("still held open 0.5 s after rotation" in e for e in first.errors), first.errors
        (root / "logs" / "app.log").write_text("y" * 300_000 + "\n")  # the new file grows past max_size_mb
        second = rotate(local, policy, str(root), str(root / ".opsproof"), apply=True)
        assert not second.rotated
        assert any("app.log.1 is still open by pid" in e and "not rotated" in e for e in second.errors), second.errors
        assert not (root / "logs" / "app.log.2.gz").exists()
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert len(numbers_written(root, strict=False)) == 30_000


def test_render_follows_the_policy(tmp_path):
    plain = render(rotation_policy(tmp_path, every="1d", su="app adm"), ["/srv/a.log", "/srv/b.log"], "/srv")
    assert '"/srv/a.log" "/srv/b.log" {' in plain
    for directive in ("rotate 200", "daily", "maxsize 262144", "create", "compress", "delaycompress", "su app adm",
                      "sharedscripts", "postrotate", "cd '/srv' || exit 1", POSTROTATE, "endscript"):
        assert re.search(rf"^\s*{re.escape(directive)}\s*$", plain, re.M), directive
    assert "copytruncate" not in plain
    lossy = render(rotation_policy(tmp_path, copytruncate=True, postrotate=None), ["/srv/a.log"], "/srv")
    assert "copytruncate" in lossy and "delaycompress" not in lossy and "create" not in lossy
    assert "size 262144" in lossy


def test_logrotate_errors_on_stderr_are_failures_though_it_exits_0(local, tmp_path):
    """logrotate ignores a group-writable config and exits 0: the "error:" line on stderr is what tells."""
    require_tool("logrotate")
    conf = tmp_path / "insecure.conf"
    conf.write_text(f'"{tmp_path}/x.log" {{\n    size 1\n}}\n')
    conf.chmod(0o666)
    run = RotationRun(mode="apply", config_file=str(conf), state_file=str(tmp_path / "state"))
    _logrotate(local, run, debug=False)
    assert any("writable by group or others" in e for e in run.errors), run.log


def test_an_insecure_log_directory_is_reported(local, tmp_path):
    require_tool("logrotate")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("z" * 300_000 + "\n")
    (tmp_path / "logs").chmod(0o777)
    run = rotate(local, rotation_policy(tmp_path, postrotate=None), str(tmp_path), str(tmp_path / ".opsproof"), apply=True)
    assert not run.ok and any("insecure permissions" in e for e in run.errors), run.errors
    assert not (tmp_path / "logs" / "app.log.1").exists()
    fixed = rotate(local, rotation_policy(tmp_path, postrotate=None, su="root root"), str(tmp_path), str(tmp_path / ".opsproof"),
                   apply=True)
    assert fixed.ok and fixed.rotated, fixed.errors


def test_missing_logrotate_is_said_clearly(local, tmp_path, monkeypatch):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("x\n")
    monkeypatch.setattr(rotate_module, "_SBIN", "PATH=/nonexistent:/bin; export PATH; ")   # no sbin added: logrotate not found
    if os.path.exists("/bin/logrotate"):
        pytest.skip("logrotate is in /bin here: cannot hide it")
    run = rotate(local, rotation_policy(tmp_path), str(tmp_path), str(tmp_path / ".opsproof"), apply=True)
    assert run.tool is None and "logrotate is not installed" in run.errors[0]
    assert "sudo apt-get install -y logrotate" in run.errors[0]


def test_logrotate_in_sbin_is_found_without_sbin_on_path(local, tmp_path, monkeypatch):
    """A non-root login's PATH often lacks /usr/sbin, where logrotate lives: it is found all the same."""
    require_tool("logrotate")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("x\n")
    monkeypatch.setenv("PATH", "/nonexistent:/bin:/usr/bin")
    run = rotate(local, rotation_policy(tmp_path), str(tmp_path), str(tmp_path / ".opsproof"), apply=False)
    assert run.tool and run.tool.startswith("logrotate"), run.errors


def test_plan_changes_nothing_and_says_what_would_rotate(local, tmp_path):
    require_tool("logrotate")
    (tmp_path / "logs").mkdir()
    big = tmp_path / "logs" / "big.log"
    big.write_text("b" * 300_000 + "\n")
    (tmp_path / "logs" / "small.log").write_text("s\n")
    run = rotate(local, rotation_policy(tmp_path, postrotate=None), str(tmp_path), str(tmp_path / ".opsproof"), apply=False)
    assert run.ok and run.mode == "plan"
    assert run.decisions[str(big)] == "needs rotating"
    assert run.decisions[str(tmp_path / "logs" / "small.log")].startswith("not needed")
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["big.log", "small.log"]


def _suite_cfg(root: Path, **rotate_kw) -> dict:
    rot = {"files": ["logs/*.log"], "max_size_mb": 0.25, "keep": 2, "compress": True}
    rot.update(rotate_kw)
    return {"service": "svc", "root": str(root), "logs": {"error_log": "logs/app.log", "rotate": rot}}


def test_rotation_checks_in_plan_and_apply(suite, local, tmp_path):
    require_tool("logrotate")
    root = tmp_path / "svc"
    (root / "logs").mkdir(parents=True)
    log = root / "logs" / "app.log"
    log.write_text("a" * 400_000 + "\n")
    suite.config(_suite_cfg(root))
    planned = suite.run("-m", "daily")
    assert planned.ret == 1, planned.stdout.str()
    planned.stdout.fnmatch_lines(["*largest active log*logs.rotate.max_size_mb allows <= 0.25 MiB*"])
    assert sorted(p.name for p in (root / "logs").iterdir()) == ["app.log"]
    for _ in range(4):  # four rotations: keep (2) and compression are enforced on disk
        log.write_text("a" * 400_000 + "\n")
        applied = suite.run("-m", "daily", "--apply")
        assert applied.ret == 0, applied.stdout.str()
    names = sorted(p.name for p in (root / "logs").iterdir())
    assert names == ["app.log", "app.log.1", "app.log.2.gz"], names
    record = next(e["data"] for t in suite.summary()["tests"] for e in t["evidence"] if e["label"] == "rotate-logs")
    assert record["rotated"] == [str(log)] and record["tool"].startswith("logrotate")
    # A rotated file left uncompressed beyond NAME.1, or more than keep of them, fails the outcome checks.
    (root / "logs" / "app.log.2").write_text("plain\n")
    (root / "logs" / "app.log.3.gz").write_bytes(b"not gzip")
    (root / "logs" / "other.log").write_text("o\n")
    failed = suite.run("-m", "daily")
    assert failed.ret == 1
    outcomes = suite.outcomes()
    for check in ("test_rotated_files_within_keep", "test_rotated_files_compressed"):  # one item per log
        assert outcomes[f"checks/test_rotation.py::{check}[logs/app.log-local]"] == "failed"
        assert outcomes[f"checks/test_rotation.py::{check}[logs/other.log-local]"] == "passed"


def test_an_empty_glob_fails(suite, tmp_path):
    (tmp_path / "logs").mkdir()
    suite.config(_suite_cfg(tmp_path))
    result = suite.run("-m", "daily")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*logs/[*].log: no file matches this glob in logs.rotate.files*"])


def test_outcome_reads_numbering_and_gzip(local, tmp_path):
    base = tmp_path / "a.log"
    base.write_text("x\n")
    (tmp_path / "a.log.1").write_text("y\n")
    with gzip.open(tmp_path / "a.log.2.gz", "wt") as fh:
        fh.write("z\n")
    (tmp_path / "a.log.10.gz").write_bytes(b"nope")
    (tmp_path / "a.log.bak").write_text("ignored\n")
    [item] = outcome(local, rotation_policy(tmp_path), [str(base)])
    assert [Path(r.path).name for r in item.rotated] == ["a.log.1", "a.log.2.gz", "a.log.10.gz"]
    assert [r.gzip_ok for r in item.rotated] == [None, True, False] and item.not_compressed() == []


@pytest.mark.parametrize("text, key, words", [
    ("logs: {error_log: e, rotate: {files: [a.log], every: 2d}}", "logs.rotate.every", "hourly (1h), daily (1d)"),
    ("logs: {error_log: e, rotate: {files: ['a\"b.log']}}", "logs.rotate.files", "may not contain quotes"),
    ("logs: {error_log: e, rotate: {files: [a.log], max_size_mb: 0}}", "logs.rotate.max_size_mb", "greater than 0"),
    ("logs: {error_log: e, rotate: {files: []}}", "logs.rotate.files", "at least 1"),
])
def test_rotate_config_errors_name_the_key(tmp_path, text, key, words):
    err = config_error(tmp_path, text)
    assert err.key == key and words in str(err)


def test_listed_gives_each_log_once_and_a_glob_that_matches_nothing_itself(local, tmp_path):
    """What the items are made of at collection: matched files in order, each once; siblings are not logs."""
    for name in ("a.log", "b.log", "a.log.1", "a.log.2.gz"):
        (tmp_path / name).write_text("x\n")
    listed = rotate_module.listed
    assert listed(local, [f"{tmp_path}/*.log", f"{tmp_path}/a.log", f"{tmp_path}/none*.log"]) == [
        f"{tmp_path}/a.log", f"{tmp_path}/b.log", f"{tmp_path}/none*.log"]
    assert listed(local, [f"{tmp_path}/*/x.log"]) == [f"{tmp_path}/*/x.log"]   # cannot be listed: its item says why


def test_outcome_of_reads_a_log_or_says_why_not(local, tmp_path):
    (tmp_path / "a.log").write_text("x\n")
    (tmp_path / "a.log.1").write_text("y\n")
    policy = rotation_policy(tmp_path)
    found, error = rotate_module.outcome_of(local, policy, f"{tmp_path}/a.log")
    assert error is None and [(o.path, o.rotated_count) for o in found] == [(f"{tmp_path}/a.log", 1)]
    assert rotate_module.outcome_of(local, policy, f"{tmp_path}/none.log") == (
        [], f"logs.rotate.files: no file matches {tmp_path}/none.log on {local.name}")
    assert "a glob may only be in the file name" in rotate_module.outcome_of(local, policy, f"{tmp_path}/*/a.log")[1]
