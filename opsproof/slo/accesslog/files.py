"""An access log and its rotated copies, each with its first bytes: where a read of them starts, found in one go.

Run where the files are: in this process for the local host (no command), shipped to a remote target's python3
(opsproof.hosts.ship; standard library only), or answered by the host's survey (opsproof/hosts/survey.py). It replaces
a chain of reads (stat, then the directory's listing, then each file's head) that each waited for the one before.
"""
from __future__ import annotations

import base64
import os
import posixpath
import stat
import time

from ...logs import siblings
from .reducer import gunzip

HEAD = 1024
HEAD_STEP = 4 << 10      # a compressed file's head is inflated from reads this size (1 KB of text needs less)
MARGIN_S = 3600          # the caller filters by its own clock's reading; this keeps what it could still want


def _listing(path: str) -> list[tuple[str, float, int]]:
    """Regular files (not links, as `find -type f`) beside `path` whose names start with its name."""
    directory, name = posixpath.split(path)
    out = []
    with os.scandir(directory or ".") as entries:
        for entry in entries:
            if entry.name.startswith(name) and entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                out.append((posixpath.join(directory, entry.name), st.st_mtime, st.st_size))
    return out


def head(path: str, size: int) -> bytes:
    """The first HEAD bytes of the text (a `.gz` inflated as far as that needs; a truncated one gives what it has)."""
    with open(path, "rb") as fh:
        if not path.endswith(".gz"):
            return fh.read(min(HEAD, size))

        def pieces():
            left = min(size, 1 << 20)
            while left > 0:
                piece = fh.read(min(HEAD_STEP, left))
                if not piece:
                    return
                left -= len(piece)
                yield piece

        out = b""
        try:
            for piece in gunzip(pieces()):
                out += piece
                if len(out) >= HEAD:
                    break
        except EOFError:
            pass                 # a head is a head; reading the whole file says whether it is complete
        return out[:HEAD]


def candidates(path: str, keep_s: float) -> dict:
    """{"files": [[path, mtime, size, head (base64)], ...]}: the log and its rotated copies (plain or `.gz`) written in
    the last `keep_s` (and MARGIN_S), oldest first, the log itself always; or {"error": why the log cannot be read}."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {"error": "no such file"}
    except OSError as exc:
        return {"error": exc.strerror or str(exc)}
    if not stat.S_ISREG(st.st_mode):
        return {"error": "not a regular file"}
    since = time.time() - keep_s - MARGIN_S
    listing = _listing(path)
    found = [f for f in listing if f[0] == path] + [(r.path, r.mtime, r.size) for r in siblings.select(path, listing)
                                                     if r.compression in ("", ".gz")]
    found = sorted((f for f in found if f[0] == path or f[1] >= since), key=lambda f: (f[1], f[0] != path))
    if path not in (f[0] for f in found):     # a symlink, which `find -type f` leaves out
        found.append((path, st.st_mtime, st.st_size))
    return {"files": [[p, m, s, base64.b64encode(head(p, s)).decode()] for p, m, s in found]}
