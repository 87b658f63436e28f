"""A live log writer for the rotation tests: a process that writes numbered lines and reopens its file on SIGHUP,
the rotation policy that signals it, and the two rotations run under it (test_rotation.py runs them once,
test_rotation_stress.py under full CPU load). Every line number must be found exactly once afterwards."""
from __future__ import annotations

import gzip
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from helpers import require_tool, wait_for
from opsproof.config import Rotate
from opsproof.hosts.target import Target
from opsproof.logs.rotate import rotate

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


def rotation_policy(root: Path, **kw) -> Rotate:
    """Rotate ROOT/logs/*.log past 0.25 MB, compressed, the writer told by POSTROTATE; `kw` overrides."""
    data = {"files": [str(root / "logs" / "*.log")], "max_size_mb": 0.25, "keep": 200, "compress": True,
            "postrotate": POSTROTATE, "reopen_timeout_s": 10}
    data.update(kw)
    return Rotate(**data)


def start_writer(root: Path, count: int, burst: int = 1500, pause: float = 0.04) -> subprocess.Popen:
    """The writer on ROOT/logs/app.log: `count` lines in bursts of `burst`, `pause` s apart; back once its pid file is
    written."""
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


def stop_writer(writer: subprocess.Popen) -> None:
    """SIGTERM, the writer's "stop" (it exits 0 after its last line); killed only if it does not end in 60 s."""
    writer.terminate()
    try:
        writer.wait(60)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()


def numbers_written(root: Path, strict: bool = True) -> Counter:
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


def rotate_under_a_live_writer(local: Target, tmp_path: Path) -> None:
    """>= 100 000 numbered lines, rotation run again and again while they are written: each number exactly once
    and at least three rotations (test_rotation.py, and under full CPU load test_rotation_stress.py)."""
    require_tool("logrotate")
    count, root = 120_000, tmp_path
    policy = rotation_policy(root)
    writer = start_writer(root, count)
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
        stop_writer(writer)
    assert writer.returncode == 0, f"the writer ended {writer.returncode}"
    seen = numbers_written(root)
    missing = [i for i in range(count) if seen[i] == 0]
    doubled = [i for i, n in seen.items() if n > 1]
    assert not missing and not doubled, f"{len(missing)} lines lost (first {missing[:5]}), {len(doubled)} doubled"
    assert sum(seen.values()) == count
    assert rotations >= 3, f"only {rotations} rotations in {runs} runs: the test did not exercise rotation"
    names = sorted(p.name for p in (root / "logs").iterdir())
    assert "app.log.1" in names and "app.log.2.gz" in names, names
    print(f"rotations: {rotations} in {runs} runs; files: {len(names)}")


def rotate_after_the_writer_left(local: Target, tmp_path: Path) -> None:
    """The writer's last act is removing its pid file: a rotation after it exits signals nobody and succeeds."""
    require_tool("logrotate")
    writer = start_writer(tmp_path, 12_000, burst=12_000, pause=0)     # ~590 KB: over max_size (0.25 MB)
    try:
        wait_for(lambda: (tmp_path / "run" / "writer.pid.done").exists() or writer.poll() is not None,
                 timeout=120, what="the writer's last line")
    finally:
        stop_writer(writer)
    assert writer.returncode == 0, f"the writer ended {writer.returncode}"
    assert not (tmp_path / "run" / "writer.pid").exists(), "the pid file outlived the writer"
    run = rotate(local, rotation_policy(tmp_path), str(tmp_path), str(tmp_path / ".opsproof"), apply=True)
    assert run.ok and run.rotated, (run.errors, run.rotated)
    assert len(numbers_written(tmp_path)) == 12_000
