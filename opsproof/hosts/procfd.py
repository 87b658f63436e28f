"""Which processes hold a file open: /proc/*/fd matched by (device, inode), read on the host where the files are.

Standard library only: rotation's holder check runs `holders` in this process for the local host and
ships it (opsproof.hosts.ship) to a remote one; the temp-cleanup walk uses `open_files` on the target.
Matching by inode, not by name, sees a writer that still holds a log after it was renamed (NAME -> NAME.1)
or deleted. Without root, other users' processes cannot be read: `complete` says so, and callers report it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Holders:
    pids: dict[str, list[int]] = field(default_factory=dict)  # path -> pids holding it open
    complete: bool = True                                     # every process's fds could be read
    unreadable: int = 0                                       # processes whose fds could not be read


def open_files() -> tuple[dict[tuple[int, int], set[int]], int]:
    """(device, inode) -> pids of every file some process holds open, and how many processes could not be read."""
    found: dict[tuple[int, int], set[int]] = {}
    unreadable = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fd_dir = f"/proc/{name}/fd"
        try:
            fds = os.listdir(fd_dir)
        except FileNotFoundError:
            continue
        except PermissionError:
            unreadable += 1
            continue
        for fd in fds:
            try:
                st = os.stat(f"{fd_dir}/{fd}")
            except OSError:
                continue
            found.setdefault((st.st_dev, st.st_ino), set()).add(int(name))
    return found, unreadable


def holders(paths: list[str]) -> Holders:
    """For each existing path, the pids that hold it open (an empty list: nobody); a missing path is left out."""
    out = Holders()
    ids: dict[str, tuple[int, int]] = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        ids[path] = (st.st_dev, st.st_ino)
    if not ids:
        return out
    table, out.unreadable = open_files()
    out.complete = out.unreadable == 0
    out.pids = {path: sorted(table.get(key, ())) for path, key in ids.items()}
    return out
