"""The survey's shipped side: run a host's read-only commands and library calls in one go, on the target.

Standard library only: opsproof.hosts.survey ships it with opsproof.hosts.ship (the called functions' modules
carried beside it) and hands back, in order, each command's exit status and output and each call's result. A
command runs as Target.run would run it (`sh -c`, bounded by the command timeout: exit 124 when it ran out), up to
WORKERS of them at once (they only read, and none depends on another: a read that does is the next round's); a
call that raised, or a read the deadline left no time for, comes back as None and is asked again on its own later.
"""
from __future__ import annotations

import base64
import dataclasses
import importlib
import inspect
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

TIMED_OUT = 124  # as `timeout` exits
WORKERS = 8      # commands run at once (each waits on its own process; threads only wait)
KILL_WAIT_S = 5  # after a timeout, how long the killed command's output is waited for


def _command(command: str, left: Callable[[], float]) -> Optional[list]:
    """[rc, stdout, stderr] of `command`, its budget (`left()`) taken when it starts; past it the command's whole
    process group is killed (as `timeout -k` would) and it answers TIMED_OUT; None when no time was left to start it
    or it could not start (it is then asked again on its own)."""
    budget = left()
    if budget <= 0:
        return None
    try:
        proc = subprocess.Popen(["sh", "-c", command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError:
        return None
    try:
        stdout, stderr = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.communicate(timeout=KILL_WAIT_S)   # a child that left the group may hold the pipes: not waited for
        except subprocess.TimeoutExpired:
            pass
        return [TIMED_OUT, "", ""]
    return [proc.returncode, base64.b64encode(stdout).decode(), base64.b64encode(stderr).decode()]


def _call(function: str, kwargs: dict, timeout_s: float) -> Any:
    module, _, name = function.partition(":")
    fn = getattr(importlib.import_module(module), name)
    if "deadline" in inspect.signature(fn).parameters:
        kwargs = {**kwargs, "deadline": time.monotonic() + timeout_s}
    result = fn(**kwargs)
    return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result


def gather(commands: list, calls: list, timeout_s: float, deadline: Optional[float] = None) -> dict:
    """`commands` (shell text) and `calls` ([function, kwargs, timeout_s]) run here, each bounded by its timeout and
    all by `deadline`: {"commands": [[rc, stdout b64, stderr b64] or None], "calls": [result or None]}."""
    def left(limit: float) -> float:
        return limit if deadline is None else min(limit, deadline - time.monotonic())

    out: dict = {"commands": [], "calls": []}
    if commands:   # read-only and independent of each other: side by side, each under its own timeout
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(commands))) as pool:
            running = [pool.submit(_command, command, lambda: left(timeout_s)) for command in commands]
            out["commands"] = [job.result() for job in running]
    for function, kwargs, call_timeout_s in calls:
        budget = left(call_timeout_s)
        try:
            out["calls"].append(_call(function, kwargs, budget) if budget > 0 else None)
        except Exception:  # noqa: BLE001 - asked again on its own, where the error is reported with its context
            out["calls"].append(None)
    return out
