"""A chart for the report: a filesystem's recorded use over time, its size, and the fitted growth to full."""
from __future__ import annotations

from matplotlib.figure import Figure

from .style import BAD, LIMIT, LINE, OK, date_axis, png, unit_for, utc
from ..system.capacity import Forecast


def disk_chart(fc: Forecast, title: str) -> bytes:
    """Used bytes at each recorded sample, what a writer can use (used + available) dashed, where growth meets it."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, fontsize=10)
    if not fc.history:
        ax.text(0.5, 0.5, "no disk usage recorded yet", transform=ax.transAxes, ha="center", color=BAD)
        ax.set_axis_off()
        return png(fig)
    times = [s[0] for s in fc.history]
    scale, unit = unit_for(max(s[2] for s in fc.history))
    ax.plot(utc(times), [s[1] / scale for s in fc.history], color=OK, marker="o", markersize=3, linewidth=1,
            label="used")
    ax.plot(utc(times), [s[2] / scale for s in fc.history], color=LIMIT, linestyle="--", linewidth=1,
            label="usable (used + available)")
    if fc.growth_bytes_per_day and fc.days_until_full is not None:
        last = fc.history[-1]
        horizon = min(fc.days_until_full, 3 * max(fc.span_days, 1)) * 86400
        ax.plot(utc([last[0], last[0] + horizon]),
                [last[1] / scale, (last[1] + fc.growth_bytes_per_day * horizon / 86400) / scale],
                color=LINE, linestyle=":", linewidth=1.5, label=f"growth: full by {fc.full_by_utc}")
    ax.set_ylim(bottom=0)
    ax.set_ylabel(f"{unit}")
    ax.legend(loc="lower left", fontsize=8)
    date_axis(ax)
    return png(fig)
