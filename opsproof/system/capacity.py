"""Capacity planning: days until a filesystem is full, fitted over the disk usage recorded by earlier runs.

Every disk measurement adds a sample (target time, bytes used, size) to a per-host history, at most one an
hour and none older than KEEP_S. The forecast is a least-squares line through the samples of the last
FIT_S: its slope is the growth per day, and the free space at the newest sample divided by it is the time
left. Too little history is "could not forecast yet", never a pass; a flat or shrinking filesystem has no
date on which it fills.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

DAY = 86400.0
EVERY_S = 3600.0            # at most one sample an hour: many runs a day do not crowd the fit
KEEP_S = 400 * DAY          # a year and a month of history
FIT_S = 92 * DAY            # the fit reads the last quarter
MIN_SAMPLES = 3
MIN_SPAN_S = 2 * DAY


@dataclass
class Forecast:
    mount: str
    samples: int = 0
    span_days: float = 0.0
    used_percent: Optional[float] = None
    growth_bytes_per_day: Optional[float] = None
    days_until_full: Optional[float] = None      # None: not growing, or not forecast
    full_by_utc: str = ""
    history: list[list[float]] = field(default_factory=list)   # [time, used bytes, size bytes], oldest first
    error: Optional[str] = None                   # could not forecast (too little history)


def add_sample(history: list[list[float]], now_s: float, used: int, size: int) -> list[list[float]]:
    """The history with this measurement added (unless the last sample is under EVERY_S old) and old ones dropped."""
    kept = [s for s in history if len(s) == 3 and now_s - KEEP_S <= s[0] <= now_s]
    if not kept or now_s - kept[-1][0] >= EVERY_S:
        kept.append([now_s, float(used), float(size)])
    return kept


def forecast(history: list[list[float]], mount: str, now_s: float) -> Forecast:
    """Growth per day and days until full from the samples of the last FIT_S."""
    points = [s for s in history if now_s - FIT_S <= s[0] <= now_s]
    out = Forecast(mount, samples=len(points), history=[list(s) for s in points])
    if points:
        out.span_days = round((points[-1][0] - points[0][0]) / DAY, 2)
        out.used_percent = round(100 * points[-1][1] / points[-1][2], 2) if points[-1][2] else None
    if len(points) < MIN_SAMPLES or points[-1][0] - points[0][0] < MIN_SPAN_S:
        out.error = (f"could not forecast {mount} yet: {len(points)} sample(s) over {out.span_days:g} days; the "
                     f"fit needs {MIN_SAMPLES} over at least {MIN_SPAN_S / DAY:g} days (each run that measures the "
                     "disk records one, at most one an hour)")
        return out
    n = len(points)
    mean_t = sum(p[0] for p in points) / n
    mean_u = sum(p[1] for p in points) / n
    var = sum((p[0] - mean_t) ** 2 for p in points)
    slope = sum((p[0] - mean_t) * (p[1] - mean_u) for p in points) / var     # bytes per second
    out.growth_bytes_per_day = round(slope * DAY, 1)
    free = points[-1][2] - points[-1][1]
    if slope > 0:
        seconds = free / slope
        out.days_until_full = round(seconds / DAY, 1)
        full = points[-1][0] + seconds
        out.full_by_utc = (datetime.fromtimestamp(full, timezone.utc).strftime("%Y-%m-%d")
                           if full < 253402300799 else "after 9999")
    return out
