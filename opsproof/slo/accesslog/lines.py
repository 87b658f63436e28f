"""One access-log line -> (minute, status, duration µs or -1), or None when it does not parse. Standard library only.

The one definition of what a line means, shared by the numpy path here (accesslog.py reads the pieces its
vectorised pass cannot validate through `read_lines`) and the reducer shipped to a remote target
(reducer.py), so both count every line the same way: nginx `combined` with `$request_time` appended
(the time carries its UTC offset), or JSON lines with configured field names.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from typing import Any, Callable, Optional

SAMPLES = 5              # malformed lines kept for the report
LATENCY = 1000           # a count's code: an HTTP status (0-999), or LATENCY + the latency bin
_QUOTED = r'"[^"\\]*(?:\\.[^"\\]*)*"'      # "(?:[^"\\]|\\.)*" unrolled: the same strings, fewer steps
_COMBINED = re.compile(
    r'^\S+ \S+ .*?\[(?P<time>\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] ' + _QUOTED
    + r' (?P<status>\d{3}) \S+(?: ' + _QUOTED + ' ' + _QUOTED + r')?(?P<rest>.*)$')
_NUMBER = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$")
_MONTHS = {m: i + 1 for i, m in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"))}
_EPOCH = date(1970, 1, 1)

Parsed = Optional[tuple[int, int, int]]


def minute_of(y: int, mo: int, d: int, hh: int, mm: int, sign: int, off_min: int) -> int:
    """Minutes since the epoch (UTC) of a local time with its UTC offset."""
    return (date(y, mo, d) - _EPOCH).days * 1440 + hh * 60 + mm - sign * off_min


def nginx_minute(w: bytes) -> Optional[int]:
    """`[dd/Mon/yyyy:HH:MM:SS +zzzz]` (32-byte window from '[') -> minute, or None when not a time."""
    month = _MONTHS.get(w[4:7])
    digits = w[1:3] + w[8:12] + w[13:15] + w[16:18] + w[19:21] + w[23:27]
    if month is None or not digits.isdigit() or w[22] not in (43, 45):
        return None
    try:
        return minute_of(int(w[8:12]), month, int(w[1:3]), int(w[13:15]), int(w[16:18]),
                         1 if w[22] == 43 else -1, int(w[23:25]) * 60 + int(w[25:27]))
    except ValueError:
        return None


def duration_us(value: Any, unit: str) -> Optional[int]:
    if unit == "s" and isinstance(value, str) and len(value) == 5 and value[1] == "." and value.isascii() \
            and value[0].isdigit() and value[2:].isdigit():      # nginx's "d.ddd", exactly as float() rounds it
        return int(value[0]) * 1_000_000 + int(value[2:]) * 1000
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


def json_minute(value: Any) -> Optional[int]:
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


class LineParser:
    """Reads one line of the configured format; `line` is the parser for it."""

    def __init__(self, fmt: str = "combined", time_field: str = "time", status_field: str = "status",
                 duration_field: str = "request_time", duration_unit: str = "s") -> None:
        self.fmt = fmt
        self.time_field, self.status_field = time_field, status_field
        self.duration_field, self.duration_unit = duration_field, duration_unit
        self._minutes: dict[str, Optional[int]] = {}    # "dd/Mon/yyyy:HH:MM +zzzz" -> minute: parsed once
        self.line: Callable[[str], Parsed] = self.combined_line if fmt == "combined" else self.json_line

    def settings(self) -> dict:
        """The arguments that make this parser again (on a target, say)."""
        return {"fmt": self.fmt, "time_field": self.time_field, "status_field": self.status_field,
                "duration_field": self.duration_field, "duration_unit": self.duration_unit}

    def combined_line(self, line: str) -> Parsed:
        m = _COMBINED.match(line)
        if not m:
            return None
        stamp = m["time"]
        key = stamp[:17] + stamp[20:]
        minute = self._minutes.get(key, -1)
        if minute == -1:
            if len(self._minutes) > 100_000:
                self._minutes.clear()
            minute = self._minutes[key] = nginx_minute(b"[" + stamp.encode() + b"]")
        if minute is None:
            return None
        rest = m["rest"].split()
        dur = -1
        if rest and rest[0] != "-":
            parsed = duration_us(rest[0], "s")
            if parsed is None:
                return None
            dur = parsed
        return minute, int(m["status"]), dur

    def json_line(self, line: str) -> Parsed:
        try:
            record = json.loads(line)
        except ValueError:
            return None
        minute = json_minute(_field(record, self.time_field))
        status = _field(record, self.status_field)
        try:
            status = int(status) if not isinstance(status, bool) else None
        except (TypeError, ValueError):
            status = None
        if minute is None or status is None or not 0 <= status <= 999:
            return None
        raw = _field(record, self.duration_field)
        dur = -1 if raw is None or raw == "-" else duration_us(raw, self.duration_unit)
        if dur is None:
            return None
        return minute, status, dur


class Tally:
    """Line accounting of what was read: lines, malformed lines and a few samples of them."""

    def __init__(self) -> None:
        self.lines = 0
        self.malformed = 0
        self.samples: list[str] = []


def read_lines(buf: bytes, parse: Callable[[str], Parsed], tally: Tally, take: Callable[[int, int, int], None]) -> None:
    """Every non-blank line of `buf` through `parse`: `take(minute, status, dur)` for each request, the rest tallied."""
    for raw in buf.splitlines():
        if not raw.strip():
            continue
        tally.lines += 1
        text = raw.decode("utf-8", errors="replace")
        parsed = parse(text)
        if parsed is None:
            tally.malformed += 1
            if len(tally.samples) < SAMPLES:
                tally.samples.append(text[:300])
            continue
        take(*parsed)
