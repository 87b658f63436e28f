"""A chart for the report: a filesystem's recorded use over time, its size, and the fitted growth to full."""
from __future__ import annotations

import pygal

from .style import BAD, LIMIT, LINE, OK, message, options, svg, unit_for, utc, when
from ..system.capacity import Forecast


def disk_chart(fc: Forecast, title: str) -> str:
    """Used bytes at each recorded sample, what a writer can use (used + available) dashed, where growth meets it."""
    if not fc.history:
        return message(title, "no disk usage recorded yet")
    times = [s[0] for s in fc.history]
    scale, unit = unit_for(max(s[2] for s in fc.history))
    chart = pygal.DateTimeLine(**options(title, OK, LIMIT, LINE, BAD), x_value_formatter=when, y_title=unit,
                               x_title="time (UTC)", range=(0, max(s[2] for s in fc.history) / scale * 1.05))
    chart.add("used", list(zip(utc(times), [s[1] / scale for s in fc.history])), )
    chart.add("usable (used + available)", list(zip(utc(times), [s[2] / scale for s in fc.history])),
              show_dots=False, stroke_style={"dasharray": "6,4", "width": 2})
    if fc.growth_bytes_per_day and fc.days_until_full is not None:
        last = fc.history[-1]
        horizon = min(fc.days_until_full, 3 * max(fc.span_days, 1)) * 86400
        chart.add(f"growth: full by {fc.full_by_utc}",
                  list(zip(utc([last[0], last[0] + horizon]),
                           [last[1] / scale, (last[1] + fc.growth_bytes_per_day * horizon / 86400) / scale])),
                  show_dots=False, stroke_style={"dasharray": "3,3", "width": 2.5})
    return svg(chart)
