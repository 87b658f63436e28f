"""Charts for the report, drawn with matplotlib's object API on the Agg canvas (no display, no pyplot state).

Each function returns PNG bytes small enough to inline in the self-contained HTML report.
"""
from __future__ import annotations

from typing import Optional

from matplotlib.figure import Figure

from .style import BAD, LINE as MUTED, LIMIT as TARGET, OK, date_axis, png as _png, utc as _dates
from ..slo.status import BudgetSeries, Performance


def _gaps(values: list[Optional[float]]) -> list[float]:
    return [float("nan") if v is None else v for v in values]


def budget_chart(series: BudgetSeries, title: str) -> bytes:
    """Top: the SLI per interval against the target. Bottom: the window's error budget burning down to now."""
    fig = Figure(figsize=(8, 4.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1])
    when = _dates(series.times)
    sli = _gaps(series.sli_percent)
    seen = [v for v in series.sli_percent if v is not None]
    colors = [OK if v is not None and v >= series.target_percent else BAD for v in series.sli_percent]
    top.scatter(when, sli, c=colors, s=18, zorder=3)
    top.plot(when, sli, color=MUTED, linewidth=1)
    top.axhline(series.target_percent, color=TARGET, linestyle="--", linewidth=1,
                label=f"target {series.target_percent:g} %")
    floor = min(seen + [series.target_percent]) if seen else series.target_percent
    margin = max(100 - floor, 0.01) * 0.15
    top.set_ylim(floor - margin, 100 + margin)
    top.set_ylabel("good requests %")
    top.legend(loc="lower left", fontsize=8)
    top.set_title(title, fontsize=10)
    left = _gaps(series.remaining_percent)
    final = next((v for v in reversed(series.remaining_percent) if v is not None), 0.0)
    bottom.plot(when, left, color=OK if final >= 0 else BAD, linewidth=2)
    bottom.axhline(0, color=BAD, linewidth=1)
    lows = [v for v in series.remaining_percent if v is not None]
    if lows and min(lows) < 0:
        bottom.fill_between(when, left, 0, where=[v is not None and v < 0 for v in series.remaining_percent],
                            color=BAD, alpha=0.25, interpolate=True)
    bottom.set_ylim(min(lows + [0]) - 10 if lows else -10, 105)
    bottom.set_ylabel("budget left %")
    if not seen:
        top.text(0.5, 0.5, "no traffic in this window", transform=top.transAxes, ha="center", color=BAD)
    bottom.set_xlim(_dates([series.start])[0], when[-1])
    date_axis(bottom)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    return _png(fig)


def performance_chart(perf: Performance, title: str) -> bytes:
    """Top: requests per day and the 5xx share. Bottom: p50/p95/p99 latency per day."""
    fig = Figure(figsize=(8, 4.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    days = [n["day"][5:] for n in perf.numbers]
    x = list(range(len(days)))
    top.bar(x, [n["requests"] for n in perf.numbers], color=MUTED)
    top.set_ylabel("requests")
    top.set_title(title, fontsize=10)
    share = top.twinx()
    share.plot(x, _gaps([n["error_percent"] for n in perf.numbers]), color=BAD, marker="o", markersize=4)
    share.set_ylabel("5xx %", color=BAD)
    share.set_ylim(bottom=0)
    for key, color in (("p50_ms", OK), ("p95_ms", "#d68910"), ("p99_ms", BAD)):
        bottom.plot(x, _gaps([n[key] for n in perf.numbers]), marker="o", markersize=4, color=color, label=key[:3])
    bottom.set_ylabel("latency ms")
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper left", fontsize=8, ncols=3)
    bottom.set_xticks(x, days)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    return _png(fig)
