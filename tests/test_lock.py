"""The per-target action lock: one run at a time, the second fails fast naming the holder, stale locks recognised."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from dataclasses import asdict, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import testinfra

from opsproof.hosts.lock import Holder, LockHeld, TargetLock, alive, me
from opsproof.hosts.target import Target


@pytest.fixture(scope="module")
def local() -> Target:
    return Target(testinfra.get_host("local://"), 30)


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_second_acquirer_fails_naming_the_holder(local, tmp_path):
    path = str(tmp_path / "work" / "lock")
    first = TargetLock(local, path)
    assert first.acquire(me("run-a", "2026-12-06T02:00:00Z", "alice", "daily")) is True
    with pytest.raises(LockHeld) as info:
        TargetLock(local, path).acquire(me("run-b", "2026-12-06T02:05:00Z", "bob"))
    text = str(info.value)
    assert f"host {socket.gethostname()} pid {os.getpid()}" in text
    assert "run started 2026-12-06T02:00:00Z by alice" in text and path in text
    first.release()
    assert not Path(path).exists()
    assert TargetLock(local, path).acquire(me("run-b", "2026-12-06T02:05:00Z")) is True


def test_a_lock_of_a_dead_process_is_stale_and_replaced(local, tmp_path):
    path = tmp_path / "lock"
    dead = replace(me("old-run", "2026-01-01T00:00:00Z"), pid=_dead_pid(), pid_start="")
    path.write_text(json.dumps(asdict(dead)) + "\n")
    lock = TargetLock(local, str(path))
    assert lock.acquire(me("new-run", "2026-12-06T02:00:00Z")) is True
    assert lock.replaced is not None and lock.replaced.pid == dead.pid
    assert json.loads(path.read_text())["run"] == "new-run"


def test_a_reused_pid_or_a_reboot_makes_a_lock_stale(local, tmp_path):
    mine = me("x", "2026-01-01T00:00:00Z")
    assert alive(mine) is True
    assert alive(replace(mine, pid_start="1")) is False          # the pid now belongs to a later process
    assert alive(replace(mine, boot_id="not-this-boot")) is False  # the machine rebooted since
    assert alive(replace(mine, host="another-machine")) is None    # cannot be told from here
    path = tmp_path / "lock"
    path.write_text(json.dumps(asdict(replace(mine, run="old", pid_start="1"))))
    assert TargetLock(local, str(path)).acquire(me("new", "2026-12-06T02:00:00Z")) is True


def test_a_lock_from_another_machine_is_honoured(local, tmp_path):
    path = tmp_path / "lock"
    other = Holder("web-admin-2", 4242, "2026-12-06T02:00:00Z", "their-run", operator="carol")
    path.write_text(json.dumps(asdict(other)))
    with pytest.raises(LockHeld) as info:
        TargetLock(local, str(path)).acquire(me("mine", "2026-12-06T02:01:00Z"))
    assert "host web-admin-2 pid 4242 (run started 2026-12-06T02:00:00Z by carol)" in str(info.value)
    assert f"remove {path}" in str(info.value)
    assert json.loads(path.read_text())["host"] == "web-admin-2"  # untouched


def test_workers_of_one_run_share_the_lock_and_release_never_removes_anothers(local, tmp_path):
    path = tmp_path / "lock"
    owner = TargetLock(local, str(path))
    assert owner.acquire(me("run-1", "t")) is True
    sibling = TargetLock(local, str(path))
    assert sibling.acquire(me("run-1", "t")) is False  # the same run (an xdist worker): proceeds, does not own it
    sibling.release()
    assert path.exists()
    path.write_text(json.dumps(asdict(Holder("elsewhere", 1, "t", "run-2"))))  # someone replaced it by hand
    owner.release()
    assert json.loads(path.read_text())["run"] == "run-2"


def test_unreadable_lock_is_held_not_broken(local, tmp_path):
    path = tmp_path / "lock"
    path.write_text("garbage that is not json\n")
    with pytest.raises(LockHeld, match="content cannot be read"):
        TargetLock(local, str(path)).acquire(me("r", "t"))
    assert path.read_text() == "garbage that is not json\n"


def test_exactly_one_of_two_racing_runs_wins(local, tmp_path):
    for round_ in range(15):
        path = str(tmp_path / f"lock{round_}")
        results: list[str] = []
        barrier = threading.Barrier(2)

        def contend(run: str) -> None:
            barrier.wait()
            try:
                TargetLock(local, path).acquire(me(run, "t"))
                results.append("won")
            except LockHeld:
                results.append("held")

        threads = [threading.Thread(target=contend, args=(f"run-{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["held", "won"], results


def _holder_file(path: Path, pid: int, run: str = "other-run") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = replace(me(run, "2026-12-06T02:00:00Z", "dave", "daily"), pid=pid, pid_start="")
    path.write_text(json.dumps(asdict(holder)) + "\n")


def _stale_temp(root: Path) -> Path:
    (root / "tmp").mkdir(exist_ok=True)
    stale = root / "tmp" / "old.bin"
    stale.write_bytes(b"x" * 100)
    old = (datetime.now(timezone.utc) - timedelta(days=30)).timestamp()
    os.utime(stale, (old, old))
    return stale


def test_a_second_run_fails_fast_and_changes_nothing(suite):
    stale = _stale_temp(suite.path)
    suite.config({"service": "svc", "root": ".", "temp": {"dirs": ["tmp"]}})
    lock = suite.path / ".opsproof" / "lock"
    holder = subprocess.Popen(["sleep", "60"])  # a live process on this machine holds the lock
    try:
        _holder_file(lock, holder.pid)
        started = time.monotonic()
        result = suite.run("-m", "daily", "--apply")
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.ret == 1
    out = result.stdout.str()
    assert f"pid {holder.pid} (run started 2026-12-06T02:00:00Z by dave" in out
    assert "action refused: clean-temp refused on local" in out
    assert stale.exists() and lock.exists()
    assert elapsed < 60, "the second run waited for the lock instead of failing fast"
    # The holder is gone now: its lock is stale, the next run replaces it, acts, and removes its own lock.
    assert suite.run("-m", "daily", "--apply").ret == 0
    assert not stale.exists() and not lock.exists()
    gate = next(e["data"] for t in suite.summary()["tests"] for e in t["evidence"] if e["label"].startswith("action gate"))
    assert f"replaced a stale lock of host {socket.gethostname()} pid {holder.pid}" in gate["lock"]


# Each test below kills a mutant that survived scripts/mutation (tests/MUTANTS.md).

def test_a_holder_describes_itself_with_only_what_it_has():
    bare = Holder("h", 7, "2026-12-06T02:00:00Z", "r")
    assert bare.describe() == "host h pid 7 (run started 2026-12-06T02:00:00Z)"
    full = replace(bare, operator="alice", selection="daily")
    assert full.describe() == "host h pid 7 (run started 2026-12-06T02:00:00Z by alice, -m 'daily')"


def test_this_process_as_a_holder():
    from opsproof.hosts.lock import _boot_id, _proc_start

    holder = me("r", "t", "op", "sel")
    assert holder == Holder(socket.gethostname(), os.getpid(), "t", "r", _boot_id(), _proc_start(os.getpid()), "op", "sel")
    assert holder.boot_id and holder.pid_start.isdigit()
    assert (me("r", "t").operator, me("r", "t").selection) == ("", "")


def test_a_start_time_is_read_after_the_last_parenthesis_of_the_name(tmp_path):
    """/proc/PID/stat puts the command name in parentheses, and a name may hold ") " itself (proc(5))."""
    from opsproof.hosts.lock import _proc_start

    odd = tmp_path / "a) 1 2 3"
    odd.symlink_to("/bin/sleep")
    proc = subprocess.Popen([str(odd), "60"])
    try:
        text = Path(f"/proc/{proc.pid}/stat").read_text()
        assert "(a) 1 2 3)" in text
        assert _proc_start(proc.pid) == text[text.rindex(")") + 2:].split(" ")[19]
    finally:
        proc.kill()
        proc.wait()
    assert _proc_start(proc.pid) == ""             # gone: nothing to compare


def test_asking_whether_a_holder_lives_sends_it_no_signal():
    """Asked about this very process: a signal sent to oneself is delivered before kill() returns, so a
    handler that saw nothing proves none was sent (signal 0 only checks the pid)."""
    import signal

    seen: list[int] = []
    before = {sig: signal.signal(sig, lambda n, _f: seen.append(n)) for sig in (signal.SIGHUP, signal.SIGINT)}
    try:
        assert alive(me("r", "t")) is True
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    assert seen == []


def test_a_lock_taken_and_released_keeps_nothing(local, tmp_path):
    lock = TargetLock(local, str(tmp_path / "lock"))
    assert (lock.content, lock.replaced) == (None, None)
    holder = me("r", "t")
    assert lock.acquire(holder) is True
    assert (tmp_path / "lock").read_text() == json.dumps(asdict(holder), sort_keys=True) + "\n"
    lock.release()
    assert lock.content is None and not (tmp_path / "lock").exists()


def test_unreadable_and_empty_locks_are_held_with_what_they_hold(local, tmp_path):
    with pytest.raises(LockHeld) as info:
        raise LockHeld("/l", None, "x" * 250)
    assert f"({'x' * 200!r})" in str(info.value)
    assert str(LockHeld("/l", None)).startswith("the action lock /l is held, but its content cannot be read ('')")
    path = tmp_path / "lock"
    path.write_text("garbage\n")
    with pytest.raises(LockHeld, match=r"content cannot be read \('garbage'\)"):
        TargetLock(local, str(path)).acquire(me("r", "t"))
    path.write_text("")                            # empty: as if released under us, every time we look
    import re
    with pytest.raises(LockHeld, match=re.escape(f"the action lock {path} is held, but its content cannot be read "
                                                 "('the lock changed hands three times while taking it')")):
        TargetLock(local, str(path)).acquire(me("r", "t"))


def _stale(path: Path) -> None:
    path.write_text(json.dumps(asdict(replace(me("old", "t"), pid=_dead_pid(), pid_start=""))) + "\n")


def test_a_breaker_left_by_a_crash_is_cleared_and_none_is_left_behind(local, tmp_path, monkeypatch):
    """The breaker lives next to the lock (LOCK.break): an old one is removed, ours is removed after use, and
    nothing is written where the run happens to be (here /proc, where nothing can be)."""
    monkeypatch.chdir("/proc")
    path = tmp_path / "lock"
    _stale(path)
    breaker = tmp_path / "lock.break"
    breaker.write_text("12345\n")
    old = time.time() - 300
    os.utime(breaker, (old, old))
    lock = TargetLock(local, str(path))
    assert lock.acquire(me("new", "t")) is True and lock.replaced is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock"]


def test_a_fresh_breaker_means_another_run_is_breaking_the_lock(local, tmp_path):
    path = tmp_path / "lock"
    _stale(path)
    stale = path.read_text()
    (tmp_path / "lock.break").write_text("12345\n")
    with pytest.raises(LockHeld, match="changed hands three times"):
        TargetLock(local, str(path)).acquire(me("new", "t"))
    assert path.read_text() == stale and (tmp_path / "lock.break").exists()
