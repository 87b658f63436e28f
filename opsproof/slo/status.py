"""Objectives evaluated on a source (access-log aggregates or Prometheus) into evidence records.

A source answers two questions: `cumulative(objective, start, times)` — (good, total) from `start`
to each time — and `day(start, end)` — requests, 5xx answers and p50/p95/p99 in ms. Every number a
check asserts on, or a chart draws, comes from one of these records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional, Protocol

from . import math as slomath
from .alerts import alert_name
from .aggregates import Aggregates
from .accesslog.buckets import LogRead

DAY = 86400
QUARTER_S = 90 * DAY


class Source(Protocol):
    label: str

    def cumulative(self, objective: Any, start_s: float, times_s: list[float]) -> list[tuple[float, float]]: ...

    def day(self, start_s: float, end_s: float) -> tuple[float, float, list[Optional[float]]]: ...


class LogSource:
    """The Source interface over access-log aggregates: window sums by position, no re-reading."""

    def __init__(self, agg: Aggregates, read: LogRead) -> None:
        self.agg, self.read = agg, read
        self.label = f"access log {read.path}"

    def cumulative(self, objective: Any, start_s: float, times_s: list[float]) -> list[tuple[float, float]]:
        good, total = self.agg.weights(objective.sli, objective.threshold_ms, objective.bad_status)
        i = int(self.agg.positions([start_s])[0])
        ends = self.agg.positions([-(-t // 60) * 60 for t in times_s])    # the minute holding `t` counts
        return [(float(good[max(j, i)] - good[i]), float(total[max(j, i)] - total[i])) for j in ends.tolist()]

    def day(self, start_s: float, end_s: float) -> tuple[float, float, list[Optional[float]]]:
        requests, errors, hist = self.agg.day(start_s, -(-end_s // 60) * 60)
        edges_ms = (self.agg.edges_us / 1000).tolist()
        return requests, errors, [slomath.percentile(hist, edges_ms, q) for q in (0.5, 0.95, 0.99)]


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def _round(value: Optional[float], digits: int = 4) -> Optional[float]:
    return None if value is None else round(value, digits)


def _shown(percent: Optional[float], target: float) -> Optional[float]:
    """Rounded for reading, unless rounding would move it across the target (99.89996 is not 99.9)."""
    if percent is None:
        return None
    rounded = round(percent, 4)
    return rounded if (rounded >= target) == (percent >= target) else percent


@dataclass
class ObjectiveStatus:
    objective: str
    sli: str
    source: str
    window: str
    period: str
    target_percent: float
    threshold_ms: Optional[float]
    good: float
    bad: float
    total: float
    sli_percent: Optional[float]
    error_budget_percent: float
    budget_remaining_percent: Optional[float]
    burn_rate: Optional[float]
    error: Optional[str] = None

    counted: str = "requests"

    @property
    def measured(self) -> str:
        return f"{self.good:g} good of {self.total:g} {self.counted}"


def could_not_observe(objective: Any, total: float, what: str, source: str, minimum: int) -> Optional[str]:
    if total >= minimum or (objective.total_query and total > 0):   # a query's value may be a rate: any is traffic
        return None
    return (f"could not observe {objective.name}: {total:g} requests {what} (slo.min_requests = {minimum}) — "
            f"is traffic reaching {source}, and is slo.source the right place to look?")


def evaluate(source: Source, objective: Any, now_s: float, window_s: Optional[float] = None,
             min_requests: int = 1) -> ObjectiveStatus:
    """Attainment and budget of one objective over its window (or `window_s`) ending now."""
    window_s = window_s or objective.window.total_seconds()
    start = now_s - window_s
    base = dict(objective=objective.name, sli=objective.sli, source=source.label,
                window=slomath.format_duration(window_s), period=f"{_utc(start)} .. {_utc(now_s)}",
                target_percent=objective.target, threshold_ms=objective.threshold_ms,
                error_budget_percent=round(100 - objective.target, 6),
                counted="(total_query's value)" if objective.total_query else "requests")
    try:
        good, total = source.cumulative(objective, start, [now_s])[0]
    except Exception as exc:  # PromError, TargetError: the reason goes to the report
        return ObjectiveStatus(**base, good=0, bad=0, total=0, sli_percent=None, budget_remaining_percent=None,
                               burn_rate=None, error=f"{objective.name}: {exc}")
    bad = total - good
    remaining = slomath.budget_remaining(bad, total, objective.target)
    return ObjectiveStatus(
        **base, good=round(good, 3), bad=round(bad, 3), total=round(total, 3),
        sli_percent=_shown(100 * good / total if total > 0 else None, objective.target),
        budget_remaining_percent=_round(None if remaining is None else 100 * remaining, 2),
        burn_rate=_round(slomath.burn_rate(bad, total, objective.target)),
        error=could_not_observe(objective, total, f"in the last {base['window']}", source.label, min_requests))


@dataclass
class BudgetSeries:
    objective: str
    target_percent: float
    start: float = 0.0
    times: list[float] = field(default_factory=list)
    sli_percent: list[Optional[float]] = field(default_factory=list)        # per interval
    remaining_percent: list[Optional[float]] = field(default_factory=list)  # of the whole window's budget


def budget_series(source: Source, objective: Any, now_s: float, window_s: Optional[float] = None,
                  points: int = 30) -> BudgetSeries:
    window_s = window_s or objective.window.total_seconds()
    start = now_s - window_s
    times = [start + window_s * k / points for k in range(1, points + 1)]
    cum = source.cumulative(objective, start, times)
    out = BudgetSeries(objective.name, objective.target, start, [start], [None])
    budget = slomath.error_budget(objective.target) * cum[-1][1]   # the window's budget, in requests
    out.remaining_percent.append(100.0 if budget > 0 else None)
    out.times += times
    prev = (0.0, 0.0)
    for good, total in cum:
        dg, dt = good - prev[0], total - prev[1]
        out.sli_percent.append(100 * dg / dt if dt > 0 else None)
        # A burn-down: the budget the whole window allows, less what was spent up to this point.
        out.remaining_percent.append(100 * (1 - (total - good) / budget) if budget > 0 else None)
        prev = (good, total)
    return out


@dataclass
class BurnStatus:
    objective: str
    severity: str
    period: str
    alerts: list[str] = field(default_factory=list)
    firing: list[str] = field(default_factory=list)
    numbers: list[dict] = field(default_factory=list)   # per alert: long_burn, short_burn, factor
    error: Optional[str] = None


def burn(source: Source, objective: Any, now_s: float, severity: str = "page", min_requests: int = 1,
         alert: Optional[str] = None) -> BurnStatus:
    """The SRE Workbook multi-window alerts of one severity (or the one named `alert`), scaled to the objective's window."""
    period = objective.window.total_seconds()
    out = BurnStatus(objective.name, severity, slomath.format_duration(period))
    windows = [(w, f) for w, f in slomath.alert_windows(period, severity) if alert in (None, alert_name(w))]
    if not windows:
        out.error = f"{objective.name}: window {out.period} is shorter than every {severity} alert's long window"
        return out
    unobserved = []
    for w, factor in windows:
        rates = []
        for length in (w.long_s, w.short_s):
            try:
                good, total = source.cumulative(objective, now_s - length, [now_s])[0]
            except Exception as exc:
                out.error = f"{objective.name}: {exc}"
                return out
            if could_not_observe(objective, total, "", source.label, min_requests):
                unobserved.append(slomath.format_duration(length))
            rates.append(slomath.burn_rate(total - good, total, objective.target))
        name = alert_name(w)
        shown = "/".join("-" if r is None else f"{r:.2f}" for r in rates)
        out.alerts.append(f"{name}: burn rate {shown} (fires at {factor:.2f}, {w.budget_share:.0%} of the budget)")
        if slomath.firing(rates[0], rates[1], factor):
            out.firing.append(f"{name} burning {min(rates):.2f}x >= {factor:.2f}")
        out.numbers.append({"alert": name, "long_burn": rates[0], "short_burn": rates[1],
                            "factor": round(factor, 4)})
    if unobserved:
        out.error = could_not_observe(objective, 0, f"in the last {unobserved[0]}", source.label, min_requests)
    return out


@dataclass
class Performance:
    source: str
    period: str
    requests: float = 0
    errors: float = 0
    days: list[str] = field(default_factory=list)
    numbers: list[dict] = field(default_factory=list)
    error: Optional[str] = None


def performance(source: Source, now_s: float, days: int = 7) -> Performance:
    """Request rate, error rate and latency percentiles per UTC day, today included."""
    first = (now_s // DAY - (days - 1)) * DAY
    out = Performance(source.label, f"{_utc(first)} .. {_utc(now_s)} (UTC days)")
    try:
        for k in range(days):
            start, end = first + k * DAY, min(first + (k + 1) * DAY, now_s)
            requests, errors, (p50, p95, p99) = source.day(start, end)
            label = datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%d")
            rate = requests / max(end - start, 1)
            err = 100 * errors / requests if requests else None
            out.numbers.append({"day": label, "requests": round(requests, 1), "per_second": round(rate, 4),
                                "errors": round(errors, 1), "error_percent": _round(err, 3),
                                "p50_ms": _round(p50, 1), "p95_ms": _round(p95, 1), "p99_ms": _round(p99, 1)})
            ms = lambda v: "-" if v is None else f"{v:.1f} ms"  # noqa: E731
            out.days.append(f"{label}: {requests:g} requests ({rate:.3f}/s), "
                            f"{'-' if err is None else f'{err:.2f} %'} 5xx, p50 {ms(p50)}, p95 {ms(p95)}, p99 {ms(p99)}")
            out.requests += requests
            out.errors += errors
    except Exception as exc:
        out.error = f"performance report: {exc}"
    return out


@dataclass
class Review:
    objective: str
    period: str
    target_percent: float
    attained_percent: Optional[float]
    budget_used_percent: Optional[float]
    hint: str
    error: Optional[str] = None


def review(source: Source, objective: Any, now_s: float, min_requests: int = 1) -> tuple[Review, ObjectiveStatus]:
    """The quarter's attainment and budget used, with a plain-words reading of the target."""
    st = evaluate(source, objective, now_s, QUARTER_S, min_requests)
    used = None if st.budget_remaining_percent is None else round(100 - st.budget_remaining_percent, 2)
    hint = slomath.review_hint(objective.name, objective.target, st.good, st.total) if st.error is None else st.error
    return Review(objective.name, st.period, objective.target, st.sli_percent, used, hint, st.error), st
