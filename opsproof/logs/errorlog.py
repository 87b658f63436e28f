"""New error lines in a log since the last run: rotation- and truncation-aware, bounded memory, where the log is.

`scan_file` is the scan, standard library only (it imports nothing of opsproof.hosts): opsproof.logs.scan
runs it in this process for the local host and on the target's python3 for a remote one (opsproof.hosts.ship),
so only the ErrorScan travels back, never the log.

The reference point (opsproof.logs.follow's mark) is the offset reached, the file's inode and device, and
fingerprints of its first bytes and of the bytes before the offset, per host and file in the state store.
The same file, grown: read from the offset. Otherwise the file the last run read was rotated (renamed,
compressed, copied and truncated) or replaced: its rest is read from wherever a copy still holds both
fingerprints (NAME.1, NAME.2.gz, NAME-20260101.xz, ... decompressed), then every rotation written after it,
then the new file from its start. A rest that cannot be read (deleted, no decompressor) is named in
`unread`: the check fails on it, never passes. A first run reads the whole file.

A last line without its newline waits for it, but a match in it counts in this run (a crashed writer never
finishes its line); the next run knows it was counted and does not count it again once it is finished.
Matching is opsproof.logs.matching's (line by line, long lines in windows, literals first). Memory stays
bounded: the log is read in CHUNK pieces into one reused buffer. The scan stops at its deadline (the
target's command timeout).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from stat import S_ISREG
from typing import Optional

from . import follow
from .matching import MAX_LINE, LongLine, Matcher

CHUNK = 256 * 1024
SLACK = 64 * 1024       # room in the read buffer for the start of a line carried over (grown for longer ones)


@dataclass
class ErrorScan:
    path: str
    pattern: str
    reference: str = "first run: whole file"
    inode: Optional[int] = None
    start_offset: int = 0
    end_offset: int = 0
    bytes_read: int = 0
    lines_read: int = 0
    matches: int = 0
    sample: list[str] = field(default_factory=list)
    long_lines: int = 0                         # lines longer than MAX_LINE, streamed through the pattern
    rotated_from: Optional[str] = None
    unterminated: bool = False                  # a match in the last line, which has no newline yet (counted once)
    unread: list[str] = field(default_factory=list)   # what was written after the last run and could not be read
    resume: dict = field(default_factory=dict)  # the next run's reference point: offset, inode, fingerprints
    error: Optional[str] = None


def _scan(fh, start: int, end: Optional[int], matcher: Matcher, deadline: Optional[float], final: bool = False,
          counted_first: bool = False) -> int:
    """Count matching lines of the stream `fh` (positioned at `start`) up to `end` (None: its end); return the offset
    after the last complete line. `final`: the file grows no more (a rotated copy), so a last line without its
    newline is a whole line. Otherwise that line waits for its newline, but a match in it counts now (a crashed
    writer never finishes it) and `matcher.scan.unterminated` says so. `counted_first`: the line at `start` was
    counted by the last run while it had no newline yet; it is not counted again."""
    room = CHUNK + SLACK if end is None else min(CHUNK + SLACK, end - start)
    buf = bytearray(room)                   # one buffer for the scan, read into (no copy per chunk)
    view = memoryview(buf)
    kept = 0                                # buf[:kept]: the start of an incomplete line
    long: Optional[LongLine] = None        # the incomplete line once it outgrew MAX_LINE
    offset = line_start = start
    while end is None or offset < end:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"stopped at offset {offset}: out of time (command_timeout_s)")
        want = CHUNK if end is None else min(CHUNK, end - offset)
        if kept + want > len(buf):  # a line longer than SLACK carried over: room for it and a chunk
            view.release()
            buf = buf[:kept] + bytearray(want)
            view = memoryview(buf)
        got = fh.readinto(view[kept:kept + want])
        if not got:
            break
        offset += got
        filled = kept + got
        first = buf.find(b"\n", kept, filled)
        if long is None and (filled if first < 0 else first) > MAX_LINE:
            long = LongLine(matcher)
        begin = 0
        if long is not None:
            long.feed(bytes(view[:filled if first < 0 else first]), last=first >= 0)
            kept = 0
            if first < 0:
                continue
            long.done(counted=not counted_first)
            long, counted_first = None, False
            begin = first + 1
        elif first < 0:
            kept = filled
            continue
        elif counted_first:
            matcher.scan.lines_read += 1
            begin, counted_first = first + 1, False
        cut = buf.rfind(b"\n", 0, filled)
        matcher.block(buf, begin, cut + 1)
        line_start = offset - filled + cut + 1
        kept = filled - cut - 1     # over MAX_LINE, the next read streams it as a long line
        buf[:kept] = bytes(view[cut + 1:filled])
    if kept or long is not None:
        line_start = _last_line(matcher, bytes(view[:kept]), long, final, counted_first, line_start, offset)
    matcher.scan.bytes_read += line_start - start
    return line_start


def _last_line(matcher: Matcher, rest: bytes, long: Optional[LongLine], final: bool, counted: bool,
               line_start: int, offset: int) -> int:
    """A last line without its newline: whole in a file that grows no more, else a match counted now, once."""
    if long is not None:
        long.feed(b"", last=True)
        if final:
            long.done(counted=not counted)
        elif long.hit and not counted:
            matcher.hit(long.head.decode(errors="replace"), long.length, _UNTERMINATED)
            matcher.scan.unterminated = True
    elif final:
        if counted:
            matcher.scan.lines_read += 1
        else:
            matcher.block(rest + b"\n", 0, len(rest) + 1)
    elif not counted and matcher.regex.search(line := rest.decode(errors="replace")):
        matcher.hit(line, note=_UNTERMINATED)
        matcher.scan.unterminated = True
    return offset if final else line_start


_UNTERMINATED = " [last line, no newline yet: the writer may have crashed]"


def _checker(deadline: Optional[float]):
    def check(done: int) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"stopped after {done} bytes of a rotated copy: out of time (command_timeout_s)")
    return check


def _whole(scan: ErrorScan, matcher: Matcher, path: str, compression: str, deadline: Optional[float]) -> bool:
    """Every line of a rotated copy; False (and the reason in scan.unread) when it cannot be read."""
    try:
        stream = follow.open_stream(path, compression)
        try:
            _scan(stream, 0, None, matcher, deadline, final=True)
        finally:
            stream.close()
    except (follow.Unreadable, *follow.READ_ERRORS) as exc:
        if isinstance(exc, TimeoutError):
            raise
        scan.unread.append(f"could not read {path}, written after the last run: {exc}")
        return False
    return True


def _moved(scan: ErrorScan, matcher: Matcher, path: str, st: os.stat_result, ref: dict,
           deadline: Optional[float]) -> None:
    """The last-read file is not `path` as it was: finish it wherever it is now, then what was rotated after it."""
    offset = int(ref["offset"])
    in_place = ref.get("inode") == st.st_ino and ref.get("dev", st.st_dev) == st.st_dev
    scan.reference = ("file was truncated or replaced in place: read from its start" if in_place else
                      "file was rotated: read from the start of the new file")
    notes: list[str] = []
    found, rotations = follow.locate(path, ref, _checker(deadline), notes)
    if found is None:
        why = "; ".join(notes) or "it was deleted, or truncated in place with no copy kept"
        scan.unread.append(f"could not read what {path} got after the last run (past byte {offset}): no file here "
                           f"holds it any more ({why})")
        since = float(ref.get("at") or 0)
        newer = [r for r in reversed(rotations) if since and _mtime(r.path) > since]
    else:
        try:
            try:
                _scan(found.stream, offset, None, matcher, deadline, final=True,
                      counted_first=bool(ref.get("partial_counted")))
            finally:
                found.stream.close()
        except (follow.Unreadable, *follow.READ_ERRORS) as exc:
            if isinstance(exc, TimeoutError):
                raise
            scan.unread.append(f"could not read all of {found.path} past byte {offset}: {exc}")
        scan.rotated_from = found.path
        scan.reference += f", and {found.path} from offset {offset}"
        newer = found.newer
        scan.unread += [f"{gap} is gone: what it held after the last run was not read" for gap in found.gaps]
    for r in newer:
        if _whole(scan, matcher, r.path, r.compression, deadline):
            scan.reference += f", and all of {r.path}"


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


REFERENCE_KEYS = ("inode", "dev", "offset", "head", "head_len", "tail", "tail_len", "partial_counted", "at")


def scan_file(path: str, pattern: str, previous: dict, keep_lines: int = 20,
              deadline: Optional[float] = None) -> ErrorScan:
    """The scan, run where the log is: new lines of `path` matching `pattern` since `previous` (a reference point)."""
    scan = ErrorScan(path=path, pattern=pattern)
    matcher = Matcher(pattern, scan, keep_lines)
    try:
        st = os.stat(path)
    except OSError as exc:
        scan.error = f"cannot read {path}: {'no such file' if isinstance(exc, FileNotFoundError) else exc.strerror}"
        return scan
    if not S_ISREG(st.st_mode):
        scan.error = f"{path} is not a regular file"
        return scan
    scan.inode = st.st_ino
    previous = {**previous, "offset": int(previous.get("offset") or 0)}
    try:
        # One descriptor serves the whole scan: the check that it is the file last read (its fingerprints by
        # pread), the read from the offset, and the new reference point's fingerprints (pread again).
        with open(path, "rb", buffering=0) as fh:
            counted = bool(previous.get("partial_counted"))
            if previous.get("inode") is None:
                scan.reference, counted = "first run: whole file", False
            elif follow.is_current(fh.fileno(), st, previous):
                scan.start_offset = int(previous.get("offset", 0))
                scan.reference = f"since the last run (offset {scan.start_offset})"
            else:
                _moved(scan, matcher, path, st, previous, deadline)
                counted = False
            fh.seek(scan.start_offset)
            scan.end_offset = _scan(fh, scan.start_offset, st.st_size, matcher, deadline, counted_first=counted)
            scan.resume = {**follow.mark(path, scan.end_offset, st, fh.fileno()),
                           "partial_counted": scan.unterminated or (counted and scan.end_offset == scan.start_offset)}
    except OSError as exc:
        scan.error = f"cannot read {path}: {exc}"
    return scan
