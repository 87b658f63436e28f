"""The maintenance's reference point: when it started, and the error lines logged since.

The premaintenance run records the start per host: the time, and where the error log ended then
(inode and offset, the error-log scan's own reference shape, so a rotation in between is followed
through NAME.1). postmaintenance counts errors since that start; with no open record, since the
maintenance window last opened (the log's timestamps locate that line, by bisection over byte
offsets, reading a few KiB per step); with neither, it leaves the count to the since-last-run check.
A passing postmaintenance run closes the record, so the next maintenance starts afresh.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional

from ..config import Logs, Window
from ..logs.errorlog import ErrorScan
from ..logs.scan import reference_at_end, scan_errors
from ..hosts.target import Target
from .window import window_rule

STATE = "maintenance"
PROBE = 16 * 1024
_TS = re.compile(rb"^\[?(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?\s?(Z|[+-]\d{2}:?\d{2})?")


@dataclass
class MaintenanceStart:
    host: str
    started_utc: str
    run: str = ""
    operator: str = ""
    error_log: Optional[dict] = None      # {path, offset, inode, fingerprints}: where the error log ended at the start


@dataclass
class Reference:
    kind: str                             # premaintenance | window | none
    since_utc: Optional[str] = None
    detail: str = ""
    record: Optional[dict] = None

    def closes_after(self, run_id: str) -> bool:
        """Whether a passing postmaintenance run `run_id` closes the record counted from: one another run opened."""
        return self.kind == "premaintenance" and (self.record or {}).get("run") != run_id


@dataclass
class ErrorsSince:
    path: str
    reference: str
    since_utc: Optional[str]
    matches: int = 0
    lines_read: int = 0
    files: list[str] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    error: Optional[str] = None


def utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_start(target: Target, store, run: str, operator: str, logs: Optional[Logs]) -> MaintenanceStart:
    """Save the start of this maintenance for `target` in the state store, with where the error log (of `logs`, when
    the config has that section) ends now."""
    error_log = logs.error_log if logs else None
    start = MaintenanceStart(target.name, utc(datetime.now(timezone.utc)), run, operator)
    if error_log:
        mark, _ = reference_at_end(target, error_log)
        start.error_log = {"path": error_log, **mark} if mark else None
    store.save(STATE, {"start": start.__dict__, "ended_utc": None})
    return start


def close(store) -> None:
    saved = store.load(STATE)
    if saved.get("start") and not saved.get("ended_utc"):
        saved["ended_utc"] = utc(datetime.now(timezone.utc))
        store.save(STATE, saved)


def reference(store, window: Optional[Window], now: datetime) -> Reference:
    """Since when postmaintenance counts: the recorded start, else the window's last opening, else none."""
    schedule = window_rule(window) if window else None
    saved = store.load(STATE)
    start = saved.get("start")
    if start and not saved.get("ended_utc"):
        return Reference("premaintenance", start["started_utc"],
                         f"since the start the premaintenance run recorded ({start['started_utc']})", start)
    if schedule is not None:
        last = schedule.last_opened(now)
        if last is not None:
            return Reference("window", utc(last.start), f"since the maintenance window opened ({utc(last.start)})")
    return Reference("none", detail="no open premaintenance record and no window: section")


def _line_time(line: bytes, default_tz: timezone) -> Optional[datetime]:
    found = _TS.match(line)
    if not found:
        return None
    y, mo, d, h, mi, s, zone = found.groups()
    try:
        when = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    except ValueError:
        return None
    if zone in (None, b""):
        return when.replace(tzinfo=default_tz)
    if zone == b"Z":
        return when.replace(tzinfo=timezone.utc)
    z = zone.decode().replace(":", "")
    offset = timedelta(hours=int(z[1:3]), minutes=int(z[3:5]))
    return when.replace(tzinfo=timezone(offset if z[0] == "+" else -offset))


def _first_stamp(target: Target, path: str, offset: int, size: int, tz: timezone) -> tuple[Optional[int], Optional[datetime]]:
    """The first line starting after `offset` (at it, when offset is 0) that carries a timestamp: (offset, time)."""
    pos, partial = offset, offset > 0  # mid-line: the first (partial) line is skipped
    while pos < size:
        data = target.read_range(path, pos, PROBE)
        if not data:
            break
        start = 0
        if partial:
            cut = data.find(b"\n")
            if cut < 0:
                pos += len(data)
                continue
            start, partial = cut + 1, False
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            when = _line_time(data[start:end], tz)
            if when is not None:
                return pos + start, when
            start = end + 1
        if start == 0:
            partial = True  # a line longer than PROBE: skip the rest of it
            pos += len(data)
        else:
            pos += start
    return None, None


def offset_since(target: Target, path: str, size: int, since: datetime, tz: timezone) -> Optional[int]:
    """Offset of the first line stamped at or after `since` (size when none is); None when no line has a stamp."""
    first, when = _first_stamp(target, path, 0, size, tz)
    if first is None:
        return None
    if when >= since:
        return first
    lo, hi = first, size  # invariant: the line at lo is before `since`; every stamped line at or after hi is not
    while hi - lo > PROBE:
        mid = (lo + hi) // 2
        at, when = _first_stamp(target, path, mid, hi, tz)
        if at is None or at >= hi:
            hi = mid
        elif when >= since:
            hi = at
        else:
            lo = at
    pos = lo
    while pos < hi:
        at, when = _first_stamp(target, path, pos, hi, tz)
        if at is None:
            return hi
        if when >= since:
            return at
        pos = at + 1
    return hi


def errors_since(target: Target, path: str, pattern: str, ref: Reference, keep: int = 20) -> ErrorsSince:
    """Error lines written since the reference point, in the log and (where it rotated since) NAME.1."""
    out = ErrorsSince(path, ref.detail, ref.since_utc)
    scans: list[ErrorScan] = []
    if ref.kind == "premaintenance":
        saved = (ref.record or {}).get("error_log") or {}
        if saved.get("path") not in (None, path):
            saved = {}
        scan, _ = scan_errors(target, path, pattern, saved, keep)
        out.reference = f"{ref.detail}; {scan.reference}"
        scans.append(scan)
    else:
        since = datetime.fromisoformat(ref.since_utc.replace("Z", "+00:00"))
        tz = _target_zone(target)
        for name in (path + ".1", path):
            st = target.stat(name)
            if not st.exists or (name != path and (st.mtime or 0) < since.timestamp()):
                continue
            offset = offset_since(target, name, st.size or 0, since, tz)
            if offset is None:
                out.error = (f"cannot tell which lines of {name} were written since {ref.since_utc}: its lines carry "
                             "no timestamp read here (ISO 8601, or YYYY/MM/DD HH:MM:SS) — run the premaintenance "
                             "checklist before maintenance: it records where the log ended")
                return out
            scan, _ = scan_errors(target, name, pattern, {"inode": st.inode, "offset": offset}, keep)
            scans.append(scan)
    for scan in scans:
        if scan.error:
            out.error = scan.error
            return out
        out.matches += scan.matches
        out.lines_read += scan.lines_read
        out.files.append(scan.path + (f" (+ {scan.rotated_from})" if scan.rotated_from else ""))
        out.sample += scan.sample[: max(0, keep - len(out.sample))]
        if scan.unread:     # written since the start and not readable: never read as "no errors"
            out.error = "; ".join(scan.unread)
    return out


def _target_zone(target: Target) -> timezone:
    """The target's current UTC offset, for log lines stamped in local time without an offset (nginx)."""
    try:
        text = target.run("date +%%z").stdout.strip()
        sign = -1 if text.startswith("-") else 1
        return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[3:5])))
    except Exception:
        return timezone.utc


@dataclass
class PlanFile:
    """A document the checklist needs (the rollback plan): there, a regular file, with words in it."""

    path: str
    exists: bool = False
    is_file: bool = False
    size: int = 0
    words: int = 0
    modified_utc: Optional[str] = None
    error: Optional[str] = None


def plan_file(target: Target, path: str, limit: int = 256 * 1024) -> PlanFile:
    out = PlanFile(path)
    st = target.stat(path)
    out.exists, out.is_file, out.size = st.exists, st.is_file, st.size or 0
    out.error = st.error
    if st.exists and st.mtime:
        out.modified_utc = utc(datetime.fromtimestamp(st.mtime, timezone.utc))
    if st.exists and st.is_file:
        try:
            text = target.read_range(path, 0, limit).decode("utf-8", errors="replace")
            out.words = len(re.findall(r"\w+", re.sub(r"^#+\s.*$", "", text, flags=re.M)))  # headings alone are no plan
        except Exception as exc:  # noqa: BLE001 - unreadable is reported, not raised
            out.error = str(exc)
    return out
