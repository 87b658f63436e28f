"""Per-minute request counts of an access log: requests per HTTP status and a latency histogram per minute.

Bins are 10 % apart from 1 ms, plus every configured threshold as an exact edge. Minutes older than FINE_S are
summed into hours. Kept in the state store as zlib-compressed arrays.
"""
from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .accesslog.parse import LATENCY, Chunk, merge

FINE_S = 8 * 86400


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
        if parts:
            self.minute, self.code, self.count = merge(
                np.concatenate([self.minute] + [c.minute for c in parts]),
                np.concatenate([self.code] + [c.code for c in parts]),
                np.concatenate([self.count] + [c.count for c in parts]))

    def compact(self, now_s: float, keep_s: float) -> None:
        """Drop what is older than keep_s; sum minutes older than FINE_S into their hour."""
        now_min = int(now_s // 60)
        keep = self.minute >= now_min - int(keep_s // 60)
        minute = self.minute[keep]
        old = minute < now_min - FINE_S // 60
        minute = np.where(old, minute - minute % 60, minute)
        self.minute, self.code, self.count = merge(minute, self.code[keep], self.count[keep])

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
        """Arrays as zlib-compressed little-endian bytes in base64: a fraction of a JSON list's size and time."""
        return {"edges": _pack(self.edges_us, "<i8"), "minute": _pack(self.minute, "<i4"),
                "code": _pack(self.code, "<i2"), "count": _pack(self.count, "<i8")}

    @classmethod
    def from_state(cls, data: dict) -> "Aggregates":
        return cls(*(_unpack(data.get(key, ""), kind) for key, kind in
                     (("edges", "<i8"), ("minute", "<i4"), ("code", "<i2"), ("count", "<i8"))))


def _pack(values: np.ndarray, kind: str) -> str:
    return base64.b64encode(zlib.compress(values.astype(kind).tobytes(), 1)).decode("ascii")


def _unpack(text: str, kind: str) -> np.ndarray:
    if not text:
        return np.zeros(0, np.int64)
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), kind).astype(np.int64)
