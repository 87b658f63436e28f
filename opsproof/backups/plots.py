"""A chart for the report: every kept backup's size by date, against the smallest size the config accepts.

Pure: (modification time, size) pairs in, PNG bytes out, drawn with matplotlib's object API on the Agg
canvas (no display, no pyplot state), small enough to inline in the self-contained HTML report.
"""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: never a display

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DPI = 80
OK, BAD, LIMIT, LINE = "#2b7a3d", "#c0392b", "#555555", "#8fa8c8"
SPAN_MIN_S = 3600
UNITS = ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))


def unit_for(largest: float) -> tuple[int, str]:
    """The binary unit that shows `largest` bytes as a number of at least 1 (B for nothing at all)."""
    return next(((size, name) for size, name in UNITS if largest >= size), UNITS[-1])


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
        return _png(fig)
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
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if (points[-1][0] - points[0][0]) < SPAN_MIN_S:  # one archive (or all within minutes): a day around them
        middle = datetime.fromtimestamp((points[0][0] + points[-1][0]) / 2, timezone.utc)
        ax.set_xlim(middle - timedelta(hours=12), middle + timedelta(hours=12))
    ax.grid(alpha=0.3)
    return _png(fig)


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
