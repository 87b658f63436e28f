"""SLO numbers from Prometheus's HTTP API (/api/v1/query), every request bounded by a timeout.

Availability is bad / total requests from a counter (`requests_metric`, status in `status_label`);
latency is the histogram bucket at the threshold over the histogram's count. Objectives may give
their own Sloth-style queries with `{{window}}` in them. A server that is down, slow or answers a
PromQL error raises PromError with the reason; the check that needed it fails with that reason.
"""
from __future__ import annotations

import json
import math as _m
import time
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

import requests


class PromError(Exception):
    """Prometheus could not answer: unreachable, timed out, or a PromQL error."""


class Prometheus:
    def __init__(self, url: str, timeout_s: float = 10, headers: Optional[dict[str, str]] = None) -> None:
        self.base = url.rstrip("/")
        self.url = _without_password(self.base)      # what messages, records and chart titles show
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.headers.update(headers or {})

    def query(self, promql: str, at: Optional[float] = None) -> list[dict[str, Any]]:
        """The instant vector (or scalar, as one sample) of `promql` evaluated at `at` (default: now)."""
        params = {"query": promql, "timeout": f"{self.timeout_s:g}s"}
        if at is not None:
            params["time"] = f"{at:.3f}"
        deadline = time.monotonic() + self.timeout_s
        try:
            with self.session.get(f"{self.base}/api/v1/query", params=params, timeout=self.timeout_s, stream=True) as resp:
                body = b""
                for piece in resp.iter_content(65536):     # a server that drips bytes is still cut off
                    body += piece
                    if time.monotonic() > deadline:
                        raise requests.Timeout()
                status = resp.status_code
        except requests.RequestException as exc:
            # A read that times out mid-body surfaces as a ConnectionError: the clock says which it was.
            if isinstance(exc, requests.Timeout) or time.monotonic() >= deadline - 0.05 or "timed out" in str(exc):
                raise PromError(f"{self.url} did not answer within {self.timeout_s:g} s (slo.source.timeout_s)") from None
            raise PromError(f"{self.url}: cannot connect: {type(exc).__name__}: {exc}") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise PromError(f"{self.url} answered HTTP {status} without JSON: {body[:200]!r}") from None
        if data.get("status") != "success":
            raise PromError(f"PromQL error ({data.get('errorType', f'HTTP {status}')}): {data.get('error', '?')} "
                            f"in `{promql}`")
        result = data.get("data", {})
        if result.get("resultType") == "scalar":
            return [{"metric": {}, "value": result.get("result")}]
        if result.get("resultType") != "vector":
            raise PromError(f"`{promql}` returned a {result.get('resultType')}, not an instant vector")
        return result.get("result", [])

    def value(self, promql: str, at: Optional[float] = None) -> Optional[float]:
        """The sum of the result's values; None when the result is empty or not a number."""
        samples = self.query(promql, at)
        values = [float(s["value"][1]) for s in samples]
        values = [v for v in values if not _m.isnan(v)]
        return sum(values) if values else None


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=netloc + (f":{parts.port}" if parts.port else "")))


def _bound(le: str) -> float:
    try:
        return float(le)
    except ValueError:
        return _m.inf


class PromSource:
    """The Source interface (see status.py) over a Prometheus server."""

    def __init__(self, client: Prometheus, source: Any) -> None:
        self.client, self.cfg = client, source
        self.label = f"Prometheus {client.url}"
        self._le: dict[float, str] = {}

    def _sel(self, *extra: str) -> str:
        parts = [p for p in (self.cfg.selector.strip().strip("{}"), *extra) if p]
        return "{" + ",".join(parts) + "}"

    def _bad_codes(self, bad_status) -> str:
        return "|".join(["5.."] + [str(s) for s in bad_status])

    def _le_label(self, threshold_ms: float, at: float, window: str) -> str:
        """The `le` label value of the bucket whose bound equals the threshold, as the exporter spells it."""
        if threshold_ms not in self._le:
            hist = self.cfg.latency_histogram
            found = self.client.query(f"count by (le) (last_over_time({hist}_bucket{self._sel()}[{window}]))", at)
            bounds = sorted({s["metric"].get("le", "") for s in found}, key=_bound)
            for le in bounds:
                if abs(_bound(le) * 1000 - threshold_ms) < 1e-6:
                    self._le[threshold_ms] = le
                    break
            else:
                known = ", ".join(bounds)
                raise PromError(f"{hist}_bucket has no bucket le={threshold_ms / 1000:g} (s) for threshold_ms "
                                f"{threshold_ms:g}; its buckets: {known or 'none (no such series)'}")
        return self._le[threshold_ms]

    def _queries(self, objective: Any, window: str, at: float) -> tuple[str, str, bool]:
        """(numerator, total, numerator counts good) for one objective over `window`."""
        if objective.total_query:
            num = objective.good_query or objective.error_query
            return (num.replace("{{window}}", window), objective.total_query.replace("{{window}}", window),
                    bool(objective.good_query))
        metric, label = self.cfg.requests_metric, self.cfg.status_label
        if objective.sli == "availability":
            bad = f'{label}=~"{self._bad_codes(objective.bad_status)}"'
            return (f"sum(increase({metric}{self._sel(bad)}[{window}]))",
                    f"sum(increase({metric}{self._sel()}[{window}]))", False)
        hist = self.cfg.latency_histogram
        le = self._le_label(objective.threshold_ms, at, window)
        return (f'sum(increase({hist}_bucket{self._sel(f"le={chr(34)}{le}{chr(34)}")}[{window}]))',
                f"sum(increase({hist}_count{self._sel()}[{window}]))", True)

    def cumulative(self, objective: Any, start_s: float, times_s: list[float]) -> list[tuple[float, float]]:
        out = []
        for t in times_s:
            seconds = int(round(t - start_s))
            if seconds < 1:
                out.append((0.0, 0.0))
                continue
            window = f"{seconds}s"
            num_q, total_q, counts_good = self._queries(objective, window, t)
            total = self.client.value(total_q, t) or 0.0
            num = self.client.value(num_q, t) or 0.0
            out.append((num if counts_good else total - num, total))
        return out

    def day(self, start_s: float, end_s: float) -> tuple[float, float, list[Optional[float]]]:
        """Requests, 5xx answers and p50/p95/p99 (ms) in [start, end)."""
        window = f"{max(1, int(round(end_s - start_s)))}s"
        metric, hist = self.cfg.requests_metric, self.cfg.latency_histogram
        requests_ = self.client.value(f"sum(increase({metric}{self._sel()}[{window}]))", end_s) or 0.0
        errors = self.client.value(
            f'sum(increase({metric}{self._sel(f"{self.cfg.status_label}=~{chr(34)}5..{chr(34)}")}[{window}]))', end_s) or 0.0
        quantiles = []
        for q in (0.5, 0.95, 0.99):
            v = self.client.value(f"histogram_quantile({q}, sum by (le) (increase({hist}_bucket{self._sel()}[{window}])))",
                                  end_s) if requests_ else None
            quantiles.append(None if v is None or _m.isinf(v) else v * 1000)
        return requests_, errors, quantiles
