"""HTTP health endpoints: status, JSON subset, body substring and latency, probed concurrently.

Each attempt is bounded by the endpoint's timeout_s as a whole (connect, headers and body),
not per socket read, so a server that drips bytes cannot hold a probe past its limit.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Optional

import requests

MARGIN_S = 1.0
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


def _attempt(endpoint: Any, url: str, result: HealthResult) -> None:
    timeout = endpoint.timeout_s
    deadline = time.monotonic() + timeout
    started = time.perf_counter()
    with requests.get(url, headers=endpoint.headers, timeout=(timeout, timeout), stream=True,
                      verify=endpoint.verify_tls, allow_redirects=False) as resp:
        body = bytearray()
        for chunk in resp.iter_content(65536):
            body += chunk
            if time.monotonic() > deadline:
                raise _Deadline()
            if len(body) > MAX_BODY:
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
    if endpoint.json_ is not None:
        try:
            problems += _subset_problems(endpoint.json_, json.loads(text))
        except ValueError:
            problems.append("body is not JSON")
    if endpoint.contains is not None and endpoint.contains not in text:
        problems.append(f"body does not contain {endpoint.contains!r}")
    result.problems = problems


def probe(endpoint: Any, url: Optional[str] = None) -> HealthResult:
    """Probe one endpoint, retrying up to endpoint.retries times while it fails."""
    url = url or endpoint.url
    result = HealthResult(name=endpoint.label, url=url)
    for attempt in range(endpoint.retries + 1):
        result.attempts = attempt + 1
        result.error, result.problems, result.status, result.latency_ms = None, [], None, None
        try:
            _attempt(endpoint, url, result)
        except requests.RequestException as exc:
            # A read that times out mid-body surfaces as ConnectionError(ReadTimeoutError).
            timed_out = isinstance(exc, requests.Timeout) or "timed out" in str(exc)
            result.error = (f"no complete answer within timeout_s = {endpoint.timeout_s:g} s" if timed_out
                            else f"{type(exc).__name__}: {_reason(exc)}")
        except _Deadline:
            result.error = f"no complete answer within timeout_s = {endpoint.timeout_s:g} s"
        if result.ok:
            break
        if attempt < endpoint.retries:
            time.sleep(endpoint.retry_delay_s)
    return result


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host", "certificate verify failed"):
        if marker in text:
            return marker
    return text[:300]


def probe_all(endpoints: list[tuple[Any, str]]) -> list[HealthResult]:
    """Probe (endpoint, url) pairs concurrently; each is answered within its own time budget."""
    if not endpoints:
        return []
    budget = max((e.timeout_s + e.retry_delay_s) * (e.retries + 1) for e, _ in endpoints) + MARGIN_S
    results: list[Optional[HealthResult]] = [None] * len(endpoints)
    pool = ThreadPoolExecutor(max_workers=min(32, len(endpoints)), thread_name_prefix="opsproof-health")
    futures = {pool.submit(probe, e, url): i for i, (e, url) in enumerate(endpoints)}
    done, _ = wait(futures, timeout=budget)
    for future, i in futures.items():
        if future in done:
            results[i] = future.result()
        else:
            endpoint, url = endpoints[i]
            results[i] = HealthResult(name=endpoint.label, url=url,
                                      error=f"no answer within {budget:g} s (timeout_s, retries and margin)")
    pool.shutdown(wait=False, cancel_futures=True)
    return [r for r in results if r is not None]

