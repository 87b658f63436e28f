"""Reading a local, uncompressed access log at the machine's limit: line-aligned ranges parsed side by side.
Standard library only (the parser comes from the caller): the shipped reducer uses `in_ranges` too.

A large read is cut at line boundaries into one range per core. This process parses the first; each
other range is parsed by a forked child that sends back only its per-minute counts (a few hundred KB
at most) through a pipe. Threads would not do: the numpy pass is many short operations and keeps the
GIL for most of its time (measured: two threads ran no faster than one). A child that fails for any
reason is replaced by reading its range here, so the result never depends on the fork. Every range is
read through one reused buffer (no fresh 4 MB object per read), sized to the range and backed by 2 MB pages
where the kernel allows (`buffer`): on a virtual machine each first touch of a 4 KB page costs microseconds, and a
re-run that reads a few MB in a fresh process paid more for its buffer's 1 000 page faults than for reading. The
parser is accesslog.Parser (not imported here: this module needs only its `feed` and `combine`).
"""
from __future__ import annotations

import mmap
import os
import pickle
import warnings
from typing import Any, Callable, Optional

CHUNK = 4 << 20          # bytes read at a time: small enough to stay in the CPU's caches while parsed
SPLIT_MIN = 48 << 20     # below this one process reads it all (a fork and a pipe cost more than they save)
MAX_WORKERS = 4
HUGE_MIN = 1 << 20       # buffers from this size on are anonymous memory advised to use 2 MB pages
HUGE_PAGE = 2 << 20


def buffer(size: int):
    """A zeroed, writable buffer of at least `size` bytes: from HUGE_MIN on, an anonymous private mapping rounded up to
    whole 2 MB (the kernel places such a mapping on a 2 MB boundary) and advised to use 2 MB pages (MADV_HUGEPAGE):
    a page fault per 2 MB instead of one per 4 KB. Else, or where that is not offered, a bytearray. It has what the
    readers use of a bytearray (len, slices and slice assignment, rfind with bounds, the buffer protocol), not
    `extend`."""
    if size >= HUGE_MIN and hasattr(mmap, "MADV_HUGEPAGE") and hasattr(mmap, "MAP_ANONYMOUS"):
        try:
            out = mmap.mmap(-1, -(-size // HUGE_PAGE) * HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        except (OSError, ValueError):
            return bytearray(size)
        try:
            out.madvise(mmap.MADV_HUGEPAGE)
        except OSError:
            pass                 # advice only: without it the mapping is an ordinary one
        return out
    return bytearray(max(size, 0))


def workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores)) if hasattr(os, "fork") else 1


def boundaries(path: str, start: int, end: int, parts: int) -> list[int]:
    """start, the byte after the first newline at or after each of `parts - 1` even cuts, end."""
    cuts = [start]
    with open(path, "rb") as fh:
        for k in range(1, parts):
            at = max(start + (end - start) * k // parts, cuts[-1])
            fh.seek(at)
            while at < end:
                block = fh.read(min(1 << 16, end - at))
                if not block:
                    at = end
                    break
                newline = block.find(b"\n")
                if newline >= 0:
                    at += newline + 1
                    break
                at += len(block)
            if at < end and at > cuts[-1]:
                cuts.append(at)
    return cuts + [end]


def scan(path: str, lo: int, hi: int, parser: Any) -> tuple[Any, int]:
    """The whole lines of path[lo:hi] parsed into one Chunk, and how many bytes they take (to the last newline)."""
    buf = buffer(max(1, min(CHUNK, hi - lo)))
    fill = used = 0
    offset = lo
    chunks: list = []
    with open(path, "rb", buffering=0) as fh:
        fh.seek(lo)
        while offset < hi:
            with memoryview(buf) as view:
                got = fh.readinto(view[fill: min(len(buf), fill + hi - offset)])
            if not got:
                break
            offset += got
            fill += got
            cut = buf.rfind(b"\n", 0, fill) + 1
            if cut:
                chunks.append(parser.feed(buf, 0, cut))
                used += cut
                buf[: fill - cut] = buf[cut:fill]          # the unfinished line moves to the front
                fill -= cut
            elif fill == len(buf):                          # a line longer than the buffer
                bigger = buffer(2 * len(buf))
                bigger[:fill] = buf[:fill]
                buf = bigger
    return parser.combine(chunks), used


def _fork(work: Callable[[], object]) -> Optional[tuple[int, int]]:
    """(pid, read end of a pipe) of a child that writes pickle(work()) and exits; None if no child could start."""
    try:
        r, w = os.pipe()
    except OSError:
        return None
    try:
        with warnings.catch_warnings():     # 3.12+ warns about fork with threads after forking: never an error here
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:                                            # the child: compute, send, leave without cleanup
        code = 1
        try:
            os.close(r)
            with os.fdopen(w, "wb") as out:
                out.write(pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL))
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _collect(child: Optional[tuple[int, int]]) -> Optional[object]:
    if child is None:
        return None
    pid, r = child
    with os.fdopen(r, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    return pickle.loads(data) if status == 0 and data else None


def _reap(child: Optional[tuple[int, int]]) -> None:
    """A child whose result is no longer wanted: close its pipe (it stops on EPIPE) and wait for it."""
    if child is not None:
        try:
            os.close(child[1])
        except OSError:
            pass
        os.waitpid(child[0], 0)


def in_ranges(ranges: list[tuple[int, int]], work: Callable[[int, int], Any]) -> list:
    """work(lo, hi) for every range, in order: the first here, the others in forked children at the same time.

    A child that cannot start or fails is replaced by doing its range here: the result never depends on the fork.
    """
    children = [_fork(lambda lo=lo, hi=hi: work(lo, hi)) for lo, hi in ranges[1:]]
    pending = list(children)
    try:
        results = [work(*ranges[0])]
        for (lo, hi), child in zip(ranges[1:], children):
            pending.remove(child)
            got = _collect(child)
            results.append(got if got is not None else work(lo, hi))
    finally:
        for child in pending:
            _reap(child)
    return results


def read(path: str, start: int, end: int, parser: Any) -> tuple[list, int]:
    """Chunks (one per range, in file order) of the whole lines in path[start:end], and the bytes they take."""
    parts = workers() if end - start >= SPLIT_MIN else 1
    cuts = boundaries(path, start, end, parts) if parts > 1 else [start, end]
    ranges = list(zip(cuts, cuts[1:]))
    results = in_ranges(ranges, lambda lo, hi: scan(path, lo, hi, parser))
    out, used = [], 0
    for (lo, hi), (chunk, taken) in zip(ranges, results):
        out.append(chunk)
        used += taken
        if taken != hi - lo:            # the file shrank while read, or the last range's unfinished line
            break
    return out, used
