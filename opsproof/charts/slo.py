"""Charts for the report: an objective's SLI against its target and its error budget burning down; a week's
requests, 5xx share and latency. SVG text out (opsproof/charts/style.py)."""
from __future__ import annotations

from typing import Optional

import pygal

from .style import AMBER, BAD, LIMIT as TARGET, LINE as MUTED, OK, options, stack, svg, utc, when
from ..slo.status import BudgetSeries, Performance

PANEL = 280   # each of the two panels' height


def _points(times: list[float], values: list[Optional[float]]) -> list[tuple]:
    return [(w, v) for w, v in zip(utc(times), values) if v is not None]


def budget_chart(series: BudgetSeries, title: str) -> str:
    """Top: the SLI per interval against the target. Bottom: the window's error budget burning down to now."""
    seen = [v for v in series.sli_percent if v is not None]
    floor = min(seen + [series.target_percent]) if seen else series.target_percent
    margin = max(100 - floor, 0.01) * 0.15
    start = utc([series.start])[0]
    end = utc(series.times[-1:])[0] if series.times else start
    xrange = (start, end) if end > start else None
    top = pygal.DateTimeLine(**options(title, MUTED, OK, BAD, TARGET, height=PANEL,
                                       no_data_text="no traffic in this window"),
                             x_value_formatter=when, y_title="good requests %", range=(floor - margin, 100 + margin),
                             xrange=xrange)
    top.add("SLI", _points(series.times, series.sli_percent), show_dots=False)
    top.add("met", [(w, v) for w, v in _points(series.times, series.sli_percent) if v >= series.target_percent],
            stroke=False, )
    top.add("missed", [(w, v) for w, v in _points(series.times, series.sli_percent) if v < series.target_percent],
            stroke=False, )
    if series.times:
        top.add(f"target {series.target_percent:g} %", [(start, series.target_percent), (end, series.target_percent)],
                show_dots=False, stroke_style={"dasharray": "6,4", "width": 2})
    left = [v for v in series.remaining_percent if v is not None]
    final = left[-1] if left else 0.0
    bottom = pygal.DateTimeLine(**options("error budget left", OK if final >= 0 else BAD, BAD, height=PANEL),
                                x_value_formatter=when, x_title="time (UTC)", y_title="budget left %",
                                range=(min(left + [0]) - 10 if left else -10, 105), xrange=xrange)
    bottom.add("budget left", _points(series.times, series.remaining_percent), show_dots=False, fill=False,
               stroke_style={"width": 2.5})
    if series.times:
        bottom.add("exhausted", [(start, 0), (end, 0)], show_dots=False)
    return stack([svg(top), svg(bottom)], PANEL)


def performance_chart(perf: Performance, title: str) -> str:
    """Top: requests per day and the 5xx share. Bottom: p50/p95/p99 latency per day."""
    days = [n["day"][5:] for n in perf.numbers]
    top = pygal.Bar(**options(title, MUTED, BAD, height=PANEL), x_labels=days, y_title="requests")
    top.add("requests", [n["requests"] for n in perf.numbers])
    top.add("5xx %", [n["error_percent"] for n in perf.numbers], secondary=True)
    bottom = pygal.Line(**options("latency per day", OK, AMBER, BAD, height=PANEL), x_labels=days,
                        y_title="latency ms", x_title="day (UTC)")
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        bottom.add(key[:3], [n[key] for n in perf.numbers])
    return stack([svg(top), svg(bottom)], PANEL)
