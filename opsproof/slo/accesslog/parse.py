"""Access-log lines -> per-minute counts: nginx `combined` with `$request_time` appended, or JSON lines.

The output of a chunk is sparse and already reduced: parallel arrays (minute, code, count) where
`code` is an HTTP status (0-999) or 1000 + a latency bin (durations binned on `edges_us`, a bin
holding edges[i-1] < d <= edges[i]). Lines that do not parse are counted and a few are kept as
samples; they never stop a run.

nginx lines take the vectorised path (fastpath.py) a piece of about 4 MB at a time. A piece that
does not validate as a whole is bisected down to small pieces, which a per-line regular expression
reads, so one odd line costs little and is counted exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .fastpath import PAD, fast_combined
from .localread import buffer
from .lines import LATENCY, SAMPLES, LineParser, Tally, read_lines

CODES = 2048            # codes are below this (statuses < 1000, at most 1048 latency bins)
SMALL = 64 * 1024        # below this a failing chunk is read line by line
PIECE = 4 << 20          # the vectorised pass works on pieces this size (measured: 4 MB beats 16 MB by a third)


@dataclass
class Chunk:
    """What one piece of log contributed: sparse per-minute counts plus line accounting."""

    minute: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    code: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    lines: int = 0
    requests: int = 0
    malformed: int = 0
    no_duration: int = 0
    samples: list[str] = field(default_factory=list)


def reduce(minute: np.ndarray, status: np.ndarray, dur_us: np.ndarray, edges_us: np.ndarray) -> tuple:
    """Per-request arrays -> (minute, code, count), summed over equal (minute, code)."""
    has = dur_us >= 0
    everyone = bool(has.all())
    if len(minute):
        low = int(minute.min())
        span = (int(minute.max()) - low + 1) * CODES
        if span <= max(8 * len(minute), 1 << 20):      # dense enough to count by position: no sort, no copies
            rel = (minute - low) * CODES
            bins = latency_bins(dur_us if everyone else dur_us[has], edges_us)
            counts = np.bincount(rel + status, minlength=span)
            counts += np.bincount((rel if everyone else rel[has]) + (LATENCY + bins), minlength=span)
            uniq = np.flatnonzero(counts)
            return uniq // CODES + low, uniq % CODES, counts[uniq].astype(np.int64)
    codes = np.concatenate([status.astype(np.int64), LATENCY + latency_bins(dur_us[has], edges_us)])
    minutes = np.concatenate([minute, minute[has]])
    return merge(minutes, codes, np.ones(len(codes), np.int64))


def chunk_of(minute: list[int], code: list[int], count: list[int], lines: int, requests: int, malformed: int,
             no_duration: int, samples: list[str]) -> Chunk:
    """A Chunk from plain lists (what the reducer on a remote target sends back)."""
    return Chunk(*(np.array(v, np.int64) for v in (minute, code, count)), lines, requests, malformed, no_duration,
                 list(samples))


def combine(chunks: list[Chunk]) -> Chunk:
    """One Chunk holding what `chunks` hold: counts summed, line accounting added, the first samples kept."""
    out = Chunk()
    parts = [c for c in chunks if len(c.minute)]
    if parts:
        out.minute, out.code, out.count = merge(*(np.concatenate([getattr(c, k) for c in parts])
                                                  for k in ("minute", "code", "count")))
    for c in chunks:
        out.lines += c.lines
        out.requests += c.requests
        out.malformed += c.malformed
        out.no_duration += c.no_duration
        out.samples += c.samples[: max(0, SAMPLES - len(out.samples))]
    return out


_LUT: dict[bytes, np.ndarray] = {}


LUT_MIN = 1 << 16        # durations in one call from which building the table (65 536 searches) pays


def latency_bins(dur_us: np.ndarray, edges_us: np.ndarray) -> np.ndarray:
    """The bin of each duration: edges[i-1] < d <= edges[i]; whole milliseconds below 65 s by table (the same bins
    as searching each: the table is that search done once per millisecond, built for calls of LUT_MIN or more)."""
    table = _LUT.get(edges_us.tobytes())
    if table is None and len(dur_us) < LUT_MIN:
        return np.searchsorted(edges_us, dur_us, side="left")
    if table is None:
        table = _LUT.setdefault(edges_us.tobytes(), np.searchsorted(edges_us, np.arange(1 << 16) * 1000, side="left"))
    ms, rest = np.divmod(dur_us, 1000)
    simple = (rest == 0) & (ms < (1 << 16))
    if simple.all():
        return table[ms]
    bins = np.searchsorted(edges_us, dur_us, side="left")
    bins[simple] = table[ms[simple]]
    return bins


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(values, return_inverse=True)` of a 1-d array, by a sort: np.unique's first call imports numpy.ma
    (some 25 ms, a whole re-run's worth of reading)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.empty(len(ordered), bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(len(ordered), np.intp)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def merge(minute: np.ndarray, code: np.ndarray, count: np.ndarray) -> tuple:
    """Sum counts of equal (minute, code) pairs; result sorted by minute then code."""
    if len(minute) == 0:
        return minute.astype(np.int64), code.astype(np.int64), count.astype(np.int64)
    low = int(minute.min())
    span = int(minute.max()) - low + 1
    key = (minute.astype(np.int64) - low) * CODES + code
    if span * CODES <= max(4 * len(key), 1 << 20):   # dense enough to count by position (no sort)
        summed = np.bincount(key, weights=count, minlength=span * CODES)
        uniq = np.flatnonzero(summed)
        summed = summed[uniq]
    else:
        uniq, inverse = unique_inverse(key)
        summed = np.bincount(inverse, weights=count, minlength=len(uniq))
    return uniq // CODES + low, uniq % CODES, summed.astype(np.int64)


class Parser:
    """Reads chunks of complete lines in one configured format."""

    def __init__(self, fmt: str, edges_us: np.ndarray, time_field: str = "time", status_field: str = "status",
                 duration_field: str = "request_time", duration_unit: str = "s") -> None:
        self.fmt, self.edges_us = fmt, edges_us
        self.line = LineParser(fmt, time_field, status_field, duration_field, duration_unit)
        self._scratch = np.empty(0, bool)      # reused: a fresh 16 MB array costs its page faults every chunk

    def feed(self, buf: bytes, lo: int = 0, hi: Optional[int] = None) -> Chunk:
        """Parse the complete lines in buf[lo:hi] (ending with a newline, or a final unterminated line).

        Offsets instead of a slice: a 16 MB chunk is read where it lies, never copied.
        """
        hi = len(buf) if hi is None else hi
        out = Chunk()
        parts: list[tuple] = []
        if self.fmt == "combined":
            while lo < hi:           # pieces of about PIECE bytes: the vectorised pass stays in the CPU's caches
                end = hi if hi - lo <= PIECE else (buf.rfind(b"\n", lo, lo + PIECE) + 1 or hi)
                self._combined(buf, lo, end, out, parts)
                lo = end
        else:
            self.lines(buf[lo:hi], out, parts)
        if parts:
            minute, status, dur = (np.concatenate([p[i] for p in parts]) for i in range(3))
            out.minute, out.code, out.count = reduce(minute, status, dur, self.edges_us)
            out.requests = len(minute)
            out.no_duration = int(np.count_nonzero(dur < 0))
        return out

    combine = staticmethod(combine)

    def _combined(self, buf: bytes, lo: int, hi: int, out: Chunk, parts: list) -> None:
        if hi - lo > SMALL:
            cut = buf.rfind(b"\n", lo, hi - PAD) + 1   # whole lines whose windows stay inside buf[lo:hi]
            fast = None
            if cut > lo:
                if self._scratch.size < cut - lo:      # 2 MB pages where it can (localread.buffer)
                    self._scratch = np.frombuffer(buffer(max(cut - lo, PIECE if hi - lo > PIECE // 2 else 0)), bool)
                fast = fast_combined(np.frombuffer(buf, np.uint8, hi - lo, lo), cut - lo, self._scratch)
            if fast is not None:
                parts.append(fast)
                out.lines += len(fast[0])
                self.lines(buf[cut:hi], out, parts)
                return
            half = buf.rfind(b"\n", lo, (lo + hi) // 2) + 1
            if lo < half < hi:          # bisect: the odd line ends up in a small piece read line by line
                self._combined(buf, lo, half, out, parts)
                self._combined(buf, half, hi, out, parts)
                return
        self.lines(buf[lo:hi], out, parts)

    def lines(self, buf: bytes, out: Chunk, parts: list) -> None:
        """Line by line (lines.py: the same reading the shipped reducer does), appended to `parts` as arrays."""
        minutes: list[int] = []
        statuses: list[int] = []
        durs: list[int] = []

        def take(minute: int, status: int, dur: int) -> None:
            minutes.append(minute)
            statuses.append(status)
            durs.append(dur)

        tally = Tally()
        read_lines(buf, self.line.line, tally, take)
        out.lines += tally.lines
        out.malformed += tally.malformed
        out.samples += tally.samples[: max(0, SAMPLES - len(out.samples))]
        if minutes:
            parts.append((np.array(minutes, np.int64), np.array(statuses, np.int64), np.array(durs, np.int64)))
