"""Which processes on the target hold a file open: /proc/*/fd matched by (device, inode).

Matching by inode, not by name, sees a writer that still holds a log after it was renamed
(NAME -> NAME.1) or deleted. Works over SSH through `stat -L` on the target. Without root,
other users' processes cannot be read: `complete` says so, and callers report it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .target import Target


@dataclass
class Holders:
    pids: dict[str, list[int]] = field(default_factory=dict)  # path -> pids holding it open
    complete: bool = True                                     # every process's fds could be read
    error: str = ""


def _local_open() -> tuple[dict[tuple[int, int], set[int]], bool]:
    found: dict[tuple[int, int], set[int]] = {}
    complete = True
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fd_dir = f"/proc/{name}/fd"
        try:
            fds = os.listdir(fd_dir)
        except FileNotFoundError:
            continue
        except PermissionError:
            complete = False
            continue
        for fd in fds:
            try:
                st = os.stat(f"{fd_dir}/{fd}")
            except OSError:
                continue
            found.setdefault((st.st_dev, st.st_ino), set()).add(int(name))
    return found, complete


def _remote_open(target: Target) -> tuple[dict[tuple[int, int], set[int]], bool]:
    result = target.run("stat -L -c '%%d %%i %%n' /proc/[0-9]*/fd/* 2>&1", check=False)
    found: dict[tuple[int, int], set[int]] = {}
    complete = True
    for line in result.stdout.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            pid = parts[2].split("/")[2]
            found.setdefault((int(parts[0]), int(parts[1])), set()).add(int(pid))
        elif "Permission denied" in line:
            complete = False
    return found, complete


def holders(target: Target, paths: list[str]) -> Holders:
    """For each existing path, the pids that hold it open (an empty list: nobody)."""
    out = Holders()
    if not paths:
        return out
    ids: dict[str, tuple[int, int]] = {}
    if target.is_local:
        for path in paths:
            try:
                st = os.stat(path)
                ids[path] = (st.st_dev, st.st_ino)
            except OSError:
                continue
        table, out.complete = _local_open()
    else:
        quoted = " ".join(["%s"] * len(paths))
        listing = target.run(f"stat -c '%%d %%i %%n' -- {quoted}", *paths, check=False).stdout
        for line in listing.splitlines():
            dev, ino, name = line.split(" ", 2)
            ids[name] = (int(dev), int(ino))
        table, out.complete = _remote_open(target)
    for path, key in ids.items():
        out.pids[path] = sorted(table.get(key, ()))
    return out
