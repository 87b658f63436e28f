"""A chart for the report: every kept backup's size by date, against the smallest size the config accepts.

Pure: (modification time, size) pairs in, PNG bytes out, drawn with matplotlib's object API on the Agg
canvas (no display, no pyplot state), small enough to inline in the self-contained HTML report.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from matplotlib.figure import Figure

from .style import BAD, LIMIT, LINE, OK, date_axis, png, unit_for

SPAN_MIN_S = 3600


def sizes_chart(archives: Iterable[tuple[float, int]], min_size: Optional[int], title: str) -> bytes:
    """Each archive's size at its modification time (UTC), oldest to newest; the ones under `min_size` in red
    and the limit as a dashed line labelled with its key; the newest one ringed."""
    points = sorted(archives)
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, fontsize=10)
    if not points:
        ax.text(0.5, 0.5, "no archive to show", transform=ax.transAxes, ha="center", color=BAD)
        ax.set_axis_off()
        return png(fig)
    scale, unit = unit_for(max([s for _, s in points] + [min_size or 0]))
    when = [datetime.fromtimestamp(t, timezone.utc) for t, _ in points]
    sizes = [s / scale for _, s in points]
    colors = [BAD if min_size is not None and s < min_size else OK for _, s in points]
    ax.plot(when, sizes, color=LINE, linewidth=1, zorder=2)
    ax.scatter(when, sizes, c=colors, s=24, zorder=3)
    ax.scatter(when[-1:], sizes[-1:], s=90, facecolors="none", edgecolors=colors[-1], zorder=4, label="newest")
    if min_size is not None:
        ax.axhline(min_size / scale, color=LIMIT, linestyle="--", linewidth=1,
                   label=f"backups.min_size_bytes = {min_size} B")
    ax.set_ylim(bottom=0, top=max(sizes + [(min_size or 0) / scale]) * 1.15 or 1)
    ax.set_ylabel(f"size ({unit})")
    ax.legend(loc="lower left", fontsize=8)
    date_axis(ax)
    if (points[-1][0] - points[0][0]) < SPAN_MIN_S:  # one archive (or all within minutes): a day around them
        middle = datetime.fromtimestamp((points[0][0] + points[-1][0]) / 2, timezone.utc)
        ax.set_xlim(middle - timedelta(hours=12), middle + timedelta(hours=12))
    return png(fig)

