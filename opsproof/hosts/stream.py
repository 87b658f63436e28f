"""Several shipped calls through one SSH session: the survey's rounds (opsproof/hosts/survey.py) on one `python3`.

ship.call starts a session, a shell and a `python3` per call. On a host reached through testinfra's `ssh` backend
the survey's calls (the reads, then the reads that depend on them) instead go to one `python3` started once: each
call is a line on its stdin (the modules it needs that the host has not been sent yet, the function, its arguments),
each answer a line on its stdout. One session per host instead of two: one login shell (with whatever the user's
rc files run), one interpreter start, and the session's own round trips once.

Bounds, as ship.call's: on the target each call runs under SIGALRM at its timeout plus ship.BACKSTOP_S (exit 124,
as `timeout` exits), and a call that takes a deadline gets it; between calls the interpreter waits for the next at
most the command timeout plus the backstop. Here each answer is awaited at most its timeout, the kill grace, the
connect timeout and a margin (Target._call's bound), after which the session is killed and the host is unreachable.
A host whose ssh ends (255) before the first answer is unreachable, as Target.run says it. Any other backend, or a
testinfra without the ssh command builder used here, gets None from `open_stream`: the survey then ships per call.
Arguments travel on stdin, so they never appear in the target's process list.
"""
from __future__ import annotations

import json
import os
import selectors
import shlex
import subprocess
import textwrap
import threading
import time
from typing import Any, Optional

from . import ship
from .target import KILL_GRACE_S, Target, TargetError

_SERVE = r'''
import sys
if sys.path and sys.path[0] in ("", "."):   # `-c` puts the working folder first: nothing there may shadow the stdlib
    del sys.path[0]
import base64, dataclasses, importlib, importlib.util, io, json, os, signal, time, zipfile
SOURCES = {}
class Shipped:
    """Our modules, from the sources each line brought (compiled here, written nowhere)."""
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        base = name.replace(".", "/")
        for file, package in ((base + "/__init__.py", True), (base + ".py", False)):
            if file in SOURCES:
                return importlib.util.spec_from_loader(name, cls, origin=file, is_package=package)
    @staticmethod
    def create_module(spec):
        return None
    @staticmethod
    def exec_module(module):
        file = module.__spec__.origin
        exec(compile(SOURCES[file], file, "exec"), module.__dict__)
sys.meta_path.insert(0, Shipped)
signal.signal(signal.SIGALRM, lambda *_: os._exit(124))
requests = os.fdopen(os.dup(0), "r")      # the calls; what the calls start reads nothing of them
os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
idle = int(sys.argv[1])
signal.alarm(idle)
for line in requests:
    request = json.loads(line)
    if request["bundle"]:
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(request["bundle"]))) as zf:
            SOURCES.update((name, zf.read(name)) for name in zf.namelist())
    signal.alarm(int(request["limit_s"]) + 1)
%s    signal.alarm(idle)
''' % textwrap.indent(ship.DISPATCH, "    ")


_LATE = object()   # no answer in time (Stream._line)


class Stream:
    """One `python3` on a remote host serving ship-style calls over one SSH session (see the module docstring)."""

    def __init__(self, target: Target, argv: str) -> None:
        self.target, self._argv = target, argv
        self._proc: Optional[subprocess.Popen] = None
        self._sent: set[str] = set()
        self._out = b""
        self._err: list[bytes] = []
        self._reader: Optional[threading.Thread] = None
        self.answered = 0

    def _start(self) -> subprocess.Popen:
        self._proc = subprocess.Popen(self._argv, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
        stderr = self._proc.stderr
        self._reader = threading.Thread(target=lambda: self._err.extend(iter(lambda: stderr.read(4096), b"")),
                                        daemon=True, name=f"opsproof-stream {self.target.name}")
        self._reader.start()
        return self._proc

    def _stderr(self) -> str:
        """What ssh and the target said on stderr, to the end once the session ended (read by its own thread)."""
        if self._reader is not None:
            self._reader.join(KILL_GRACE_S)
        return b"".join(self._err).decode(errors="replace").strip()

    def _ended(self, function: str) -> TargetError:
        """The session ended without this call's answer: why, as Target.run would say it."""
        proc = self._proc
        self.close(wait=True)
        rc = proc.returncode if proc is not None else None
        stderr = self._stderr()
        if rc == 255 and not self.answered:
            return self.target._unreachable(f"{self.target.name}: unreachable: {stderr or 'ssh exited 255'}")
        if rc == 124:
            return TargetError(f"{self.target.name}: {function} timed out on the target")
        return ship.not_run(self.target.name, function, rc, stderr, ship.PYTHON)

    def call(self, function: str, kwargs: dict[str, Any], timeout_s: float, result_type: type,
             carry: tuple[str, ...] = ()) -> Any:
        """As ship.call(target, function, kwargs, timeout_s, result_type, carry=carry), through this session."""
        if self.target.name in self.target.down:
            raise TargetError(f"{self.target.down[self.target.name]} (first seen earlier in this run; not retried)")
        module = function.partition(":")[0]
        needed = sorted({m for name in (module, *carry) for m in ship.modules(name)} - self._sent)
        takes_deadline = ship.takes_deadline(function)
        limit_s = timeout_s + ship.BACKSTOP_S if takes_deadline else timeout_s
        line = json.dumps({"bundle": ship.zipped(needed) if needed else "", "function": function, "kwargs": kwargs, "limit_s": limit_s,
                           "deadline_s": timeout_s if takes_deadline else None}) + "\n"
        proc = self._proc or self._start()
        bound, parts = self.target.answer_within(limit_s)
        deadline = time.monotonic() + bound
        sent: list[bool] = []

        def send() -> None:   # ssh reads stdin once the session's channel is open: a frozen peer would block it
            try:
                proc.stdin.write(line.encode())
                proc.stdin.flush()
                sent.append(True)
            except OSError:
                sent.append(False)

        writer = threading.Thread(target=send, daemon=True, name=f"opsproof-stream-send {self.target.name}")
        writer.start()
        writer.join(bound)
        if writer.is_alive():
            proc.kill()
            self.close()
            raise self.target._unreachable(f"{self.target.name}: unreachable: the request was not taken within "
                                           f"{bound:g} s ({function}): the connection hangs")
        if sent != [True]:
            raise self._ended(function)
        self._sent.update(needed)
        answer = self._line(deadline)
        if answer is None:
            raise self._ended(function)
        if answer is _LATE:           # silent past every bound: the connection hangs
            proc.kill()
            self.close()
            raise self.target._unreachable(f"{self.target.name}: unreachable: no answer within {bound:g} s "
                                           f"({function}: {limit_s:g} s + {parts})")
        self.answered += 1
        return ship.typed(json.loads(answer[len(ship.MARK):]), result_type)

    def _line(self, deadline: float) -> Any:
        """The next answer line (MARK ...) before `deadline`; None if the output ended first, _LATE if the time ran
        out first."""
        fd = self._proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                while b"\n" in self._out:
                    text, self._out = self._out.split(b"\n", 1)
                    if text.startswith(ship.MARK.encode()):
                        return text.decode()
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return _LATE
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return None
                self._out += chunk

    def close(self, wait: bool = False) -> None:
        """End the session: stdin closed (the interpreter ends at that), the ssh process reaped (killed if it lingers
        past the kill grace); in the background unless `wait`, so that no one waits for the session's last round trip."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass

        def reap() -> None:
            try:
                proc.wait(timeout=KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()

        if wait:
            reap()
        else:
            threading.Thread(target=reap, daemon=True, name=f"opsproof-stream-end {self.target.name}").start()


def open_stream(target: Target) -> Optional[Stream]:
    """A Stream to `target` when it is remote and reached through testinfra's `ssh` backend; None otherwise (then
    ship.call, one session per call). Nothing runs until the first call."""
    backend = getattr(target.host, "backend", None)
    build = getattr(backend, "_build_ssh_command", None)
    if target.is_local or getattr(backend, "NAME", "") != "ssh" or build is None:
        return None
    idle_s = int(target.timeout_s + ship.BACKSTOP_S)
    remote = (f"command -v {ship.PYTHON} >/dev/null || {{ echo {ship.NO_PYTHON} >&2; exit 127; }}; "
              f"exec {ship.PYTHON} -c {shlex.quote(_SERVE)} {idle_s}")
    try:
        cmd, args = build(backend.get_command("sh -c %s", remote))
        return Stream(target, backend.quote(" ".join(cmd), *args))
    except Exception:  # noqa: BLE001 - a testinfra whose ssh builder differs: ship per call, as before
        return None
