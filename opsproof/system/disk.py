"""Disk space and inodes of the filesystem holding a path, read with POSIX `df -P` on the target."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..hosts.target import Target, TargetError


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
