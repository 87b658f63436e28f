"""Disk space and inodes of the filesystem holding a path, read with POSIX `df -P` on the target; every measurement
adds to the capacity history (opsproof/system/capacity.py) kept in the host's state store."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ..charts.drawing import Chart
from ..hosts.state import StateStore
from ..hosts.target import Target, TargetError
from .capacity import Forecast, add_sample, forecast, from_sizes

STATE = "capacity"      # the state file of the capacity history, by filesystem
LEGACY_STATE = "disk"   # the older history, which recorded the filesystem's size where usable belongs


@dataclass(frozen=True)
class DiskUsage:
    path: str
    filesystem: Optional[str] = None
    mount: Optional[str] = None
    used_percent: Optional[float] = None
    used_bytes: Optional[int] = None
    size_bytes: Optional[int] = None
    available_bytes: Optional[int] = None        # to a writer; size - used - available is reserved (for root)
    inodes_used_percent: Optional[float] = None
    inodes_used: Optional[int] = None
    inodes_total: Optional[int] = None
    inodes_free: Optional[int] = None
    command: str = ""
    error: Optional[str] = None


# POSIX `df -P` line: device (may hold spaces), four numbers ("-" where a filesystem has none), mount point.
_LINE = re.compile(r"^(?P<fs>.+?)\s+(?P<total>\d+|-)\s+(?P<used>\d+|-)\s+(?P<free>\d+|-)\s+(?P<pct>\d+%|-)\s+(?P<mount>/.*)$")


def parse_df(output: str) -> tuple[str, int, int, int, str]:
    """(filesystem, total, used, available, mount) from `df -P` output for one path; "-" reads as 0."""
    lines = [line for line in output.splitlines() if line.strip()]
    match = _LINE.match(lines[-1]) if len(lines) >= 2 else None
    if not match:
        raise TargetError(f"cannot parse df output: {output.strip()[:300]!r}")

    def number(name: str) -> int:
        value = match.group(name)
        return 0 if value == "-" else int(value)

    return match.group("fs"), number("total"), number("used"), number("free"), match.group("mount")


def _df(target: Target, flag: str, path: str) -> tuple[str, int, int, int, str]:
    result = target.run(f"df -P {flag} -- %s", path, check=False)
    if result.rc != 0:
        raise TargetError(result.stderr.strip() or f"df exited {result.rc}")
    return parse_df(result.stdout)


def disk_usage(target: Target, path: str) -> DiskUsage:
    """Used share of space (as df reports it: used / (used + available)) and of inodes."""
    command = f"df -P -k {path}; df -P -i {path}"
    try:
        fs, size_k, used_k, avail_k, mount = _df(target, "-k", path)
        _, itotal_n, iused_n, ifree_n, _ = _df(target, "-i", path)
    except TargetError as exc:
        return DiskUsage(path, command=command, error=str(exc))
    used, avail = used_k * 1024, avail_k * 1024
    if used + avail == 0:
        return DiskUsage(path, filesystem=fs, mount=mount, command=command,
                         error=f"df reports no space at all on {mount} ({fs}): cannot judge its usage")
    return DiskUsage(
        path=path, filesystem=fs, mount=mount,
        # df's own rounding is upward; keep one decimal of the exact share instead.
        used_percent=round(100.0 * used / (used + avail), 1),
        used_bytes=used, size_bytes=size_k * 1024, available_bytes=avail,
        # Filesystems without a fixed inode table (btrfs, some overlays) report 0 inodes: nothing to exhaust.
        inodes_used_percent=round(100.0 * iused_n / itotal_n, 1) if itotal_n else None,
        inodes_used=iused_n, inodes_total=itotal_n, inodes_free=ifree_n, command=command,
    )


@dataclass
class Recorded:
    """One measurement and the history of its filesystem with it added."""

    usage: DiskUsage
    now: float
    history: list[list[float]] = field(default_factory=list)

    def forecast(self, window_s: float) -> Forecast:
        """Days until the filesystem is full, fitted over the recorded history of the last `window_s`."""
        return forecast(self.history, self.usage.mount or self.usage.path, self.now, window_s)


def with_sample(saved: dict[str, Any], legacy: dict[str, Any], usage: DiskUsage, now: float) -> list[list[float]]:
    """The filesystem's history in `saved` (by mount) with this measurement added: used, and used + available (what a
    writer can use); a history recorded with the size instead (`legacy`) is carried over. Unchanged after an error."""
    key = usage.mount or usage.path
    history = saved.get(key, [])
    if usage.error is not None or usage.used_bytes is None or usage.available_bytes is None:
        return history
    usable = usage.used_bytes + usage.available_bytes
    if key not in saved and usage.size_bytes:
        history = from_sizes(legacy.get(key, []), usage.size_bytes, usable)
    inodes_usable = (usage.inodes_used or 0) + (usage.inodes_free or 0)
    return add_sample(history, now, usage.used_bytes, usable, usage.inodes_used, inodes_usable)


def measure_and_record(target: Target, state: StateStore, path: str) -> Recorded:
    """Measure, and add the sample to this host's history of its filesystem (saved at once)."""
    usage = disk_usage(target, path)
    saved, now, key = state.load(STATE), target.now(), usage.mount or path
    legacy = state.load(LEGACY_STATE) if key not in saved else {}
    recorded = Recorded(usage, now, with_sample(saved, legacy, usage, now))
    if usage.error is None and usage.used_bytes is not None and usage.available_bytes is not None:
        state.save(STATE, {**saved, key: recorded.history})
    return recorded


def forecast_evidence(fc: Forecast) -> dict[str, Any]:
    """The forecast as the report shows it: every number, not the samples (the chart draws those)."""
    return {k: v for k, v in vars(fc).items() if k != "history"}


def forecast_chart(fc: Forecast) -> Chart:
    return Chart("opsproof.charts.disk:disk_chart",
                 (fc, f"{fc.mount}: space used over {fc.span_days:g} days of recorded history"),
                 f"{fc.mount}: space used and its growth")
