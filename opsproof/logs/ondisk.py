"""What log rotation reads of a host's logs, read where the logs are, in one go: standard library only (shipped).

For each glob of logs.rotate.files, the active logs it matches (regular files, as `find -type f -name` matches them;
rotated copies are not logs); for each log, its size (following a link, as `stat -L`) and its rotated copies in
logrotate's order (opsproof/logs/siblings.py) with their sizes and, for a compressed one, whether it starts with
gzip's magic bytes. Each directory is listed once. opsproof/logs/rotate.py reads it once for the plan and the
outcome alike (again only after its action acted); on a remote host it travels to python3 there
(opsproof.hosts.ship), or is answered by the host's survey (opsproof/hosts/survey.py).
"""
from __future__ import annotations

import fnmatch
import os
import posixpath
from typing import Union

from . import siblings

GZIP_MAGIC = b"\x1f\x8b"
Listing = Union[list, str]   # [(path, mtime, size)] of a directory's regular files, or why it could not be listed


def _listing(directory: str) -> Listing:
    out = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    out.append((posixpath.join(directory, entry.name), st.st_mtime, st.st_size))
    except OSError as exc:
        return f"cannot list {directory}: {exc.strerror or exc}"
    return out


def _gzip_ok(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError:
        return False


def _log(path: str, listing: Listing) -> dict:
    try:
        size = os.stat(path).st_size
    except OSError:
        size = None
    if isinstance(listing, str):
        return {"size": size, "rotated": [], "error": listing}
    rotated = [{"path": r.path, "size": r.size, "compressed": r.compressed,
                "gzip_ok": _gzip_ok(r.path) if r.compressed else None}
               for r in siblings.select(path, listing) if r.number is not None and r.compression in ("", ".gz")]
    return {"size": size, "rotated": rotated}


def facts(globs: list, logs: list = ()) -> dict:
    """{"globs": {glob: {"files": [active logs, sorted]} or {"error": why}}, "logs": {path: {"size", "rotated"[,
    "error"]}}} for every log the globs match and every log in `logs`."""
    listings: dict[str, Listing] = {}

    def listing(directory: str) -> Listing:
        if directory not in listings:
            listings[directory] = _listing(directory)
        return listings[directory]

    out: dict = {"globs": {}, "logs": {}}
    wanted = list(logs)
    for pattern in globs:
        directory, name = posixpath.split(pattern)
        if any(c in directory for c in "*?["):
            out["globs"][pattern] = {"error": f"{pattern}: a glob may only be in the file name, not in the directory"}
            continue
        found = listing(directory)
        if isinstance(found, str):
            out["globs"][pattern] = {"error": found}
            continue
        files = sorted(p for p, _, _ in found
                       if fnmatch.fnmatchcase(posixpath.basename(p), name) and not siblings.is_rotated(p))
        out["globs"][pattern] = {"files": files}
        wanted += [f for f in files if f not in wanted]
    for path in wanted:
        out["logs"][path] = _log(path, listing(posixpath.dirname(path)))
    return out
