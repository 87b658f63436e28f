"""HTTP health endpoints: status, JSON subset, body substring and latency, probed concurrently.

`probe_all` keeps up to `concurrency` probes in flight on as many worker threads, each with a small stack
(THREAD_STACK, not the default 8 MiB: 1 024 workers fit in 0.5 GiB of address space), fewer where the process's
limits leave less room: the file descriptors `ulimit -n` leaves (a probe in flight holds one socket, an idle keep-alive
connection one more), the address space `ulimit -v` leaves (workers take at most half of it: a process that ran out
of it entirely can be aborted by the C library, not just refused a thread), a thread refused all the same (`-u`), a
socket refused with EMFILE (that worker hands its endpoint to the others and stops). Such a limit is said once for the
run (`Probes.limit`), never per endpoint; an endpoint it left unprobed says so, as the tool's limit.

An attempt is bounded by timeout_s as a whole (lookup, connect, TLS, headers, body): each socket wait gets the time
left, a name lookup (which cannot be interrupted) runs on a small resolver pool and is waited for no longer than that,
and the calling thread watches the attempts in flight and shuts down the socket of any still running past its end.
Idle keep-alive connections are shared per host. Standard library only (`http.client`): nothing to import.
"""
from __future__ import annotations

import errno
import functools
import http.client
import json
import os
import resource
import socket
import ssl
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimeout
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from ..config import Endpoint

MARGIN_S = 1.0
GRACE_S = 0.25  # how long past timeout_s an attempt may take to report its own timeout before its socket is shut
MAX_BODY = 1024 * 1024
CHUNK = 65536
THREAD_STACK = 512 * 1024  # a worker's stack: http.client, ssl and json (its recursion limit included) need far less
THREAD_COST = 1024 * 1024  # a worker's share of the address space: its stack, guard page, thread-local data, buffers
RESOLVERS = 4              # name lookups at once (one per host at a time; an address in the URL needs none)
FD_RESERVE = 32            # descriptors left to the rest of the process: report, logs, state, lookups


@dataclass
class HealthResult:
    name: str
    url: str
    status: Optional[int] = None
    latency_ms: Optional[float] = None
    attempts: int = 0
    body_excerpt: str = ""
    problems: list[str] = field(default_factory=list)
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.problems


class _Deadline(Exception):
    """The attempt's time is up."""


class Connections:
    """Idle keep-alive connections per (scheme, host, port, verify): a probe takes one or opens its own. At most
    `max_idle` are kept (each holds a file descriptor); one more is closed instead."""

    def __init__(self, max_idle: int = 1 << 30) -> None:
        self._idle: dict[tuple, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._count, self._max_idle = 0, max_idle

    def take(self, key: tuple) -> Optional[http.client.HTTPConnection]:
        with self._lock:
            idle = self._idle.get(key)
            if not idle:
                return None
            self._count -= 1
            return idle.pop()

    def give_back(self, key: tuple, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if self._count < self._max_idle:
                self._idle.setdefault(key, []).append(conn)
                self._count += 1
                return
        conn.close()

    def __enter__(self) -> "Connections":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle, self._count = self._idle, {}, 0
        for conn in (c for conns in idle.values() for c in conns):
            conn.close()


def _subset_problems(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Where `actual` does not contain `expected` (dicts by key, lists by position, scalars equal)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where} is {type(actual).__name__}, expected an object"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{where}.{key} is missing")
            else:
                out += _subset_problems(value, actual[key], f"{where}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) < len(expected):
            return [f"{where} is {actual!r}, expected a list starting {expected!r}"]
        return [p for i, v in enumerate(expected) for p in _subset_problems(v, actual[i], f"{where}[{i}]")]
    return [] if expected == actual else [f"{where} is {actual!r}, expected {expected!r}"]


class _Attempt:
    """One request's deadline and socket: the run's watch shuts the socket down once the deadline has passed."""

    def __init__(self, timeout_s: float) -> None:
        self.deadline = time.monotonic() + timeout_s
        self.conn: Optional[http.client.HTTPConnection] = None
        self.sock: Optional[socket.socket] = None
        self.aborted = False

    def abort(self) -> None:
        """Best effort: shut the socket down, so the attempt stops waiting now, not at the server's pace."""
        self.aborted = True
        sock = self.sock or getattr(self.conn, "sock", None)
        try:
            sock.shutdown(socket.SHUT_RDWR)  # a closed socket object raises instead of touching a reused fd
        except Exception:
            pass


class _Lookup:
    """Name lookups of one run: an address at once, a name on a small pool of threads, waited for with the time left
    (getaddrinfo cannot be interrupted; an abandoned lookup ends at the resolver's own timeout)."""

    def __init__(self) -> None:
        self._pool: Optional[ThreadPoolExecutor] = None
        self._lock = threading.Lock()

    def __call__(self, host: str, port: int, deadline: float) -> list:
        try:
            return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
        except socket.gaierror:
            pass  # a name
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(RESOLVERS, thread_name_prefix="opsproof-lookup")
        future = self._pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        try:
            return future.result(_left(deadline))
        except LookupTimeout:
            future.cancel()
            raise _Deadline() from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def _open(address: tuple[str, int], timeout: Any = None, source_address: Any = None, *, deadline: float,
          lookup: Callable[[str, int, float], list]) -> socket.socket:
    """socket.create_connection (http.client's hook for it), with the lookup and each connect bounded by `deadline`."""
    error: Optional[OSError] = None
    for family, kind, proto, _, addr in lookup(*address, deadline):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_left(deadline))
            sock.connect(addr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
    raise error or OSError(f"no address for {address[0]}")


@functools.lru_cache(maxsize=None)
def _context(verify: bool) -> ssl.SSLContext:
    """One TLS context per verification mode: the system's CA store is loaded once, not per connection."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def _connection(scheme: str, host: str, port: Optional[int], verify: bool, timeout: float) -> Any:
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=_context(verify))
    return http.client.HTTPConnection(host, port, timeout=timeout)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Deadline()
    return left


def _attempt(endpoint: Endpoint, url: str, result: HealthResult, holder: _Attempt, pool: Connections,
             lookup: Callable[[str, int, float], list]) -> Optional[tuple[tuple, http.client.HTTPConnection]]:
    """One request, filling `result`; returns the connection to keep (with its pool key), if it may ask again."""
    deadline = holder.deadline
    parts = urlsplit(url)
    key = (parts.scheme, parts.hostname, parts.port, endpoint.verify_tls)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"User-Agent": "opsproof-health", "Accept": "*/*", **endpoint.headers}
    reused = pool.take(key)
    for conn in ([reused] if reused else []) + [None]:
        started = time.perf_counter()
        if conn is None:
            conn = _connection(parts.scheme, parts.hostname or "", parts.port, endpoint.verify_tls, _left(deadline))
        conn._create_connection = functools.partial(_open, deadline=deadline, lookup=lookup)  # http.client's hook
        holder.conn, holder.sock = conn, None
        try:
            conn.timeout = _left(deadline)          # connect (a reused socket: the request's writes)
            if conn.sock is not None:
                conn.sock.settimeout(conn.timeout)
            conn.request("GET", target, headers=headers)
            sock = holder.sock = conn.sock          # getresponse() drops conn.sock when the server will close
            sock.settimeout(_left(deadline))
            resp = conn.getresponse()
            body, cut = _read(sock, resp, deadline)
            resp.close()                            # read to its end (or cut): the connection may ask again
            break
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            if conn is not reused:
                raise
            # the server had closed the idle connection: once more on a new one
        except BaseException:
            conn.close()
            raise
    result.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    result.status = resp.status
    keep = None
    if cut or resp.will_close:
        conn.close()
    else:
        keep = (key, conn)
    charset = resp.msg.get_content_charset() or "utf-8"
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    result.body_excerpt = text[:300]
    result.problems = _problems(endpoint, result.status, text, cut)
    return keep


def _read(sock: socket.socket, resp: http.client.HTTPResponse, deadline: float) -> tuple[bytes, bool]:
    """The body, at most MAX_BODY bytes (and whether it was cut), every socket wait limited to the time left."""
    body = bytearray()
    while True:
        sock.settimeout(_left(deadline))
        chunk = b"" if resp.isclosed() else resp.read1(CHUNK)
        _left(deadline)
        if not chunk:
            return bytes(body), False
        body += chunk
        if len(body) > MAX_BODY:
            return bytes(body[:MAX_BODY]), True


def _problems(endpoint: Endpoint, status: int, text: str, cut: bool) -> list[str]:
    problems = []
    if status != endpoint.status:
        problems.append(f"status {status}, expected {endpoint.status}")
    too_big = f"body larger than {MAX_BODY // 1048576} MiB: not read in full"
    if endpoint.json_ is not None:
        try:
            problems += _subset_problems(endpoint.json_, json.loads(text))
        except ValueError:
            problems.append(too_big + ", so its JSON was not checked" if cut else "body is not JSON")
    if endpoint.contains is not None and endpoint.contains not in text:
        problems.append(f"{too_big}, and its first {MAX_BODY // 1048576} MiB do not contain {endpoint.contains!r}"
                        if cut else f"body does not contain {endpoint.contains!r}")
    return problems


def probe(endpoint: Endpoint, url: Optional[str] = None) -> HealthResult:
    """Probe one endpoint, retrying up to endpoint.retries times while it fails."""
    return probe_all([(endpoint, url or endpoint.url)], 1)[0]


def _error(endpoint: Endpoint, exc: BaseException) -> str:
    if isinstance(exc, (_Deadline, TimeoutError, socket.timeout)):
        return f"no complete answer within timeout_s = {endpoint.timeout_s:g} s"
    if isinstance(exc, ssl.SSLError):
        return f"SSLError: {_reason(exc)}"
    if isinstance(exc, (OSError, http.client.HTTPException)):  # refused, reset, no route, name unknown, bad status line
        return f"ConnectionError: {_reason(exc)}"
    return f"{type(exc).__name__}: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "Too many open files" in text:
        return ("Too many open files: opsproof ran out of file descriptors (ulimit -n) — its own limit, not the "
                "endpoint's; lower health_concurrency or raise the limit")
    if "can't start new thread" in text:
        return ("can't start new thread: opsproof could not start a thread (ulimit -v or -u) — its own limit, not "
                "the endpoint's; lower health_concurrency or raise the limit")
    for marker in ("Connection refused", "Name or service not known", "No route to host", "certificate verify failed"):
        if marker in text:
            return marker
    return text[:300]


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
        self.running: set[_Attempt] = set()
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
        self.lookup = _Lookup()
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
                                                   error=f"not probed: {_reason(scarce.exc)}")
        finally:
            with self.cond:
                self.busy -= 1
                self.cond.notify_all()

    def _probe(self, endpoint: Endpoint, url: str) -> HealthResult:
        """Probe one endpoint, retrying up to endpoint.retries times while it fails; raises _Scarce."""
        result = HealthResult(name=endpoint.label, url=url)
        for attempt in range(endpoint.retries + 1):
            holder = _Attempt(endpoint.timeout_s)
            with self.cond:
                self.running.add(holder)
                self.peak = max(self.peak, len(self.running))
                self.cond.notify_all()
            result = HealthResult(name=endpoint.label, url=url)
            try:
                keep, exc = _attempt(endpoint, url, result, holder, self.pool, self.lookup), None
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
                result = HealthResult(endpoint.label, url, error=_error(endpoint, _Deadline() if aborted else exc))
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
