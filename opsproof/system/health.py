"""HTTP health endpoints: status, JSON subset, body substring and latency, probed concurrently.

Each attempt is bounded by the endpoint's timeout_s as a whole (name lookup, connect, headers
and body), not per socket read: it runs in a daemon thread the probe stops waiting for at the
deadline, so a server that drips bytes can neither hold a probe past its limit nor keep the
run from exiting.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import requests

from ..config import Endpoint

MARGIN_S = 1.0
GRACE_S = 0.25  # how long past timeout_s an attempt may take to report its own timeout
MAX_BODY = 1024 * 1024


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
    pass


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

    def __init__(self, endpoint: Endpoint, url: str) -> None:
        super().__init__(name="opsproof-health-attempt", daemon=True)
        self.endpoint, self.url = endpoint, url
        self.result = HealthResult(name=endpoint.label, url=url)
        self.response: Optional[requests.Response] = None
        self.exc: Optional[BaseException] = None

    def run(self) -> None:
        try:
            _attempt(self.endpoint, self.url, self.result, self)
        except BaseException as exc:  # reported by the prober
            self.exc = exc

    def abort(self) -> None:
        """Best effort: shut the socket down so the abandoned thread ends now, not at the server's pace."""
        raw = getattr(self.response, "raw", None)
        # A keep-alive connection still holds its socket; after "Connection: close" only the response does.
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is None:
            sock = getattr(getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None), "_sock", None)
        try:
            sock.shutdown(socket.SHUT_RDWR)  # a closed socket object raises instead of touching a reused fd
        except Exception:
            pass


def _attempt(endpoint: Endpoint, url: str, result: HealthResult, holder: Optional[_Attempt] = None) -> None:
    timeout = endpoint.timeout_s
    deadline = time.monotonic() + timeout
    started = time.perf_counter()
    with requests.get(url, headers=endpoint.headers, timeout=(timeout, timeout), stream=True,
                      verify=endpoint.verify_tls, allow_redirects=False) as resp:
        if holder is not None:
            holder.response = resp
        body = bytearray()
        cut = False
        for chunk in resp.iter_content(65536):
            body += chunk
            if time.monotonic() > deadline:
                raise _Deadline()
            if len(body) > MAX_BODY:
                cut, body = True, body[:MAX_BODY]
                break
        if time.monotonic() > deadline:
            raise _Deadline()
        result.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        result.status = resp.status_code
        text = bytes(body).decode(resp.encoding or "utf-8", errors="replace")
    result.body_excerpt = text[:300]
    problems = []
    if result.status != endpoint.status:
        problems.append(f"status {result.status}, expected {endpoint.status}")
    too_big = f"body larger than {MAX_BODY // 1048576} MiB: not read in full"
    if endpoint.json_ is not None:
        try:
            problems += _subset_problems(endpoint.json_, json.loads(text))
        except ValueError:
            problems.append(too_big + ", so its JSON was not checked" if cut else "body is not JSON")
    if endpoint.contains is not None and endpoint.contains not in text:
        problems.append(f"{too_big}, and its first {MAX_BODY // 1048576} MiB do not contain {endpoint.contains!r}"
                        if cut else f"body does not contain {endpoint.contains!r}")
    result.problems = problems


def probe(endpoint: Endpoint, url: Optional[str] = None) -> HealthResult:
    """Probe one endpoint, retrying up to endpoint.retries times while it fails."""
    url = url or endpoint.url
    result = HealthResult(name=endpoint.label, url=url)
    for attempt in range(endpoint.retries + 1):
        result.attempts = attempt + 1
        result.error, result.problems, result.status, result.latency_ms = None, [], None, None
        result.body_excerpt = ""
        worker = _Attempt(endpoint, url)
        worker.start()
        worker.join(endpoint.timeout_s + GRACE_S)
        if worker.is_alive():  # asked first: once it has ended, everything it wrote is there to read
            worker.abort()
            exc: Optional[BaseException] = _Deadline()
        else:
            exc = worker.exc
        if exc is None:
            done = worker.result
            result.status, result.latency_ms, result.body_excerpt, result.problems = (
                done.status, done.latency_ms, done.body_excerpt, done.problems)
        elif isinstance(exc, requests.RequestException):
            # A read that times out mid-body surfaces as ConnectionError(ReadTimeoutError).
            timed_out = isinstance(exc, requests.Timeout) or "timed out" in str(exc)
            result.error = (f"no complete answer within timeout_s = {endpoint.timeout_s:g} s" if timed_out
                            else f"{type(exc).__name__}: {_reason(exc)}")
        elif isinstance(exc, _Deadline):
            result.error = f"no complete answer within timeout_s = {endpoint.timeout_s:g} s"
        else:
            result.error = f"{type(exc).__name__}: {_reason(exc)}"
        if result.ok:
            break
        if attempt < endpoint.retries:
            time.sleep(endpoint.retry_delay_s)
    return result


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "Too many open files" in text:
        return ("Too many open files: opsproof ran out of file descriptors (ulimit -n) — its own limit, not the "
                "endpoint's; lower health_concurrency or raise the limit")
    for marker in ("Connection refused", "Name or service not known", "No route to host", "certificate verify failed"):
        if marker in text:
            return marker
    return text[:300]


def probe_all(endpoints: list[tuple[Endpoint, str]], concurrency: int = 32) -> list[HealthResult]:
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

    def work() -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None or time.monotonic() + worst > deadline:
                return
            results[i] = probe(*endpoints[i])

    threads = [threading.Thread(target=work, name="opsproof-health", daemon=True) for _ in range(workers)]
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
