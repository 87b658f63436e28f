"""Per-minute request counts of an access log, kept in the state store and brought up to date incrementally.

What is kept per minute: requests per HTTP status and a latency histogram (bins 10 % apart from 1 ms,
plus every configured threshold as an exact edge). Minutes older than FINE_S are summed into hours.
A re-run reads only bytes it has not read: each file is known by a fingerprint of its first bytes
and the offset read so far, so the live file, its rotated `.1` (same inode or not), a `.2.gz`
compressed since, or a copy-truncated file are all continued where the last run stopped; a
compressed file read to its end is never read again. Rotated files last written before the
kept period are skipped. A trailing line without its newline waits for the next run.

The heavy work happens where the log is: on a remote target the shipped reducer (reducer.py, standard
library) turns each file into per-minute counts and only those travel; locally the numpy path reads a
large plain file with every core (localread.py). Both count every line the same way (lines.py).
"""
from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass, field
from typing import Iterator, Optional

from ...hosts import ship as shipped
from ...hosts.target import Target, TargetError, Unanswered
from . import localread
from .parse import Chunk, Parser, chunk_of
from ..aggregates import FINE_S, Aggregates, latency_edges
from .files import HEAD
from .reducer import Reduced, decode, gunzip

STATE_VERSION = 3        # 3: counts kept in their narrowest type (aggregates.to_state); a version 2 state reads the same
READS_VERSIONS = (2, 3)  # and a version older than this code never reads a 3 (it reads every file again instead)
CHUNK = 4 << 20          # a local compressed read (plain files: localread.CHUNK)
CANDIDATES = "opsproof.slo.accesslog.files:candidates"
QUARTER_S = 92 * 86400


@dataclass
class LogRead:
    """What a run read of an access log and its rotated files."""

    path: str
    reference: str = "first run: every file in the kept period"
    files: list[str] = field(default_factory=list)
    bytes_read: int = 0
    lines: int = 0
    requests: int = 0
    malformed: int = 0
    without_duration: int = 0
    malformed_samples: list[str] = field(default_factory=list)
    error: Optional[str] = None

    def absorb(self, other: "LogRead") -> None:
        for name in ("bytes_read", "lines", "requests", "malformed", "without_duration"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.malformed_samples += other.malformed_samples[: max(0, 5 - len(self.malformed_samples))]

    def take(self, chunk: Chunk) -> Chunk:
        self.lines += chunk.lines
        self.requests += chunk.requests
        self.malformed += chunk.malformed
        self.without_duration += chunk.no_duration
        self.malformed_samples += chunk.samples[: max(0, 5 - len(self.malformed_samples))]
        return chunk


def _fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def candidates(target: Target, path: str, keep_s: float, ship: bool = False) -> dict:
    """The log and its rotated copies with their heads (files.py), read where they are in one go."""
    return shipped.call(target, CANDIDATES, {"path": path, "keep_s": keep_s}, target.timeout_s, dict, ship=ship)


def _raw(target: Target, path: str, start: int, end: int) -> Iterator[bytes]:
    offset, size = start, CHUNK
    while offset < end:
        piece = target.read_range(path, offset, min(size, end - offset))
        if not piece:
            return
        offset += len(piece)
        yield piece


def _read(target: Target, path: str, size: int, start: int, parser: Parser, seen: LogRead,
          chunks: list[Chunk], ship: bool = False, span: Optional[tuple[int, int]] = None) -> tuple[int, bool]:
    """Parse `path` from uncompressed offset `start`; returns the new offset and whether the file is done.

    Where the data is: a remote target reduces its file itself (reducer.py, shipped) and sends counts back;
    a local plain file is read by localread (a range per core); a local `.gz` is inflated as it streams.
    """
    compressed = path.endswith(".gz")
    if not shipped.in_process(target, ship):
        return _reduced_there(target, path, size, start, parser, seen, chunks, span)
    if target.answers is not None and target.answers.planning:   # a survey plans: the read happens at its check
        raise Unanswered(f"{target.name}: {path} is read in this process when its check runs")
    if not compressed:
        got, used = localread.read(path, start, size, parser)
        chunks += [seen.take(c) for c in got]
        seen.bytes_read += used
        return start + used, False
    offset, skip, carry = 0, start, b""
    for piece in gunzip(_raw(target, path, 0, size)):
        if skip:
            dropped = min(skip, len(piece))
            skip -= dropped
            offset += dropped
            piece = piece[dropped:]
            if not piece:
                continue
        begin = 0
        if carry:                # the line split between two pieces, joined on its own (a 16 MB copy saved)
            first = piece.find(b"\n")
            if first < 0:
                carry += piece
                continue
            line = carry + piece[: first + 1]
            chunks.append(seen.take(parser.feed(line)))
            seen.bytes_read += len(line)
            offset += len(line)
            begin, carry = first + 1, b""
        cut = max(piece.rfind(b"\n", begin) + 1, begin)
        if cut > begin:
            chunks.append(seen.take(parser.feed(piece, begin, cut)))
            seen.bytes_read += cut - begin
            offset += cut - begin
        carry = piece[cut:]
    if carry:                    # immutable: its last line counts even without a newline
        chunks.append(seen.take(parser.feed(carry + b"\n")))
        seen.bytes_read += len(carry)
        offset += len(carry)
    return offset, True


def _reduced_there(target: Target, path: str, size: int, start: int, parser: Parser, seen: LogRead,
                   chunks: list[Chunk], span: Optional[tuple[int, int]] = None) -> tuple[int, bool]:
    """The file reduced on the target (opsproof.slo.accesslog.reducer, standard library only): only its counts travel.

    A call that reaches command_timeout_s stops at a line boundary and the next one continues from there.
    """
    offset = start
    while True:
        args = {"path": path, "size": size, "start": offset, "settings": parser.line.settings(),
                "edges_us": parser.edges_us.tolist(), **dict(zip(("keep_from", "hours_before"), span or ()))}
        got = shipped.call(target, "opsproof.slo.accesslog.reducer:reduce_file", args, target.timeout_s, Reduced, ship=True)
        if got.error:
            raise EOFError(got.error)
        chunks.append(seen.take(chunk_of(*decode(got.counts), got.lines, got.requests, got.malformed,
                                         got.no_duration, got.samples)))
        seen.bytes_read += got.bytes_read
        offset = got.offset
        if got.finished:
            return offset, path.endswith(".gz")
        if not got.bytes_read:
            raise TargetError(f"{target.name}: reading {path} made no progress within command_timeout_s "
                              f"{target.timeout_s:g} s")


def update(target: Target, path: str, settings: dict, thresholds_ms, previous: dict, now_s: float,
           keep_s: float, ship: bool = False) -> tuple[Aggregates, LogRead, dict]:
    """Bring the aggregates of `path` up to date; returns them, what was read, and the state to keep.

    `ship`: reduce on the target even when it is this host (how the tests prove the remote path here).
    """
    seen = LogRead(path)
    edges = latency_edges(thresholds_ms)
    try:
        kept = Aggregates.from_state(previous) if previous.get("version") in READS_VERSIONS else None
        damaged = ""
    except (ValueError, TypeError, zlib.error) as exc:   # a kept state cut short or edited: never half-trusted
        kept, damaged = None, f"the kept state could not be read ({exc}): every file read again"
    if damaged:
        seen.reference = damaged
    elif previous and (kept is None or previous.get("settings") != settings):
        seen.reference = "the log format settings changed: every file read again"
        kept = None
    elif kept is not None and not {int(round(t * 1000)) for t in thresholds_ms} <= set(kept.edges_us.tolist()):
        seen.reference = "a new latency threshold: every file read again"
        kept = None
    agg = kept if kept is not None else Aggregates(edges)
    files: list[dict] = list(previous.get("files", [])) if kept is not None else []
    if kept is not None:
        seen.reference = "since the last run"
    parser = Parser(settings.get("format", "combined"), agg.edges_us,
                    **{k: v for k, v in settings.items() if k != "format"})
    now_min = int(now_s // 60)
    span = (now_min - int(keep_s // 60), now_min - FINE_S // 60)   # what agg.compact keeps, and keeps per minute
    chunks: list[Chunk] = []
    new_files: list[dict] = []
    used: set[str] = set()
    try:
        listed = candidates(target, path, keep_s, ship)
        if "error" in listed:
            seen.error = f"cannot read {path}: {listed['error']}"
            return agg, seen, previous
        for cand, mtime, size, head64 in listed["files"]:
            head = base64.b64decode(head64)
            if not head or (cand != path and mtime < now_s - keep_s):
                continue
            match = max((e for e in files + new_files
                         if e["fp_len"] <= len(head) and e["fp"] == _fingerprint(head[: e["fp_len"]])),
                        key=lambda e: e["fp_len"], default=None)
            if match is not None and match["fp"] in used:
                continue                 # the same content under two names (NAME.1 while NAME.1.gz is written)
            start = match["offset"] if match else 0
            if match and match.get("done"):
                new_files.append(dict(match, path=cand))
                used.add(match["fp"])
                continue
            if not cand.endswith(".gz") and size < start:
                start = 0                # smaller than what was read: rewritten from the start
            part, mine = LogRead(cand), []
            try:
                offset, done = _read(target, cand, size, start, parser, part, mine, ship, span)
            except EOFError as exc:
                seen.files.append(f"{cand}: skipped this run: {exc}")
                continue
            except Unanswered:
                continue             # planning a survey: the other files are noted all the same
            chunks += mine
            seen.absorb(part)
            if part.bytes_read or not match:
                seen.files.append(f"{cand}: {part.bytes_read} bytes from offset {start}")
            if offset > 0:
                fp_len = min(HEAD, offset)
                entry = {"fp": _fingerprint(head[:fp_len]), "fp_len": fp_len, "offset": offset, "done": done,
                         "path": cand}
                new_files.append(entry)
                used.update({entry["fp"]} | ({match["fp"]} if match else set()))
    except (TargetError, OSError, zlib.error) as exc:
        seen.error = f"cannot read the access log {path}: {exc}"
        return agg, seen, previous
    agg.add(chunks)
    agg.compact(now_s, keep_s)
    state = {"version": STATE_VERSION, "settings": settings, "files": new_files, **agg.to_state()}
    return agg, seen, state
