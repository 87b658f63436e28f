"""What every chart in the report shares: the Agg canvas (no display, no pyplot state), the palette, UTC dates
on the x axis, byte units, and PNG bytes small enough to inline in the self-contained HTML report."""
from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: never a display

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DPI = 80
OK, BAD, LIMIT, LINE = "#2b7a3d", "#c0392b", "#555555", "#8fa8c8"
UNITS = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))


def png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def utc(times: list[float]) -> list[datetime]:
    return [datetime.fromtimestamp(t, timezone.utc) for t in times]


def date_axis(ax: Any) -> None:
    """Concise UTC dates on the x axis, and a light grid."""
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.grid(alpha=0.3)


def unit_for(largest: float) -> tuple[int, str]:
    """The binary unit that shows `largest` bytes as a number of at least 1 (B for nothing at all)."""
    return next(((size, name) for size, name in UNITS if largest >= size), UNITS[-1])
