"""A chart for the report: every kept backup's size by date, against the smallest size the config accepts.

Pure: (modification time, size) pairs in, SVG text out.
"""
from __future__ import annotations

from typing import Iterable, Optional

import pygal

from .style import time_span, BAD, LIMIT, LINE, OK, message, options, svg, unit_for, utc, when



def sizes_chart(archives: Iterable[tuple[float, int]], min_size: Optional[int], title: str) -> str:
    """Each archive's size at its modification time (UTC), oldest to newest; the ones under `min_size` in red
    and the limit as a dashed line labelled with its key; the newest one marked."""
    points = sorted(archives)
    if not points:
        return message(title, "no archive to show")
    scale, unit = unit_for(max([s for _, s in points] + [min_size or 0]))
    start, end = time_span(points[0][0], points[-1][0])
    top = max([s for _, s in points] + [min_size or 0]) / scale * 1.15 or 1
    chart = pygal.DateTimeLine(**options(title, LINE, OK, BAD, LIMIT, OK), x_value_formatter=when,
                               y_title=f"size ({unit})", x_title="modified (UTC)", range=(0, top),
                               xrange=tuple(utc([start, end])))
    dated = [(w, size / scale, min_size is not None and size < min_size)
             for w, size in zip(utc(t for t, _ in points), (size for _, size in points))]
    chart.add("size", [(w, y) for w, y, _ in dated], show_dots=False)
    chart.add("at or over the minimum", [(w, y) for w, y, under in dated if not under], stroke=False, dots_size=4)
    chart.add("under the minimum", [(w, y) for w, y, under in dated if under], stroke=False, dots_size=4)
    if min_size is not None:
        chart.add(f"backups.min_size_bytes = {min_size} B", [(w, min_size / scale) for w in utc([start, end])],
                  show_dots=False, stroke_style={"dasharray": "6,4", "width": 2})
    chart.add("newest", [dated[-1][:2]], stroke=False, dots_size=8)
    return svg(chart)
