"""What a service's logs say now: error lines a pattern matches, and an access log's recent attainment.
Standard library only (shipped to a target); reads are bounded in bytes and by the caller's deadline.
"""
from __future__ import annotations

import gzip
import os
import re
import time
from typing import Optional

from ..logs import siblings
from ..slo.accesslog.lines import LineParser

BLOCK = 1 << 20
ERROR_BYTES = 512 << 20         # the error check's first run reads the whole log; counting stops past this
ACCESS_BYTES = 256 << 20        # access-log bytes read for the attainment, newest first
SHOWN = 3


def count_errors(path: str, pattern: str, deadline: float) -> dict:
    """{matches, lines, sample (first few matching lines), complete}: the lines of `path` that `pattern` finds, each
    line on its own (as the error check counts them on its first run)."""
    regex = re.compile(pattern)
    matches = lines = 0
    sample: list[str] = []
    rest = b""
    done = 0
    complete = True
    try:
        with open(path, "rb") as fh:
            while True:
                block = fh.read(BLOCK)
                if not block:
                    break
                done += len(block)
                parts = (rest + block).split(b"\n")
                rest = parts.pop()
                for raw in parts:
                    lines += 1
                    line = raw.decode("utf-8", "replace")
                    if regex.search(line):
                        matches += 1
                        if len(sample) < SHOWN:
                            sample.append(line[:300])
                if done > ERROR_BYTES or time.monotonic() > deadline:
                    complete = False
                    break
    except OSError as exc:
        return {"matches": 0, "lines": 0, "sample": [], "complete": False, "error": exc.strerror or str(exc)}
    if rest and complete and regex.search(rest.decode("utf-8", "replace")):
        matches += 1
    return {"matches": matches, "lines": lines + bool(rest), "sample": sample, "complete": complete}


def _rotated(path: str) -> list[str]:
    """NAME.1, NAME.2.gz ... beside `path` (logrotate's numbered names, as opsproof/logs/siblings.py reads them,
    plain or gzip), newest first."""
    directory = os.path.dirname(path)
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return []
    return [r.path for r in siblings.select(path, [os.path.join(directory, n) for n in names])
            if r.number is not None and r.compression in ("", ".gz") and os.path.isfile(r.path)]


def _lines(path: str, budget: int) -> tuple[list[str], int]:
    """The lines of the last `budget` bytes of a log (whole when compressed and small enough), and the bytes read."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                raw = fh.read(budget)
        else:
            with open(path, "rb") as fh:
                end = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, end - budget))
                raw = fh.read(budget)
    except (OSError, EOFError):
        return [], 0
    return raw.decode("utf-8", "replace").splitlines(), len(raw)


def attainment(path: str, window_s: float, deadline: float, now: Optional[float] = None) -> dict:
    """{total, bad, first_minute, last_minute, files, complete, durations}: requests in the last `window_s` of an
    nginx/Apache combined access log and its rotated files; bad is a 5xx (the availability objective's rule)."""
    now = time.time() if now is None else now
    since = int((now - window_s) // 60)
    parser = LineParser("combined")
    total = bad = durations = 0
    first = last = None
    budget, files, complete = ACCESS_BYTES, [], True
    for name in [path] + _rotated(path):
        if budget <= 0 or time.monotonic() > deadline:
            complete = False
            break
        try:
            if os.path.getmtime(name) < now - window_s:
                break                   # older rotations hold nothing inside the window
        except OSError:
            continue
        lines, used = _lines(name, budget)
        budget -= used
        files.append(name)
        for line in lines:
            parsed = parser.combined_line(line)
            if parsed is None or parsed[0] < since:
                continue
            minute, status, duration = parsed
            total += 1
            bad += status >= 500
            durations += duration >= 0
            first = minute if first is None else min(first, minute)
            last = minute if last is None else max(last, minute)
    return {"total": total, "bad": bad, "with_duration": durations, "first_minute": first, "last_minute": last,
            "files": files, "complete": complete and budget > 0}
