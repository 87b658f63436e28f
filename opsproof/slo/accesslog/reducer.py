"""The per-minute reduction of one access-log file, standard library only: what runs ON a remote target.

opsproof.hosts.ship sends this module (and lines.py) to the target's python3; the log never crosses
the network, only its per-minute counts do: (minute, code, count) triples where code is an HTTP status
or LATENCY + a latency bin, as the numpy path (accesslog.py) makes them for a local file, so the local
side merges them into the same aggregates. Plain files are read from an offset to their size at stat
time, and a trailing line without its newline waits; `.gz` files (several members allowed) are
inflated from the start, `start` uncompressed bytes skipped, and their last line counts. A call that
reaches its deadline stops at a line boundary and says so (`finished` false): the caller calls again
from `offset`.
"""
from __future__ import annotations

import base64
import json
import time
import zlib
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator, Optional

from .lines import LATENCY, SAMPLES, LineParser, Tally, read_lines
from .localread import SPLIT_MIN, boundaries, in_ranges, workers

BLOCK = 1 << 20          # bytes read (and, for .gz, inflated) at a time


@dataclass
class Reduced:
    """One file's contribution: its counts, compact, and where reading stopped."""

    offset: int = 0              # uncompressed offset after the last line read
    finished: bool = True        # False: stopped at the deadline; call again from `offset`
    bytes_read: int = 0
    lines: int = 0
    requests: int = 0
    malformed: int = 0
    no_duration: int = 0
    samples: list[str] = field(default_factory=list)
    counts: str = ""             # base64 of zlib'd JSON [minute delta, code, count, ...], sorted by minute then code
    error: Optional[str] = None  # the gzip stream ends early (still being written?)


def gunzip(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """Decompress a (possibly multi-member) gzip stream piece by piece; EOFError if it stops mid-member."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    fed = False
    for piece in pieces:
        while piece:
            fed = True
            out = inflater.decompress(piece)
            if out:
                yield out
            piece = b""
            if inflater.eof:
                piece = inflater.unused_data
                inflater, fed = zlib.decompressobj(zlib.MAX_WBITS | 16), False
    tail = inflater.flush()
    if tail:
        yield tail
    if fed and not inflater.eof:
        raise EOFError("the gzip stream ends early (still being written?)")


def _blocks(path: str, start: int, end: int) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        offset = start
        while offset < end:
            piece = fh.read(min(BLOCK, end - offset))
            if not piece:
                return
            offset += len(piece)
            yield piece


def encode(counts: Counter) -> str:
    flat: list[int] = []
    last = 0
    for (minute, code), n in sorted(counts.items()):
        flat += (minute - last, code, n)
        last = minute
    return base64.b64encode(zlib.compress(json.dumps(flat, separators=(",", ":")).encode(), 6)).decode("ascii")


def decode(text: str) -> tuple[list[int], list[int], list[int]]:
    """(minutes, codes, counts) from `Reduced.counts`."""
    flat = json.loads(zlib.decompress(base64.b64decode(text))) if text else []
    minutes, total = [], 0
    for delta in flat[0::3]:
        total += delta
        minutes.append(total)
    return minutes, flat[1::3], flat[2::3]


def _reduce(path: str, start: int, end: int, settings: dict, edges_us: list[int],
            deadline: Optional[float]) -> tuple[Reduced, Counter]:
    """One range's Reduced (counts not yet encoded) and its Counter of (minute, code) -> requests."""
    parser = LineParser(**settings)
    counts: Counter = Counter()
    out = Reduced(offset=start)
    tally = Tally()

    def take(minute: int, status: int, dur: int) -> None:
        counts[(minute, status)] += 1
        if dur >= 0:
            counts[(minute, LATENCY + bisect_left(edges_us, dur))] += 1
        else:
            out.no_duration += 1
        out.requests += 1

    compressed = path.endswith(".gz")
    stream = gunzip(_blocks(path, 0, end)) if compressed else _blocks(path, start, end)
    skip, carry = (start, b"") if compressed else (0, b"")
    try:
        for piece in stream:
            if skip:
                dropped = min(skip, len(piece))
                skip, piece = skip - dropped, piece[dropped:]
            data = carry + piece
            cut = data.rfind(b"\n") + 1
            if cut:
                read_lines(data[:cut], parser.line, tally, take)
                out.offset += cut
                out.bytes_read += cut
            carry = data[cut:]
            if deadline is not None and out.bytes_read and time.monotonic() >= deadline:   # after progress
                out.finished = False
                break
        else:
            if compressed and carry:         # immutable: its last line counts even without a newline
                read_lines(carry + b"\n", parser.line, tally, take)
                out.offset += len(carry)
                out.bytes_read += len(carry)
    except EOFError as exc:
        out.error = str(exc)
    out.lines, out.malformed, out.samples = tally.lines, tally.malformed, tally.samples
    return out, counts


def _compact(counts: Counter, keep_from: Optional[int], hours_before: Optional[int]) -> Counter:
    """As Aggregates.compact does it: minutes before `keep_from` dropped, before `hours_before` summed per hour."""
    if keep_from is None or hours_before is None:
        return counts
    out: Counter = Counter()
    for (minute, code), n in counts.items():
        hour = minute - minute % 60
        if minute >= keep_from:          # the hour holding keep_from stays in minutes: the aggregates sum it
            out[(hour if minute < hours_before and hour >= keep_from else minute, code)] += n
    return out


def reduce_file(path: str, size: int, start: int, settings: dict, edges_us: list[int],
                deadline: Optional[float] = None, keep_from: Optional[int] = None,
                hours_before: Optional[int] = None) -> Reduced:
    """Per-minute counts of `path` from uncompressed offset `start` (a `.gz` name is inflated).

    A large plain file is cut at line boundaries into one range per core, the others reduced by forked
    children (localread's helpers); what is kept is the ranges read whole, in order, up to the first that
    stopped early (the next call goes on from there). With `keep_from` and `hours_before` (minutes) the counts
    are compacted here as the aggregates will be, so a month of log sends back a week of minutes and hours.
    """
    parts = workers() if not path.endswith(".gz") and size - start >= SPLIT_MIN else 1
    cuts = boundaries(path, start, size, parts) if parts > 1 else [start, size]
    ranges = list(zip(cuts, cuts[1:]))
    results = in_ranges(ranges, lambda lo, hi: _reduce(path, lo, hi, settings, edges_us, deadline))
    out, counts = results[0]
    for (lo, hi), (part, more) in zip(ranges, results):
        if part is not out:
            counts.update(more)
            for name in ("bytes_read", "lines", "requests", "malformed", "no_duration"):
                setattr(out, name, getattr(out, name) + getattr(part, name))
            out.samples += part.samples[: max(0, SAMPLES - len(out.samples))]
            out.offset, out.finished = part.offset, part.finished
        if not out.finished or out.offset != hi:
            break
    out.counts = encode(_compact(counts, keep_from, hours_before))
    return out
