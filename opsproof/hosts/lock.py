"""One run acts on a target at a time: a lock file on the target, naming its holder.

The lock is created complete and atomically (written to a private temporary file, then
hard-linked to its name: `ln` fails when the name exists), so a crash never leaves a half
written lock. A second run does not wait: it fails at once, naming the holder's host, pid and
start time. A lock is stale when its holder ran on this machine and that process is gone (the
pid is dead, belongs to a later process, or the machine rebooted since); a stale lock is
replaced, under a short-lived breaker lock so two runs never both break it. A lock from another
machine cannot be judged from here: it is honoured, and the message says how to remove it.
"""
from __future__ import annotations

import json
import os
import posixpath
import socket
from dataclasses import asdict, dataclass
from typing import Optional

from .target import Target, TargetError


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    started: str               # when the holding run started, UTC ISO 8601
    run: str                   # the run's id (pytest-xdist workers of one run share it)
    boot_id: str = ""
    pid_start: str = ""        # the process's start time in clock ticks since boot (/proc/PID/stat field 22)
    operator: str = ""
    selection: str = ""

    def describe(self) -> str:
        who = f" by {self.operator}" if self.operator else ""
        sel = f", -m {self.selection!r}" if self.selection else ""
        return f"host {self.host} pid {self.pid} (run started {self.started}{who}{sel})"


class LockHeld(Exception):
    def __init__(self, path: str, holder: Optional[Holder], raw: str = "") -> None:
        self.path, self.holder, self.raw = path, holder, raw
        if holder:
            what = f"held by {holder.describe()}"
        else:
            what = f"held, but its content cannot be read ({raw[:200]!r})"
        super().__init__(f"the action lock {path} is {what}; two runs never act on one target at once — wait "
                         f"for that run, or if it is gone (another machine, a killed run) remove {path}")


def _proc_start(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def me(run: str, started: str, operator: str = "", selection: str = "") -> Holder:
    """This process as a lock holder."""
    pid = os.getpid()
    return Holder(socket.gethostname(), pid, started, run, _boot_id(), _proc_start(pid), operator, selection)


def alive(holder: Holder) -> Optional[bool]:
    """Whether the holder still runs: True/False when it ran on this machine, None when that cannot be told."""
    if holder.host != socket.gethostname():
        return None
    if holder.boot_id and _boot_id() and holder.boot_id != _boot_id():
        return False  # rebooted since: every process of then is gone
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    if holder.pid_start and _proc_start(holder.pid) not in ("", holder.pid_start):
        return False  # the pid was reused by a later process
    return True


def _parse(raw: str) -> Optional[Holder]:
    try:
        data = json.loads(raw)
        return Holder(**{k: data[k] for k in Holder.__dataclass_fields__ if k in data})
    except (ValueError, TypeError, KeyError):
        return None


class TargetLock:
    """The lock file `path` on `target`."""

    def __init__(self, target: Target, path: str) -> None:
        self.target, self.path = target, path
        self.content: Optional[str] = None  # what we wrote, when we hold it
        self.replaced: Optional[Holder] = None  # the stale holder we replaced, for the evidence

    def _try_create(self, content: str) -> Optional[str]:
        """Create the lock; None when created, else the current lock's content."""
        result = self.target.run(
            "umask 022; mkdir -p %s && tmp=%s.$$.tmp && printf '%%s\\n' %s > \"$tmp\" && "
            "if ln \"$tmp\" %s 2>/dev/null; then rm -f \"$tmp\"; echo opsproof-acquired; "
            "else rm -f \"$tmp\"; cat %s 2>/dev/null || true; fi",
            posixpath.dirname(self.path), self.path, content, self.path, self.path)
        out = result.stdout.strip()
        return None if out == "opsproof-acquired" else out

    def _break(self, stale_raw: str) -> bool:
        """Remove the lock if it still holds `stale_raw`, under a breaker lock. True when removed."""
        breaker = self.path + ".break"
        result = self.target.run(
            "if [ -n \"$(find %s -mmin +1 2>/dev/null)\" ]; then rm -f %s; fi; "  # a breaker left by a crash
            "tmp=%s.$$.tmp && echo $$ > \"$tmp\" && if ln \"$tmp\" %s 2>/dev/null; then rm -f \"$tmp\"; "
            "if [ \"$(cat %s 2>/dev/null)\" = %s ]; then rm -f %s; echo opsproof-broken; fi; rm -f %s; "
            "else rm -f \"$tmp\"; fi",
            breaker, breaker, breaker, breaker, self.path, stale_raw, self.path, breaker)
        return "opsproof-broken" in result.stdout

    def acquire(self, holder: Holder) -> bool:
        """Take the lock. True: taken now; False: this run (another worker) already holds it. Raises LockHeld."""
        content = json.dumps(asdict(holder), sort_keys=True)
        for _ in range(3):
            current = self._try_create(content)
            if current is None:
                self.content = content
                return True
            if current == "":
                continue  # released between our attempt and the read: try again
            other = _parse(current)
            if other and other.run == holder.run:
                return False
            if other and alive(other) is False:
                if self._break(current):
                    self.replaced = other
                continue
            raise LockHeld(self.path, other, current)
        raise LockHeld(self.path, None, "the lock changed hands three times while taking it")

    def release(self) -> None:
        """Remove the lock if it is still ours (never another run's)."""
        if self.content is None:
            return
        try:
            self.target.run("if [ \"$(cat %s 2>/dev/null)\" = %s ]; then rm -f %s; fi", self.path, self.content,
                            self.path, check=False)
        except TargetError:
            pass
        self.content = None
