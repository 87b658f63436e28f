"""HTTP health endpoints: status, JSON subset, body substring and latency, probed concurrently.

An attempt is bounded by timeout_s as a whole (lookup, connect, headers, body): each socket wait gets the time
left, and the probe stops waiting for its daemon thread at the deadline (a name lookup cannot be interrupted).
`probe_all` runs up to `concurrency` probes at once, one endpoint per worker, so a slow endpoint holds only its own
slot; idle keep-alive connections are shared per host. Standard library only (`http.client`): nothing to import.
"""
from __future__ import annotations

import functools
import http.client
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit

from ..config import Endpoint

MARGIN_S = 1.0
GRACE_S = 0.25  # how long past timeout_s an attempt may take to report its own timeout
MAX_BODY = 1024 * 1024
CHUNK = 65536


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
    """Idle keep-alive connections per (scheme, host, port, verify): a probe takes one or opens its own."""

    def __init__(self) -> None:
        self._idle: dict[tuple, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple) -> Optional[http.client.HTTPConnection]:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def give_back(self, key: tuple, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(conn)

    def __enter__(self) -> "Connections":
        return self

    def __exit__(self, *_: object) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
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


class _Attempt(threading.Thread):
    """One request in a daemon thread: the prober waits for it until the deadline, then abandons it."""

    def __init__(self, endpoint: Endpoint, url: str, pool: Connections) -> None:
        super().__init__(name="opsproof-health-attempt", daemon=True)
        self.endpoint, self.url, self.pool = endpoint, url, pool
        self.result = HealthResult(name=endpoint.label, url=url)
        self.conn: Optional[http.client.HTTPConnection] = None
        self.sock: Optional[socket.socket] = None
        self.exc: Optional[BaseException] = None

    def run(self) -> None:
        try:
            _attempt(self.endpoint, self.url, self.result, self, self.pool)
        except BaseException as exc:  # reported by the prober
            self.exc = exc

    def abort(self) -> None:
        """Best effort: shut the socket down so the abandoned thread ends now, not at the server's pace."""
        sock = self.sock or getattr(self.conn, "sock", None)
        try:
            sock.shutdown(socket.SHUT_RDWR)  # a closed socket object raises instead of touching a reused fd
        except Exception:
            pass


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


def _attempt(endpoint: Endpoint, url: str, result: HealthResult, holder: _Attempt, pool: Connections) -> None:
    deadline = time.monotonic() + endpoint.timeout_s
    parts = urlsplit(url)
    key = (parts.scheme, parts.hostname, parts.port, endpoint.verify_tls)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"User-Agent": "opsproof-health", "Accept": "*/*", **endpoint.headers}
    reused = pool.take(key)
    for conn in ([reused] if reused else []) + [None]:
        started = time.perf_counter()
        conn = holder.conn = conn or _connection(parts.scheme, parts.hostname or "", parts.port, endpoint.verify_tls,
                                                 _left(deadline))
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
    if cut or resp.will_close:
        conn.close()
    else:
        pool.give_back(key, conn)
    charset = resp.msg.get_content_charset() or "utf-8"
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    result.body_excerpt = text[:300]
    result.problems = _problems(endpoint, result.status, text, cut)


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


def probe(endpoint: Endpoint, url: Optional[str] = None, pool: Optional[Connections] = None) -> HealthResult:
    """Probe one endpoint, retrying up to endpoint.retries times while it fails (on `pool`'s connections)."""
    if pool is None:
        with Connections() as own:
            return probe(endpoint, url, own)
    url = url or endpoint.url
    result = HealthResult(name=endpoint.label, url=url)
    for attempt in range(endpoint.retries + 1):
        worker = _Attempt(endpoint, url, pool)
        worker.start()
        worker.join(endpoint.timeout_s + GRACE_S)
        alive = worker.is_alive()  # asked first: once it has ended, everything it wrote is there to read
        if alive:
            worker.abort()
        exc = _Deadline() if alive else worker.exc
        result = worker.result if exc is None else HealthResult(endpoint.label, url, error=_error(endpoint, exc))
        result.attempts = attempt + 1
        if result.ok:
            break
        if attempt < endpoint.retries:
            time.sleep(endpoint.retry_delay_s)
    return result


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
    for marker in ("Connection refused", "Name or service not known", "No route to host", "certificate verify failed"):
        if marker in text:
            return marker
    return text[:300]


def probe_all(endpoints: list[tuple[Endpoint, str]], concurrency: int = 256) -> list[HealthResult]:
    """Probe (endpoint, url) pairs, `concurrency` at a time; each answered within its own time budget.

    The run's budget fits the pool: one endpoint's worst case (timeouts, retries) times the rounds the pool
    needs. An endpoint the pool could not start within it is reported as the tool's limit, not the endpoint's.
    """
    if not endpoints:
        return []
    workers = max(1, min(concurrency, len(endpoints)))
    worst = max((e.timeout_s + GRACE_S + e.retry_delay_s) * (e.retries + 1) for e, _ in endpoints)
    rounds = -(-len(endpoints) // workers)
    budget = worst * rounds + MARGIN_S
    deadline = time.monotonic() + budget
    results: list[Optional[HealthResult]] = [None] * len(endpoints)
    todo = iter(range(len(endpoints)))
    lock = threading.Lock()

    def work(pool: Connections) -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None or time.monotonic() + worst > deadline:
                return
            results[i] = probe(*endpoints[i], pool=pool)

    with Connections() as pool:
        threads = [threading.Thread(target=work, args=(pool,), name="opsproof-health", daemon=True)
                   for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    out = []
    for i, (endpoint, url) in enumerate(endpoints):
        out.append(results[i] or HealthResult(
            name=endpoint.label, url=url,
            error=f"not probed within opsproof's budget of {budget:g} s ({len(endpoints)} endpoints, {workers} at "
                  "a time: health_concurrency) — a limit of this run, not an answer from the endpoint"))
    return out
