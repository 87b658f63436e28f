"""The target host: every read goes through a testinfra host, bounded by a timeout.

A local host reads files directly (fast, bounded memory); a remote one reads through
commands on the target (`stat`, `dd`, `find`), so every measurement works unchanged over SSH.
"""
from __future__ import annotations

import os
import shlex
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from .answers import Answers

# A remote command may take its own timeout, `timeout -k`'s kill grace, the backend's connect timeout and
# this margin before the call is abandoned as a hung connection (a frozen peer, a dead network).
KILL_GRACE_S = 5.0
ANSWER_MARGIN_S = 5.0


class TargetError(Exception):
    """The target could not be read: unreachable, timed out, command failed."""


class Unanswered(TargetError):
    """A read asked while a survey is planned (opsproof/hosts/survey.py): noted as wanted, not run."""


@dataclass(frozen=True)
class FileStat:
    path: str
    exists: bool
    inode: Optional[int] = None
    size: Optional[int] = None
    mtime: Optional[float] = None
    is_file: bool = False
    error: Optional[str] = None


def plain_id(host: Any) -> str:
    """testinfra's id for a host with the port added: two sshd on one address must not collide."""
    port = getattr(getattr(host.backend, "host", None), "port", None)
    base = host.backend.get_pytest_id()
    return f"{base}:{port}" if port else base


def _reason(exc: BaseException) -> str:
    """One line saying why a backend failed (testinfra's ssh backend raises RuntimeError(CommandResult))."""
    result = exc.args[0] if exc.args else None
    stderr = getattr(result, "stderr", None)
    if isinstance(stderr, str) and stderr.strip():
        return " ".join(stderr.split())[:500]
    text = " ".join(str(exc).split())
    if text == "No existing session":  # paramiko's words when the SSH handshake never completed
        text += " (the SSH handshake did not complete: no SSH server there, or it does not answer)"
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def is_local(host: Any) -> bool:
    """Whether a testinfra host is this machine (its local backend): read directly, never marked unreachable."""
    return getattr(host.backend, "NAME", "") == "local"


class Target:
    """A testinfra host plus the command timeout from the config (built by hosts/reach.py, the one way to make one)."""

    def __init__(self, host: Any, timeout_s: float, name: Optional[str] = None,
                 down: Optional[dict[str, str]] = None, answers: Optional[Answers] = None) -> None:
        self.host = host
        self.answers = answers  # what a survey read on this host (used when remote), shared by its Targets
        self.timeout_s = timeout_s
        self._name = name
        # Shared by a run's targets: host id -> why it was found unreachable. A host found unreachable once is
        # not asked again (a frozen one would cost every later command its full timeout).
        self.down = down if down is not None else {}

    @property
    def name(self) -> str:
        """The host's id in test ids, reports and state: testinfra's, with the port (or the fleet's id for it)."""
        if self._name is None:
            self._name = plain_id(self.host)
        return self._name

    @property
    def hostname(self) -> str:
        return self.host.backend.get_hostname()

    @property
    def is_local(self) -> bool:
        return is_local(self.host)

    def run(self, command: str, *args: Any, check: bool = True):
        """Run `command` (a format string quoted like testinfra's) under `timeout` on the target."""
        quoted = command % tuple(shlex.quote(str(a)) for a in args)
        wrapped = f"timeout -k {KILL_GRACE_S:g} {self.timeout_s:g} sh -c {shlex.quote(quoted)}"
        if self.name in self.down:
            raise TargetError(f"{self.down[self.name]} (first seen earlier in this run; not retried)")
        answers = self.answers
        answered = answers.command(quoted) if answers is not None else None
        if answered is None and answers is not None and answers.planning:
            raise Unanswered(f"{self.name}: `{quoted}` is wanted by the survey")
        try:
            result = answered if answered is not None else self._call(wrapped)
        except TargetError as exc:
            raise self._unreachable(str(exc)) from None
        except Exception as exc:  # backends raise their own errors for a dead connection
            if self.is_local:
                raise TargetError(f"{self.name}: cannot run a command: {_reason(exc)}") from exc
            raise self._unreachable(f"{self.name}: unreachable: {_reason(exc)}") from exc
        if result.rc == 124 or result.rc == 137:
            raise TargetError(f"{self.name}: `{quoted}` timed out after {self.timeout_s:g} s (command_timeout_s)")
        if result.rc == 255 and not self.is_local:
            raise self._unreachable(f"{self.name}: unreachable: {result.stderr.strip() or 'ssh exited 255'}")
        if check and result.rc != 0:
            raise TargetError(f"{self.name}: `{quoted}` exited {result.rc}: {result.stderr.strip()[:500]}")
        return result

    @contextmanager
    def changing(self) -> Iterator["Target"]:
        """Around an action that changes the host: inside, every read reaches it (nothing a survey read before is
        taken for true); afterwards the survey's answers are forgotten, and the next read asks the host again."""
        answers = self.answers
        if answers is None:
            yield self
            return
        answers.forget()
        answers.acting += 1
        try:
            yield self
        finally:
            answers.acting -= 1
            answers.acted()

    def _unreachable(self, reason: str) -> TargetError:
        """The error for a host that did not answer, remembered so that no later command waits for it again."""
        self.down.setdefault(self.name, reason)
        return TargetError(reason)

    def answer_within(self, limit_s: float) -> tuple[float, str]:
        """How long to wait for an answer that the target bounds at `limit_s`, and the parts added to it, in words:
        the kill grace, the connect timeout and a margin; past it the connection hangs."""
        connect_s = float(getattr(self.host.backend, "timeout", None) or 10)
        return (limit_s + KILL_GRACE_S + connect_s + ANSWER_MARGIN_S,
                f"{KILL_GRACE_S:g} s kill grace + {connect_s:g} s connect timeout + {ANSWER_MARGIN_S:g} s")

    def _call(self, wrapped: str):
        """host.run, abandoned when a remote backend hangs past every timeout that should have ended it.

        `timeout` bounds the command on the target, ConnectTimeout the connection; neither helps when the
        peer freezes mid-session (paramiko then waits an hour for a channel, ssh without ServerAlive forever).
        """
        if self.is_local:
            return self.host.run(wrapped)
        limit, parts = self.answer_within(self.timeout_s)
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["result"] = self.host.run(wrapped)
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=call, name=f"opsproof-run {self.name}", daemon=True)
        worker.start()
        worker.join(limit)
        if worker.is_alive():
            raise TargetError(f"{self.name}: unreachable: no answer within {limit:g} s (command_timeout_s "
                              f"{self.timeout_s:g} + {parts}): the connection hangs")
        if "error" in box:
            raise box["error"]
        return box["result"]

    def ping(self) -> None:
        """Raise TargetError unless the host answers a trivial command."""
        result = self.run("echo opsproof-ok", check=False)
        if result.rc != 0 or "opsproof-ok" not in result.stdout:
            raise TargetError(f"{self.name}: unreachable (rc {result.rc}): {result.stderr.strip()[:500]}")

    def stat(self, path: str) -> FileStat:
        if self.is_local:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                return FileStat(path, exists=False)
            except OSError as exc:
                return FileStat(path, exists=False, error=exc.strerror)
            import stat as st_mod

            return FileStat(path, True, st.st_ino, st.st_size, st.st_mtime, st_mod.S_ISREG(st.st_mode))
        result = self.run("stat -L -c '%%i %%s %%Y %%F' -- %s", path, check=False)
        if result.rc != 0:
            err = result.stderr.strip()
            if "No such file" in err:
                return FileStat(path, exists=False)
            return FileStat(path, exists=False, error=err or f"stat exited {result.rc}")
        inode, size, mtime, kind = result.stdout.strip().split(" ", 3)
        return FileStat(path, True, int(inode), int(size), float(mtime), kind.startswith("regular"))

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """Up to `length` bytes of `path` from `offset`."""
        if self.is_local:
            with open(path, "rb") as fh:
                fh.seek(offset)
                return fh.read(length)
        result = self.run("dd if=%s bs=1048576 iflag=skip_bytes,count_bytes skip=%s count=%s status=none",
                          path, offset, length)
        return result.stdout_bytes

    def files(self, directory: str, pattern: str) -> list[tuple[str, float, int]]:
        """(path, mtime, size) of regular files directly in `directory` whose name matches the glob."""
        result = self.run("find %s -maxdepth 1 -type f -name %s -printf '%%T@ %%s %%p\\n'", directory, pattern,
                          check=False)
        if result.rc != 0:
            raise TargetError(f"{self.name}: cannot list {directory}: {result.stderr.strip() or result.rc}")
        out = []
        for line in result.stdout.splitlines():
            mtime, size, path = line.split(" ", 2)
            out.append((path, float(mtime), int(size)))
        return out

    def now(self) -> float:
        """The target's clock (seconds since the epoch): ages are measured on the target's time."""
        if self.is_local:
            import time

            return time.time()
        return float(self.run("date +%%s.%%N").stdout.strip())
