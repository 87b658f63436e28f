"""One health request, bounded by its deadline as a whole: lookup, connect, TLS, headers and body.

Each socket wait gets the time left; a name lookup (which cannot be interrupted) runs on a small resolver pool
(`Lookup`) and is waited for no longer than that; the body is read up to MAX_BODY. `request` fills a HealthResult
(status, latency, the problems against the endpoint's expectations) and hands back a keep-alive connection for the
pool (`Connections`). The worker pool that runs many at once, within this process's limits, is health.py's.
Standard library only (`http.client`).
"""
from __future__ import annotations

import functools
import http.client
import json
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimeout
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from ..config import Endpoint

MAX_BODY = 1024 * 1024
CHUNK = 65536
RESOLVERS = 4              # name lookups at once (one per host at a time; an address in the URL needs none)


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


class Deadline(Exception):
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


class Attempt:
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


class Lookup:
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
            raise Deadline() from None

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
        raise Deadline()
    return left


def request(endpoint: Endpoint, url: str, result: HealthResult, holder: Attempt, pool: Connections,
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


def error_text(endpoint: Endpoint, exc: BaseException) -> str:
    if isinstance(exc, (Deadline, TimeoutError, socket.timeout)):
        return f"no complete answer within timeout_s = {endpoint.timeout_s:g} s"
    if isinstance(exc, ssl.SSLError):
        return f"SSLError: {reason(exc)}"
    if isinstance(exc, (OSError, http.client.HTTPException)):  # refused, reset, no route, name unknown, bad status line
        return f"ConnectionError: {reason(exc)}"
    return f"{type(exc).__name__}: {reason(exc)}"


def reason(exc: BaseException) -> str:
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
