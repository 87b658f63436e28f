"""A chart for `opsproof history` and an audit bundle's index: one measured value over many runs, a line per series.

Pure: (label, [(Unix time, value)]) pairs in, SVG bytes out (text kept as text, so it prints sharp and small), drawn
with matplotlib's object API on the Agg canvas in the house style (UTC dates, the palette, byte units).
"""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from typing import Sequence

import matplotlib
from matplotlib.figure import Figure

from .style import BAD, LIMIT, LINE, OK, date_axis, unit_for, utc

COLOURS = (OK, LINE, BAD, LIMIT, "#7d5ba6", "#b9770e", "#1f618d", "#148f77")


def trend_chart(title: str, unit: str, series: Sequence[tuple[str, Sequence[tuple[float, float]]]]) -> bytes:
    """Each series' values at their runs' start times (UTC), oldest to newest, one colour each; `unit` "B" is shown
    in the binary unit that fits the largest value."""
    fig = Figure(figsize=(7.2, 2.6), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, fontsize=10)
    values = [v for _, points in series for _, v in points]
    scale, shown = unit_for(max(values, default=0)) if unit == "B" else (1, unit)
    for n, (label, points) in enumerate(series):
        points = sorted(points)
        ax.plot(utc([t for t, _ in points]), [v / scale for _, v in points], color=COLOURS[n % len(COLOURS)],
                marker="o", markersize=3, linewidth=1, label=label)
    if not values:
        ax.text(0.5, 0.5, "nothing measured in these runs", transform=ax.transAxes, ha="center", color=BAD)
        ax.set_axis_off()
    else:
        ax.set_ylim(bottom=min(0.0, min(values) / scale), top=max(values) / scale * 1.1 or 1)
        times = [t for _, points in series for t, _ in points]
        if max(times) - min(times) < 3600:  # one run (or all within the hour): a day around them
            middle = datetime.fromtimestamp((max(times) + min(times)) / 2, timezone.utc)
            ax.set_xlim(middle - timedelta(hours=12), middle + timedelta(hours=12))
        ax.set_ylabel(shown)
        ax.set_xlabel("run start (UTC)", fontsize=8)
        ax.legend(loc="best", fontsize=7)
        date_axis(ax)
    out = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "opsproof"}):
        fig.savefig(out, format="svg")
    return out.getvalue()
