"""HTTP health endpoints: status, JSON subset, body substring and latency, probed concurrently.

`probe_all` keeps up to `concurrency` probes in flight on as many worker threads, each with a small stack
(THREAD_STACK, not the default 8 MiB: 1 024 workers fit in 0.5 GiB of address space), fewer where the process's
limits leave less room: the file descriptors `ulimit -n` leaves (a probe in flight holds one socket, an idle keep-alive
connection one more), the address space `ulimit -v` leaves (workers take at most half of it: a process that ran out
of it entirely can be aborted by the C library, not just refused a thread), a thread refused all the same (`-u`), a
socket refused with EMFILE (that worker hands its endpoint to the others and stops). Such a limit is said once for the
run (`Probes.limit`), never per endpoint; an endpoint it left unprobed says so, as the tool's limit.

An attempt is bounded by timeout_s as a whole (health_attempt.py: each socket wait gets the time left, a name lookup
runs on a small resolver pool), and the calling thread watches the attempts in flight and shuts down the socket of
any still running past its end. Idle keep-alive connections are shared per host. Standard library only.
"""
from __future__ import annotations

import errno
import os
import resource
import threading
import time
from collections import deque
from typing import Optional

from ..config import Endpoint
from .health_attempt import Attempt, Connections, Deadline, HealthResult, Lookup, error_text, reason, request

__all__ = ["HealthResult", "Probes", "address_room", "fd_room", "probe", "probe_all", "unanswered", "unhealthy"]

MARGIN_S = 1.0
GRACE_S = 0.25  # how long past timeout_s an attempt may take to report its own timeout before its socket is shut
THREAD_STACK = 512 * 1024  # a worker's stack: http.client, ssl and json (its recursion limit included) need far less
THREAD_COST = 1024 * 1024  # a worker's share of the address space: its stack, guard page, thread-local data, buffers
FD_RESERVE = 32            # descriptors left to the rest of the process: report, logs, state, lookups


def unanswered(result: HealthResult) -> str:
    """Why there was no answer to judge, as a sentence: `api (http://...) did not answer: ..., after 2 attempt(s)`."""
    return f"{result.name} ({result.url}) did not answer: {result.error}, after {result.attempts} attempt(s)"


def unhealthy(result: HealthResult) -> str:
    """What was wrong with an answer, as a sentence: each problem, and how the body begins."""
    begins = " ".join(result.body_excerpt.split())[:160]
    return (f"{result.name} ({result.url}) answered {result.status} but is not healthy: " + "; ".join(result.problems)
            + (f" (the body begins: {begins})" if begins else " (the body is empty)"))


def probe(endpoint: Endpoint, url: Optional[str] = None) -> HealthResult:
    """Probe one endpoint, retrying up to endpoint.retries times while it fails."""
    return probe_all([(endpoint, url or endpoint.url)], 1)[0]


def _scarce(exc: BaseException) -> bool:
    """A resource of this process ran out (descriptors, threads): not the endpoint's doing."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.EMFILE, errno.ENFILE)
    return isinstance(exc, RuntimeError) and "can't start new thread" in str(exc)


def _note(exc: BaseException) -> str:
    """A resource limit in a few words, for the run's one line: what ran out and which limit it was."""
    if isinstance(exc, OSError):
        return f"{os.strerror(exc.errno or errno.EMFILE)} (ulimit -n)"
    return f"{exc} (ulimit -v or -u)"


def fd_room() -> tuple[int, int]:
    """(file descriptors this process may still open, less a reserve for the rest of it; the soft `ulimit -n`)."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return 1 << 20, soft
    try:
        used = len(os.listdir("/dev/fd"))
    except OSError:  # no way to count them: take half for used
        used = soft // 2
    return soft - used - min(FD_RESERVE, soft // 4), soft


def address_room() -> Optional[int]:
    """Worker threads the address space `ulimit -v` leaves room for, keeping half of what is left for the rest of the
    process; None without a limit (or where the process's size cannot be read)."""
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/status") as status:
            used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        return None
    return max(0, (soft - used) // 2 // THREAD_COST)


class Probes(list):
    """probe_all's results, in the order asked; `at_once` is how many were in flight at most, and `limit` says why
    not as many as asked (a limit of this process, said once for the run), else None."""

    def __init__(self, results: list[HealthResult], at_once: int = 0, limit: Optional[str] = None) -> None:
        super().__init__(results)
        self.at_once, self.limit = at_once, limit


_STACK = threading.Lock()  # threading.stack_size is the process's: one run sets it around its own starts


class _Run:
    """One probe_all: its endpoints, the workers taking them in turn, the attempts in flight and their deadlines."""

    def __init__(self, endpoints: list[tuple[Endpoint, str]], concurrency: int) -> None:
        self.endpoints = endpoints
        self.results: list[Optional[HealthResult]] = [None] * len(endpoints)
        self.todo = deque(range(len(endpoints)))
        self.cond = threading.Condition()
        self.running: set[Attempt] = set()
        self.asked = max(1, min(concurrency, len(endpoints)))
        room, soft = fd_room()
        threads = address_room()
        self.width = max(1, min(self.asked, room))        # workers taking endpoints
        self.busy = 0                                      # workers not yet ended
        self.peak = 0                                      # attempts in flight at once, at most
        self.limits = [f"ulimit -n {soft} leaves room for {max(room, 1)} sockets"] if self.width < self.asked else []
        if threads is not None and threads < self.width:
            self.width = max(1, threads)
            self.limits.append(f"ulimit -v leaves room for {threads} probe threads")
        self.threads = threads is None or threads > 0    # none: probe in the calling thread
        self.pool = Connections(max_idle=max(0, room - self.width))
        self.lookup = Lookup()
        self.worst = max((e.timeout_s + GRACE_S + e.retry_delay_s) * (e.retries + 1) for e, _ in endpoints)
        self.started = time.monotonic()
        self.closed = False

    @property
    def deadline(self) -> float:
        """The run's budget fits the pool: one endpoint's worst case (timeouts, retries) times the rounds it needs."""
        return self.started + self.budget

    @property
    def budget(self) -> float:
        return self.worst * -(-len(self.endpoints) // self.width) + MARGIN_S

    def go(self) -> Probes:
        started = self._start(self.width) if self.threads else 0
        with self.cond:
            self.width = max(1, self.width)
        if not started:              # not one thread: probe here, one after another
            self.busy = 1
            self._work()
        self._watch()
        with self.cond:
            self.closed = True
        self.lookup.close()
        self.pool.close()
        out = Probes([], self.peak, None)
        for i, (endpoint, url) in enumerate(self.endpoints):
            out.append(self.results[i] or HealthResult(
                name=endpoint.label, url=url,
                error=f"not probed within opsproof's budget of {self.budget:g} s ({len(self.endpoints)} endpoints, "
                      f"{self.width} at a time: health_concurrency) — a limit of this run, not an answer from the "
                      "endpoint"))
        if self.limits:
            out.limit = (f"at most {self.peak} of {len(self.endpoints)} endpoints probed at once, not {self.asked} "
                         f"(health_concurrency): " + "; ".join(dict.fromkeys(self.limits)))
        return out

    def _start(self, count: int) -> int:
        """Start up to `count` workers with small stacks; how many started (a refusal is noted, not raised)."""
        with _STACK:
            previous = threading.stack_size()
            try:
                threading.stack_size(THREAD_STACK)
            except (ValueError, RuntimeError):  # a platform that will not: its default size
                pass
            try:
                for started in range(count):
                    with self.cond:
                        self.busy += 1
                    try:
                        threading.Thread(target=self._work, name="opsproof-health", daemon=True).start()
                    except RuntimeError as exc:  # can't start new thread: address space (ulimit -v) or -u
                        with self.cond:
                            self.busy -= 1
                            self.width -= count - started
                            self.limits.append(f"{_note(exc)} after {started} threads")
                        return started
                return count
            finally:
                threading.stack_size(previous)

    def _watch(self) -> None:
        """Until every worker has ended (or the budget is spent): shut down attempts running past their deadline."""
        with self.cond:
            while self.busy:
                now = time.monotonic()
                ends = []
                for attempt in self.running:
                    if attempt.aborted:
                        continue
                    if attempt.deadline + GRACE_S <= now:
                        attempt.abort()
                    else:
                        ends.append(attempt.deadline + GRACE_S)
                if now >= self.deadline:
                    return
                self.cond.wait(min(ends, default=self.deadline) - now)

    def _work(self) -> None:
        try:
            while True:
                with self.cond:
                    if self.closed or not self.todo or time.monotonic() + self.worst > self.deadline:
                        return
                    i = self.todo.popleft()
                try:
                    self.results[i] = self._probe(*self.endpoints[i])
                except _Scarce as scarce:
                    with self.cond:
                        self.limits.append(_note(scarce.exc))
                        if self.busy > 1:             # the others go on with it, one fewer at a time
                            self.todo.appendleft(i)
                            self.width = max(1, self.width - 1)
                            return
                    endpoint, url = self.endpoints[i]
                    self.results[i] = HealthResult(endpoint.label, url, attempts=1,
                                                   error=f"not probed: {reason(scarce.exc)}")
        finally:
            with self.cond:
                self.busy -= 1
                self.cond.notify_all()

    def _probe(self, endpoint: Endpoint, url: str) -> HealthResult:
        """Probe one endpoint, retrying up to endpoint.retries times while it fails; raises _Scarce."""
        result = HealthResult(name=endpoint.label, url=url)
        for attempt in range(endpoint.retries + 1):
            holder = Attempt(endpoint.timeout_s)
            with self.cond:
                self.running.add(holder)
                self.peak = max(self.peak, len(self.running))
                self.cond.notify_all()
            result = HealthResult(name=endpoint.label, url=url)
            try:
                keep, exc = request(endpoint, url, result, holder, self.pool, self.lookup), None
            except Exception as caught:
                keep, exc = None, caught
            with self.cond:
                self.running.discard(holder)
                aborted = holder.aborted
            if keep is not None and not aborted:
                self.pool.give_back(*keep)
            elif keep is not None:
                keep[1].close()
            if exc is not None:
                if _scarce(exc):
                    raise _Scarce(exc)
                result = HealthResult(endpoint.label, url, error=error_text(endpoint, Deadline() if aborted else exc))
            result.attempts = attempt + 1
            if result.ok:
                break
            if attempt < endpoint.retries:
                time.sleep(endpoint.retry_delay_s)
        return result


class _Scarce(Exception):
    """A resource of this process ran out during an attempt (`exc`): the endpoint was not answered for it."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.exc = exc


def probe_all(endpoints: list[tuple[Endpoint, str]], concurrency: int = 256) -> Probes:
    """Probe (endpoint, url) pairs, up to `concurrency` at a time (fewer where this process's limits leave less room:
    `Probes.limit` says so); each answered within its own time budget, the results in the order asked.

    The run's budget fits the pool: one endpoint's worst case (timeouts, retries) times the rounds the pool
    needs. An endpoint the pool could not start within it is reported as the tool's limit, not the endpoint's.
    """
    if not endpoints:
        return Probes([])
    return _Run(endpoints, concurrency).go()
