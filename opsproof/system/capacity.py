"""Capacity planning: days until a filesystem is full, fitted over the disk usage recorded by earlier runs.

Every disk measurement adds a sample (target time, bytes used, bytes usable, inodes used, inodes usable) to a
per-host history, at most one an hour and none older than KEEP_S. Usable is what a writer can use: used +
available, as df's Use% and the disk check count it — blocks a filesystem reserves for root are no room to grow
into. The forecast is a least-squares line through the samples of the fitted window (disk.forecast_window): its
slope is the growth per day, and what is still available at the newest sample divided by it is the time left.
Too little history is "could not forecast", never a pass; a flat or shrinking filesystem has no date on which it
fills.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

DAY = 86400.0
EVERY_S = 3600.0            # at most one sample an hour: many runs a day do not crowd the fit
KEEP_S = 400 * DAY          # a year and a month of history
FIT_S = 30 * DAY            # the fitted window when the config gives none (disk.forecast_window)
MIN_SAMPLES = 3
MIN_SPAN_S = 2 * DAY


@dataclass
class Forecast:
    mount: str
    samples: int = 0
    span_days: float = 0.0
    used_percent: Optional[float] = None          # used / (used + available), as the disk check and df say
    available_bytes: Optional[float] = None
    growth_bytes_per_day: Optional[float] = None
    days_until_full: Optional[float] = None      # None: not growing, or not forecast
    full_by_utc: str = ""
    inode_growth_per_day: Optional[float] = None
    inode_days_until_full: Optional[float] = None
    history: list[list[float]] = field(default_factory=list)   # [time, used, usable, inodes used, inodes usable]
    error: Optional[str] = None                   # could not forecast (too little history)


def add_sample(history: list[list[float]], now_s: float, used: int, usable: int, inodes_used: Optional[int] = None,
               inodes_usable: Optional[int] = None) -> list[list[float]]:
    """The history with this measurement added (unless the last sample is under EVERY_S old) and old ones dropped.

    `usable` is used + available (not the filesystem's size); `inodes_usable` likewise for inodes."""
    kept = [s for s in history if len(s) in (3, 5) and now_s - KEEP_S <= s[0] <= now_s]
    if not kept or now_s - kept[-1][0] >= EVERY_S:
        sample = [now_s, float(used), float(usable)]
        if inodes_used is not None and inodes_usable:
            sample += [float(inodes_used), float(inodes_usable)]
        kept.append(sample)
    return kept


def from_sizes(history: list[list[float]], size: int, usable: int) -> list[list[float]]:
    """Samples of the older history, which recorded the filesystem's size where usable belongs, with the reserve
    measured now (size - usable) taken off each: their used bytes, and so the growth, stay as they were."""
    reserve = float(size - usable)
    return [[s[0], s[1], s[2] - reserve, *s[3:]] for s in history if len(s) in (3, 5)]


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares growth per second of (time, value) points."""
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def _days_left(free: float, slope: float) -> Optional[float]:
    return round(free / slope / DAY, 1) if slope > 0 else None


def forecast(history: list[list[float]], mount: str, now_s: float, window_s: float = FIT_S) -> Forecast:
    """Growth per day and days until full (space, and inodes where recorded) from the samples of the window."""
    points = [s for s in history if now_s - window_s <= s[0] <= now_s]
    out = Forecast(mount, samples=len(points), history=[list(s) for s in points])
    if points:
        out.span_days = round((points[-1][0] - points[0][0]) / DAY, 2)
        out.used_percent = round(100 * points[-1][1] / points[-1][2], 2) if points[-1][2] else None
        out.available_bytes = points[-1][2] - points[-1][1]
    if len(points) < MIN_SAMPLES or points[-1][0] - points[0][0] < MIN_SPAN_S:
        hours = (points[-1][0] - points[0][0]) / 3600 if points else 0
        out.error = (f"could not forecast {mount}: {len(points)} point(s) over {hours:.0f} hours in the last "
                     f"{window_s / DAY:g} days (disk.forecast_window); the fit needs {MIN_SAMPLES} over at least "
                     f"{MIN_SPAN_S / 3600:.0f} hours — each run that measures the disk records one, at most one an hour")
        return out
    last = points[-1]
    slope = _slope([(s[0], s[1]) for s in points])
    out.growth_bytes_per_day = round(slope * DAY, 1)
    out.days_until_full = _days_left(last[2] - last[1], slope)
    if out.days_until_full is not None:
        full = last[0] + out.days_until_full * DAY
        out.full_by_utc = (datetime.fromtimestamp(full, timezone.utc).strftime("%Y-%m-%d")
                           if full < 253402300799 else "after 9999")
    with_inodes = [s for s in points if len(s) == 5]
    if len(with_inodes) >= MIN_SAMPLES and with_inodes[-1][0] - with_inodes[0][0] >= MIN_SPAN_S:
        inode_slope = _slope([(s[0], s[3]) for s in with_inodes])
        out.inode_growth_per_day = round(inode_slope * DAY, 1)
        out.inode_days_until_full = _days_left(with_inodes[-1][4] - with_inodes[-1][3], inode_slope)
    return out
