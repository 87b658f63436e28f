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

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

import numpy as np

from .fastpath import PAD, fast_combined, nginx_minute

LATENCY = 1000           # code = LATENCY + bin
_CODES = 2048            # codes are below this (statuses < 1000, at most 1048 latency bins)
SAMPLES = 5              # malformed lines kept for the report
SMALL = 64 * 1024        # below this a failing chunk is read line by line
PIECE = 4 << 20          # the vectorised pass works on pieces this size (measured: 4 MB beats 16 MB by a third)
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_COMBINED = re.compile(
    r'^\S+ \S+ .*?\[(?P<time>\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] ' + _QUOTED
    + r' (?P<status>\d{3}) \S+(?: ' + _QUOTED + ' ' + _QUOTED + r')?(?P<rest>.*)$')
_NUMBER = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$")


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
    codes = np.concatenate([status.astype(np.int64), LATENCY + latency_bins(dur_us[has], edges_us)])
    minutes = np.concatenate([minute, minute[has]])
    return merge(minutes, codes, np.ones(len(codes), np.int64))


_LUT: dict[bytes, np.ndarray] = {}


def latency_bins(dur_us: np.ndarray, edges_us: np.ndarray) -> np.ndarray:
    """The bin of each duration: edges[i-1] < d <= edges[i]; whole milliseconds below 65 s by table."""
    table = _LUT.get(edges_us.tobytes())
    if table is None:
        table = _LUT.setdefault(edges_us.tobytes(), np.searchsorted(edges_us, np.arange(1 << 16) * 1000, side="left"))
    ms, rest = np.divmod(dur_us, 1000)
    simple = (rest == 0) & (ms < (1 << 16))
    if simple.all():
        return table[ms]
    bins = np.searchsorted(edges_us, dur_us, side="left")
    bins[simple] = table[ms[simple]]
    return bins


def merge(minute: np.ndarray, code: np.ndarray, count: np.ndarray) -> tuple:
    """Sum counts of equal (minute, code) pairs; result sorted by minute then code."""
    if len(minute) == 0:
        return minute.astype(np.int64), code.astype(np.int64), count.astype(np.int64)
    low = int(minute.min())
    span = int(minute.max()) - low + 1
    key = (minute.astype(np.int64) - low) * _CODES + code
    if span * _CODES <= max(4 * len(key), 1 << 20):   # dense enough to count by position (no sort)
        summed = np.bincount(key, weights=count, minlength=span * _CODES)
        uniq = np.flatnonzero(summed)
        summed = summed[uniq]
    else:
        uniq, inverse = np.unique(key, return_inverse=True)
        summed = np.bincount(inverse.ravel(), weights=count, minlength=len(uniq))
    return uniq // _CODES + low, uniq % _CODES, summed.astype(np.int64)


def _duration_us(value: Any, unit: str) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not _NUMBER.match(value):
            return None
        value = float(value)
    if not isinstance(value, (int, float)) or value < 0 or value != value:
        return None
    return int(round(value * (1000 if unit == "ms" else 1_000_000)))


def _json_minute(value: Any) -> Optional[int]:
    """ISO 8601 (offset honoured; none means UTC) or seconds since the epoch -> minute."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        stamp = float(value) / 1000 if value > 1e11 else float(value)   # epoch ms is common in JSON logs
        return int(stamp // 60)
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() // 60)


def _field(record: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(record, dict) or part not in record:
            return None
        record = record[part]
    return record


class Parser:
    """Reads chunks of complete lines in one configured format."""

    def __init__(self, fmt: str, edges_us: np.ndarray, time_field: str = "time", status_field: str = "status",
                 duration_field: str = "request_time", duration_unit: str = "s") -> None:
        self.fmt, self.edges_us = fmt, edges_us
        self.time_field, self.status_field = time_field, status_field
        self.duration_field, self.duration_unit = duration_field, duration_unit
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
            self._lines(buf[lo:hi], out, parts, self._json_line)
        if parts:
            minute, status, dur = (np.concatenate([p[i] for p in parts]) for i in range(3))
            out.minute, out.code, out.count = reduce(minute, status, dur, self.edges_us)
            out.requests = len(minute)
            out.no_duration = int(np.count_nonzero(dur < 0))
        return out

    def _combined(self, buf: bytes, lo: int, hi: int, out: Chunk, parts: list) -> None:
        if hi - lo > SMALL:
            cut = buf.rfind(b"\n", lo, hi - PAD) + 1   # whole lines whose windows stay inside buf[lo:hi]
            fast = None
            if cut > lo:
                if self._scratch.size < cut - lo:
                    self._scratch = np.empty(cut - lo, bool)
                fast = fast_combined(np.frombuffer(buf, np.uint8, hi - lo, lo), cut - lo, self._scratch)
            if fast is not None:
                parts.append(fast)
                out.lines += len(fast[0])
                self._lines(buf[cut:hi], out, parts, self._combined_line)
                return
            half = buf.rfind(b"\n", lo, (lo + hi) // 2) + 1
            if lo < half < hi:          # bisect: the odd line ends up in a small piece read line by line
                self._combined(buf, lo, half, out, parts)
                self._combined(buf, half, hi, out, parts)
                return
        self._lines(buf[lo:hi], out, parts, self._combined_line)

    def _lines(self, buf: bytes, out: Chunk, parts: list, parse_line) -> None:
        minutes: list[int] = []
        statuses: list[int] = []
        durs: list[int] = []
        for raw in buf.splitlines():
            if not raw.strip():
                continue
            out.lines += 1
            text = raw.decode("utf-8", errors="replace")
            parsed = parse_line(text)
            if parsed is None:
                out.malformed += 1
                if len(out.samples) < SAMPLES:
                    out.samples.append(text[:300])
                continue
            minutes.append(parsed[0])
            statuses.append(parsed[1])
            durs.append(parsed[2])
        if minutes:
            parts.append((np.array(minutes, np.int64), np.array(statuses, np.int64), np.array(durs, np.int64)))

    def _combined_line(self, line: str) -> Optional[tuple[int, int, int]]:
        m = _COMBINED.match(line)
        if not m:
            return None
        minute = nginx_minute(b"[" + m["time"].encode() + b"]")
        if minute is None:
            return None
        rest = m["rest"].split()
        dur = -1
        if rest and rest[0] != "-":
            parsed = _duration_us(rest[0], "s")
            if parsed is None:
                return None
            dur = parsed
        return minute, int(m["status"]), dur

    def _json_line(self, line: str) -> Optional[tuple[int, int, int]]:
        try:
            record = json.loads(line)
        except ValueError:
            return None
        minute = _json_minute(_field(record, self.time_field))
        status = _field(record, self.status_field)
        try:
            status = int(status) if not isinstance(status, bool) else None
        except (TypeError, ValueError):
            status = None
        if minute is None or status is None or not 0 <= status <= 999:
            return None
        raw = _field(record, self.duration_field)
        dur = -1 if raw is None or raw == "-" else _duration_us(raw, self.duration_unit)
        if dur is None:
            return None
        return minute, status, dur
