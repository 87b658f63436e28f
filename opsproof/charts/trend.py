"""A chart for `opsproof history` and an audit bundle's index: one measured value over many runs, a line per series.

Pure: (label, [(Unix time, value)]) pairs in, SVG bytes out, in the house style (opsproof/charts/style.py).
"""
from __future__ import annotations

from typing import Sequence

import pygal

from .style import time_span, BAD, LIMIT, LINE, OK, message, options, svg, unit_for, utc, when

COLOURS = (OK, LINE, BAD, LIMIT, "#6a4a94", "#8a5a00", "#1f5f8b", "#0f6e5c")


def trend_chart(title: str, unit: str, series: Sequence[tuple[str, Sequence[tuple[float, float]]]]) -> bytes:
    """Each series' values at their runs' start times (UTC), oldest to newest, one colour each; `unit` "B" is shown
    in the binary unit that fits the largest value."""
    values = [v for _, points in series for _, v in points]
    if not values:
        return message(title, "nothing measured in these runs").encode()
    scale, shown = unit_for(max(values)) if unit == "B" else (1, unit)
    times = [t for _, points in series for t, _ in points]
    start, end = time_span(min(times), max(times))
    chart = pygal.DateTimeLine(**options(title, *COLOURS, height=260), x_value_formatter=when, y_title=shown,
                               x_title="run start (UTC)", xrange=tuple(utc([start, end])),
                               range=(min(0.0, min(values) / scale), max(values) / scale * 1.1 or 1))
    for label, points in series:
        chart.add(label, [(w, v / scale) for w, (_, v) in zip(utc(t for t, _ in sorted(points)), sorted(points))])
    return svg(chart).encode()
