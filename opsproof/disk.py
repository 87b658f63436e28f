"""Disk space and inodes of the filesystem holding a path, read with POSIX `df -P` on the target."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .target import Target, TargetError


@dataclass(frozen=True)
class DiskUsage:
    path: str
    filesystem: Optional[str] = None
    mount: Optional[str] = None
    used_percent: Optional[float] = None
    used_bytes: Optional[int] = None
    size_bytes: Optional[int] = None
    inodes_used_percent: Optional[float] = None
    inodes_used: Optional[int] = None
    inodes_total: Optional[int] = None
    command: str = ""
    error: Optional[str] = None


def _df(target: Target, flag: str, path: str) -> list[str]:
    result = target.run(f"df -P {flag} -- %s", path, check=False)
    if result.rc != 0:
        raise TargetError(result.stderr.strip() or f"df exited {result.rc}")
    lines = result.stdout.strip().splitlines()
    # The device name may hold spaces: take the numeric columns from the right.
    head, *rest = lines[-1].rsplit(None, 5)
    return [head, *rest]


def disk_usage(target: Target, path: str) -> DiskUsage:
    """Used share of space (as df reports it: used / (used + available)) and of inodes."""
    command = f"df -P -k {path}; df -P -i {path}"
    try:
        fs, size_k, used_k, avail_k, _, mount = _df(target, "-k", path)
        _, itotal, iused, ifree, _, _ = _df(target, "-i", path)
    except TargetError as exc:
        return DiskUsage(path, command=command, error=str(exc))
    used, avail = int(used_k) * 1024, int(avail_k) * 1024
    itotal_n, iused_n = int(itotal), int(iused)
    return DiskUsage(
        path=path, filesystem=fs, mount=mount,
        # df's own rounding is upward; keep one decimal of the exact share instead.
        used_percent=round(100.0 * used / (used + avail), 1) if used + avail else 0.0,
        used_bytes=used, size_bytes=int(size_k) * 1024,
        # Filesystems without a fixed inode table (btrfs, some overlays) report 0 inodes: nothing to exhaust.
        inodes_used_percent=round(100.0 * iused_n / itotal_n, 1) if itotal_n else None,
        inodes_used=iused_n, inodes_total=itotal_n, command=command,
    )
