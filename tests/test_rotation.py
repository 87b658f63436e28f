"""Log rotation through logrotate: no line lost under a live writer, delayed compression, errors read from stderr."""
from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import opsproof.logs.rotate as rotate_module
import testinfra

from conftest import config_error, require_tool, wait_for
from opsproof.config import Rotate
from opsproof.logs.rotate import RotationRun, _logrotate, outcome, render, rotate
from opsproof.hosts.target import Target

WRITER = r'''
import os, signal, sys, time
path, pidfile, count, burst, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
reopen = stop = False
def on_hup(*_):
    global reopen
    reopen = True
def on_term(*_):
    global stop
    stop = True
# Handlers first, pid file second: a HUP can only come from someone who read the pid file.
signal.signal(signal.SIGHUP, on_hup)
signal.signal(signal.SIGTERM, on_term)
fh = open(path, "a", buffering=1)
with open(pidfile + ".tmp", "w") as p:
    p.write(str(os.getpid()))
os.replace(pidfile + ".tmp", pidfile)
def write(line):
    global fh, reopen
    if reopen:
        reopen = False
        fh.close()
        fh = open(path, "a", buffering=1)
    if line is not None:
        fh.write(line)
for i in range(count):
    write("%07d %s\n" % (i, "x" * 40))
    if i % burst == burst - 1:
        time.sleep(pause)
# Done: say so, then stay a live writer (reopening on HUP) until SIGTERM. Exiting on our own would race
# a rotation already under way: Python restores SIGHUP's default action while it shuts down, so a
# postrotate HUP landing then kills the writer (seen as exit -1 on a busy machine).
with open(pidfile + ".done", "w"):
    pass
while not stop:
    write(None)
    time.sleep(0.02)
# Leaving: HUP blocked first (a blocked signal stays pending and dies with us; it survives the shutdown that
# restores default handlers), then the pid file removed, so no postrotate signals a dead or reused pid.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
os.remove(pidfile)
fh.close()
'''


# Tolerates a writer that has left: a failed kill is an error only while the pid file is still there.
POSTROTATE = 'pid=$(cat run/writer.pid 2>/dev/null) && kill -HUP "$pid" || [ ! -e run/writer.pid ]'


@pytest.fixture(scope="module")
def local() -> Target:
    return Target(testinfra.get_host("local://"), 60)


def _policy(root: Path, **kw) -> Rotate:
    data = {"files": [str(root / "logs" / "*.log")], "max_size_mb": 0.25, "keep": 200, "compress": True,
            "postrotate": POSTROTATE, "reopen_timeout_s": 10}
    data.update(kw)
    return Rotate(**data)


def _start_writer(root: Path, count: int, burst: int = 1500, pause: float = 0.04) -> subprocess.Popen:
    (root / "logs").mkdir(parents=True, exist_ok=True)
    (root / "run").mkdir(exist_ok=True)
    script = root / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(root / "logs" / "app.log"), str(root / "run" / "writer.pid"),
                             str(count), str(burst), str(pause)])
    wait_for(lambda: (root / "run" / "writer.pid").exists() or proc.poll() is not None, timeout=60,
             what="the writer's pid file")
    assert proc.poll() is None, f"the writer exited {proc.returncode} before writing its pid file"
    return proc


def _stop(writer: subprocess.Popen) -> None:
    """SIGTERM, the writer's "stop" (it exits 0 after its last line); killed only if it does not end in 60 s."""
    writer.terminate()
    try:
        writer.wait(60)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()


def _numbers(root: Path, strict: bool = True) -> Counter:
    """How often each line number occurs across the active and rotated files (.gz included)."""
    seen: Counter = Counter()
    for path in (root / "logs").iterdir():
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt") as fh:
            for line in fh:
                head = line.split(" ", 1)[0]
                if strict or head.isdigit():
                    seen[int(head)] += 1  # strict: a torn or foreign line fails here
    return seen


def test_no_line_is_lost_while_rotating_under_a_live_writer(local, tmp_path):
    """>= 100 000 numbered lines, rotation run again and again while they are written: each number exactly once."""
    require_tool("logrotate")
    count, root = 120_000, tmp_path
    policy = _policy(root)
    writer = _start_writer(root, count)
    done = root / "run" / "writer.pid.done"  # the writer wrote every line; it still reopens on HUP
    rotations, runs = 0, 0
    deadline = time.monotonic() + 600
    try:
        while not done.exists():
            assert writer.poll() is None, f"the writer died ({writer.returncode}) before writing every line"
            assert time.monotonic() < deadline, f"the writer did not finish {count} lines within 600 s"
            run = rotate(local, policy, str(root), str(root / ".opsproof"), apply=True)
            runs += 1
            assert run.ok, run.errors
            rotations += len(run.rotated)
            time.sleep(0.05)
        final = rotate(local, policy, str(root), str(root / ".opsproof"), apply=True)  # the writer is still live
        assert final.ok, final.errors
        rotations += len(final.rotated)
    finally:
        _stop(writer)
    assert writer.returncode == 0, f"the writer ended {writer.returncode}"
    seen = _numbers(root)
    missing = [i for i in range(count) if seen[i] == 0]
    doubled = [i for i, n in seen.items() if n > 1]
    assert not missing and not doubled, f"{len(missing)} lines lost (first {missing[:5]}), {len(doubled)} doubled"
    assert sum(seen.values()) == count
    assert rotations >= 3, f"only {rotations} rotations in {runs} runs: the test did not exercise rotation"
    names = sorted(p.name for p in (root / "logs").iterdir())
    assert "app.log.1" in names and "app.log.2.gz" in names, names
    print(f"rotations: {rotations} in {runs} runs; files: {len(names)}")


def test_a_writer_that_left_removes_its_pid_file_and_a_later_rotation_still_passes(local, tmp_path):
    """The writer's last act is removing its pid file: a rotation after it exits signals nobody and succeeds."""
    require_tool("logrotate")
    writer = _start_writer(tmp_path, 12_000, burst=12_000, pause=0)     # ~590 KB: over max_size (0.25 MB)
    try:
        wait_for(lambda: (tmp_path / "run" / "writer.pid.done").exists() or writer.poll() is not None,
                 timeout=120, what="the writer's last line")
    finally:
        _stop(writer)
    assert writer.returncode == 0, f"the writer ended {writer.returncode}"
    assert not (tmp_path / "run" / "writer.pid").exists(), "the pid file outlived the writer"
    run = rotate(local, _policy(tmp_path), str(tmp_path), str(tmp_path / ".opsproof"), apply=True)
    assert run.ok and run.rotated, (run.errors, run.rotated)
    assert len(_numbers(tmp_path)) == 12_000


def test_a_writer_that_never_reopens_blocks_compression(local, tmp_path):
    """Without a working postrotate the writer keeps NAME.1 open: the run says so and never compresses it."""
    require_tool("logrotate")
    root = tmp_path
    policy = _policy(root, postrotate="true", reopen_timeout_s=0.5)
    writer = _start_writer(root, 30_000, burst=30_000, pause=30)  # writes everything, then holds the file open
    try:
        wait_for(lambda: len(_numbers(root, strict=False)) == 30_000, what="the writer's lines")
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
    assert len(_numbers(root, strict=False)) == 30_000


def test_render_follows_the_policy(tmp_path):
    plain = render(_policy(tmp_path, every="1d", su="app adm"), ["/srv/a.log", "/srv/b.log"], "/srv")
    assert '"/srv/a.log" "/srv/b.log" {' in plain
    for directive in ("rotate 200", "daily", "maxsize 262144", "create", "compress", "delaycompress", "su app adm",
                      "sharedscripts", "postrotate", "cd '/srv' || exit 1", POSTROTATE, "endscript"):
        assert re.search(rf"^\s*{re.escape(directive)}\s*$", plain, re.M), directive
    assert "copytruncate" not in plain
    lossy = render(_policy(tmp_path, copytruncate=True, postrotate=None), ["/srv/a.log"], "/srv")
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
    run = rotate(local, _policy(tmp_path, postrotate=None), str(tmp_path), str(tmp_path / ".opsproof"), apply=True)
    assert not run.ok and any("insecure permissions" in e for e in run.errors), run.errors
    assert not (tmp_path / "logs" / "app.log.1").exists()
    fixed = rotate(local, _policy(tmp_path, postrotate=None, su="root root"), str(tmp_path), str(tmp_path / ".opsproof"),
                   apply=True)
    assert fixed.ok and fixed.rotated, fixed.errors


def test_missing_logrotate_is_said_clearly(local, tmp_path, monkeypatch):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("x\n")
    monkeypatch.setattr(rotate_module, "_SBIN", "PATH=/nonexistent:/bin; export PATH; ")   # no sbin added: logrotate not found
    if os.path.exists("/bin/logrotate"):
        pytest.skip("logrotate is in /bin here: cannot hide it")
    run = rotate(local, _policy(tmp_path), str(tmp_path), str(tmp_path / ".opsproof"), apply=True)
    assert run.tool is None and "logrotate is not installed" in run.errors[0]
    assert "sudo apt-get install -y logrotate" in run.errors[0]


def test_logrotate_in_sbin_is_found_without_sbin_on_path(local, tmp_path, monkeypatch):
    """A non-root login's PATH often lacks /usr/sbin, where logrotate lives: it is found all the same."""
    require_tool("logrotate")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("x\n")
    monkeypatch.setenv("PATH", "/nonexistent:/bin:/usr/bin")
    run = rotate(local, _policy(tmp_path), str(tmp_path), str(tmp_path / ".opsproof"), apply=False)
    assert run.tool and run.tool.startswith("logrotate"), run.errors


def test_plan_changes_nothing_and_says_what_would_rotate(local, tmp_path):
    require_tool("logrotate")
    (tmp_path / "logs").mkdir()
    big = tmp_path / "logs" / "big.log"
    big.write_text("b" * 300_000 + "\n")
    (tmp_path / "logs" / "small.log").write_text("s\n")
    run = rotate(local, _policy(tmp_path, postrotate=None), str(tmp_path), str(tmp_path / ".opsproof"), apply=False)
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
    [item] = outcome(local, _policy(tmp_path), [str(base)])
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
