"""Per-minute request counts of an access log: requests per HTTP status and a latency histogram per minute.

Bins are 10 % apart from 1 ms, plus every configured threshold as an exact edge. Minutes older than FINE_S are
summed into hours. Kept in the state store as zlib-compressed arrays, counts in the narrowest type that holds them.

The entries are kept sorted by (minute, code), each pair once: a re-run adds its few new minutes by position
(`_merge_sorted`) and compacts only the entries whose minute moved (`compact`), not the whole period again.
"""
from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .accesslog.parse import CODES, LATENCY, Chunk, merge

FINE_S = 8 * 86400
_COUNT_KINDS = (("<u2", 1 << 16), ("<u4", 1 << 32), ("<i8", None))   # the state's count type: the first that holds all


def latency_edges(thresholds_ms) -> np.ndarray:
    """Histogram edges in µs: 1 ms to ~6 min, 10 % apart, plus each threshold exactly."""
    base = np.round(1000 * 1.1 ** np.arange(0, 135)).astype(np.int64)
    extra = np.array([int(round(t * 1000)) for t in thresholds_ms], np.int64)
    edges = np.sort(np.concatenate([base, extra]))
    return edges[np.concatenate([[True], edges[1:] != edges[:-1]])]   # unique, without np.unique (see parse)


@dataclass
class Aggregates:
    edges_us: np.ndarray
    minute: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    code: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def add(self, chunks: list[Chunk]) -> None:
        parts = [c for c in chunks if len(c.minute)]
        if not parts:
            return
        new = merge(*(np.concatenate([getattr(c, k) for c in parts]) for k in ("minute", "code", "count")))
        if not len(new[0]):
            return
        if not len(self.minute):
            self.minute, self.code, self.count = new
        elif not self._in_order():        # not (minute, code)-sorted with each pair once: everything summed again
            self.minute, self.code, self.count = merge(np.concatenate([self.minute, new[0]]),
                                                       np.concatenate([self.code, new[1]]),
                                                       np.concatenate([self.count, new[2]]))
        elif (new[0][0], new[1][0]) > (self.minute[-1], self.code[-1]):   # a re-run's minutes, after the kept ones
            self.minute, self.code, self.count = (np.concatenate([a, b]).astype(np.int64, copy=False)
                                                  for a, b in zip((self.minute, self.code, self.count), new))
        else:
            keys, counts = _merge_sorted(self.minute.astype(np.int64) * CODES + self.code,
                                         self.count.astype(np.int64), new[0] * CODES + new[1], new[2])
            self.minute, self.code, self.count = np.floor_divide(keys, CODES), keys % CODES, counts

    def _in_order(self) -> bool:
        """Whether the entries are sorted by (minute, code), each pair once (what merge leaves)."""
        m, c = self.minute, self.code
        return len(m) < 2 or bool(((m[1:] > m[:-1]) | ((m[1:] == m[:-1]) & (c[1:] > c[:-1]))).all())

    def compact(self, now_s: float, keep_s: float) -> None:
        """Drop what is older than keep_s; sum minutes older than FINE_S into their hour."""
        now_min = int(now_s // 60)
        keep_from, fine_from = now_min - int(keep_s // 60), now_min - FINE_S // 60
        if not self._in_order():
            keep = self.minute >= keep_from
            minute = self.minute[keep]
            old = minute < fine_from
            minute = np.where(old, minute - minute % 60, minute)
            self.minute, self.code, self.count = merge(minute, self.code[keep], self.count[keep])
            return
        # Sorted: what is dropped is a prefix; what may move is the next stretch (minutes before fine_from), and of
        # it only the entries from the hour of its first minute not on an hour (the earlier ones were summed before).
        i, j = (int(v) for v in np.searchsorted(self.minute, [keep_from, fine_from], side="left"))
        old = self.minute[i:j]
        off = np.flatnonzero(old % 60)
        if not len(off):
            minute, code, count = self.minute[i:], self.code[i:], self.count[i:]
        else:
            first = int(old[off[0]])
            k = i + int(np.searchsorted(old, first - first % 60, side="left"))
            moved = self.minute[k:j]
            hours = merge(moved - moved % 60, self.code[k:j], self.count[k:j])
            minute, code, count = (np.concatenate([a[i:k], h, a[j:]]) for a, h in
                                   zip((self.minute, self.code, self.count), hours))
        self.minute, self.code, self.count = (np.asarray(a, np.int64) for a in (minute, code, count))

    def weights(self, sli: str, threshold_ms: Optional[float] = None, bad_status=()) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative (good, total) over the sorted entries, with a leading 0, for window sums by position."""
        if sli == "availability":
            request = self.code < LATENCY
            bad = request & (((self.code >= 500) & (self.code <= 599)) | np.isin(self.code, list(bad_status)))
            good, total = request & ~bad, request
        else:
            limit = int(np.searchsorted(self.edges_us, int(round(threshold_ms * 1000)), side="left"))
            total = self.code >= LATENCY
            good = total & (self.code - LATENCY <= limit)
        zero = np.zeros(1, np.int64)
        return (np.concatenate([zero, np.cumsum(self.count * good)]),
                np.concatenate([zero, np.cumsum(self.count * total)]))

    def positions(self, times_s) -> np.ndarray:
        """Entry index of the first minute at or after each time."""
        return np.searchsorted(self.minute, np.floor_divide(np.asarray(times_s, dtype=float), 60).astype(np.int64))

    def day(self, start_s: float, end_s: float) -> tuple[int, int, list[int]]:
        """Requests, 5xx answers and the latency histogram in [start, end)."""
        i, j = self.positions([start_s, end_s])
        code, count = self.code[i:j], self.count[i:j]
        request = code < LATENCY
        errors = int(count[request & (code >= 500) & (code <= 599)].sum())
        lat = ~request
        hist = np.bincount(code[lat] - LATENCY, weights=count[lat], minlength=len(self.edges_us) + 1)
        return int(count[request].sum()), errors, hist.astype(np.int64).tolist()

    def to_state(self) -> dict:
        """Arrays as zlib-compressed little-endian bytes in base64: a fraction of a JSON list's size and time. Counts
        in the narrowest of _COUNT_KINDS that holds them (`count_kind`; a state without it holds 8-byte counts)."""
        low, top = (int(self.count.min()), int(self.count.max())) if len(self.count) else (0, 0)
        kind = next(k for k, limit in _COUNT_KINDS if limit is None or (low >= 0 and top < limit))
        return {"edges": _pack(self.edges_us, "<i8"), "minute": _pack(self.minute, "<i4"),
                "code": _pack(self.code, "<i2"), "count": _pack(self.count, kind), "count_kind": kind}

    @classmethod
    def from_state(cls, data: dict) -> "Aggregates":
        count_kind = data.get("count_kind", "<i8")
        if count_kind not in {k for k, _ in _COUNT_KINDS}:
            raise ValueError(f"unknown count type {count_kind!r}")
        return cls(*(_unpack(data.get(key, ""), kind) for key, kind in
                     (("edges", "<i8"), ("minute", "<i4"), ("code", "<i2"), ("count", count_kind))))


def _merge_sorted(keys: np.ndarray, counts: np.ndarray, new_keys: np.ndarray,
                  new_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two strictly increasing key arrays with their counts -> the same, counts of equal keys summed."""
    at = np.searchsorted(keys, new_keys, side="left")
    hit = at < len(keys)
    hit[hit] = keys[at[hit]] == new_keys[hit]
    counts[at[hit]] += new_counts[hit]
    miss = ~hit
    return np.insert(keys, at[miss], new_keys[miss]), np.insert(counts, at[miss], new_counts[miss])


def _pack(values: np.ndarray, kind: str) -> str:
    return base64.b64encode(zlib.compress(np.ascontiguousarray(values, kind), 1)).decode("ascii")


def _unpack(text: str, kind: str) -> np.ndarray:
    if not text:
        return np.zeros(0, np.int64)
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), kind).astype(np.int64)
