"""New error lines in a log since the last run: rotation- and truncation-aware, bounded memory, where the log is.

`scan_file` is the scan, standard library only (it imports nothing of opsproof.hosts): opsproof.logs.scan
runs it in this process for the local host and on the target's python3 for a remote one (opsproof.hosts.ship),
so only the ErrorScan travels back, never the log.

The reference point is (inode, offset) per host and file, kept in the state store. Same inode and a
larger file: read from the offset. Same inode, smaller file: it was truncated, read from the start.
Another inode: the file was rotated; finish the old file where a sibling still has its inode (NAME.1,
NAME-20260101, ...), read any newer numbered rotations (NAME.2 found means NAME.1 came later), then the
new one from the start. A first run reads the whole file. A trailing line without its newline waits.

Lines are split on "\\n" only and the pattern is applied to each line on its own (as `grep -E` would).
Memory stays bounded: the log is read in CHUNK pieces into one reused buffer, and a line longer than
MAX_LINE is streamed through the pattern in windows that overlap by OVERLAP bytes: it counts once when
any window matches (a match longer than the overlap can be missed; one that needs context across a
window's cut is judged in the window that holds it whole). Speed: lines are counted with `bytes.count`;
when the pattern requires literal text (opsproof.logs.literals) only the lines holding it are decoded
and searched. The scan stops at its deadline (the target's command timeout).
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from stat import S_ISREG
from typing import Optional

from . import siblings
from .literals import Finder, required_literals
from .siblings import COMPRESSED, Rotated

CHUNK = 256 * 1024
SLACK = 64 * 1024       # room in the read buffer for the start of a line carried over (grown for longer ones)
MAX_LINE = 1024 * 1024
OVERLAP = 256 * 1024    # what a long line's window keeps of the one before
EDGE = 1024             # a match this near a window's cut is left to the window that holds it with context
SHOWN = 500             # characters of a matching line quoted in the evidence
# Constructs whose meaning changes when a line is searched inside a larger text: search line by line.
_CONTEXT_SENSITIVE = re.compile(r"\\[AZ]|\(\?<[=!]")


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
    error: Optional[str] = None


class _Matcher:
    """Counts the lines of a block of complete lines that match the pattern, each line on its own."""

    def __init__(self, pattern: str, scan: ErrorScan, keep: int) -> None:
        self.regex = re.compile(pattern)
        # The same pattern over the whole block, ^/$ at line boundaries: finds candidate lines fast.
        self.finder = None if _CONTEXT_SENSITIVE.search(pattern) else re.compile(pattern, self.regex.flags | re.M)
        # Faster still: literals one of which every matching line holds, found with bytes.find (as grep does).
        literals = required_literals(pattern)
        self.literals = Finder([lit.encode() for lit in literals]) if literals else None
        self.scan, self.keep = scan, keep

    def _hit(self, line: str, length: Optional[int] = None) -> None:
        self.scan.matches += 1
        if len(self.scan.sample) < self.keep:
            line = line.rstrip("\r")
            length = len(line) if length is None else length
            shown = line[:SHOWN]
            self.scan.sample.append(shown if length <= SHOWN else f"{shown}… [line of {length} characters, cut]")

    def block(self, data: bytes | bytearray, start: int, end: int) -> None:
        """The lines in data[start:end], which ends with a newline (a range: the read buffer is not copied)."""
        if start >= end:
            return
        self.scan.lines_read += data.count(b"\n", start, end)
        if self.literals is not None:  # only lines holding a literal can match: decode and search those alone
            lines = self.literals.lines(data, start, end)  # start -> end of each candidate line
            for begin in sorted(lines):
                line = data[begin:lines[begin]].decode(errors="replace")
                if self.regex.search(line):
                    self._hit(line)
            return
        text = data[start:end].decode(errors="replace")
        if self.finder is None:
            for line in text.split("\n")[:-1]:
                if self.regex.search(line):
                    self._hit(line)
            return
        pos = 0
        while True:
            found = self.finder.search(text, pos)
            if not found:
                return
            begin = text.rfind("\n", 0, found.start()) + 1
            end = text.find("\n", begin)
            line = text[begin:end]
            if self.regex.search(line):
                self._hit(line)
            pos = end + 1


class _LongLine:
    """One line too long to hold: its windows go through the pattern as they arrive; it matches once at most."""

    def __init__(self, matcher: _Matcher) -> None:
        self.matcher = matcher
        self.head, self.tail, self.hit, self.length = b"", b"", False, 0

    def feed(self, piece: bytes, last: bool) -> None:
        self.head = self.head or piece[:SHOWN * 4]      # the first piece is longer than MAX_LINE: enough to show
        at_start = self.length == len(self.tail)        # the window still begins where the line begins
        self.length += len(piece)
        if self.hit:
            return
        window = self.tail + piece
        body = window.decode(errors="replace")
        # A match within EDGE of a cut is judged in the window (before or after) that holds it with its context, so
        # a cut never passes for the line's edge (^, $, \b); search from EDGE on sees the text before it (`pos`).
        pos, high = (0 if at_start else EDGE), (len(body) if last else len(body) - EDGE)
        while not self.hit:
            found = self.matcher.regex.search(body, pos)
            if not found:
                break
            self.hit = found.end() <= high
            pos = found.start() + 1
        self.tail = window[-OVERLAP:]

    def done(self) -> None:
        self.matcher.scan.lines_read += 1
        self.matcher.scan.long_lines += 1
        if self.hit:
            self.matcher._hit(self.head.decode(errors="replace"), self.length)


def _scan(path: str, start: int, end: int, matcher: _Matcher, deadline: Optional[float]) -> int:
    """Count matching complete lines of `path` in [start, end); return the offset after the last complete line."""
    buf = bytearray(min(CHUNK + SLACK, end - start))  # one buffer for the scan, read into (no copy per chunk)
    view = memoryview(buf)
    kept = 0                                # buf[:kept]: the start of an incomplete line
    long: Optional[_LongLine] = None        # the incomplete line once it outgrew MAX_LINE
    offset = line_start = start
    with open(path, "rb", buffering=0) as fh:
        fh.seek(start)
        while offset < end:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"stopped at offset {offset} of {end}: out of time (command_timeout_s)")
            want = min(CHUNK, end - offset)
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
                long = _LongLine(matcher)
            begin = 0
            if long is not None:
                long.feed(bytes(view[:filled if first < 0 else first]), last=first >= 0)
                kept = 0
                if first < 0:
                    continue
                long.done()
                long = None
                begin = first + 1
            elif first < 0:
                kept = filled
                continue
            cut = buf.rfind(b"\n", 0, filled)
            matcher.block(buf, begin, cut + 1)
            line_start = offset - filled + cut + 1
            kept = filled - cut - 1     # over MAX_LINE, the next read streams it as a long line
            buf[:kept] = bytes(view[cut + 1:filled])
    matcher.scan.bytes_read += line_start - start
    return line_start


def _rotated_sibling(path: str, inode: int) -> tuple[Optional[Rotated], list[Rotated]]:
    """The uncompressed rotated file that still has the old inode (if any), and the rotated files."""
    directory = os.path.dirname(path)
    try:
        found = siblings.select(path, [os.path.join(directory, name) for name in os.listdir(directory or ".")])
    except OSError:
        return None, []
    for cand in found:
        st = None if cand.compressed else _stat(cand.path)
        if st and st.st_ino == inode:
            return cand, found
    return None, found


def _stat(path: str) -> Optional[os.stat_result]:
    try:
        return os.stat(path)
    except OSError:
        return None


def _newer_rotations(path: str, sibling: Rotated, found: list[Rotated]) -> list[str]:
    """logrotate numbering: when the old file is NAME.3, NAME.2 and NAME.1 were written after it (oldest first)."""
    out = []
    for n in range((sibling.number or 1) - 1, 0, -1):
        same = [r.path for r in found if r.number == n]  # plain first: siblings' order
        out.append(same[0] if same else f"{path}.{n}")
    return out


def _rotated(scan: ErrorScan, matcher: _Matcher, path: str, old_inode: int, old_offset: int,
             deadline: Optional[float]) -> None:
    """The old file's rest, where a sibling still has its inode, and the rotations written after it."""
    sibling, found = _rotated_sibling(path, old_inode)
    scan.reference = "file was rotated: read from the start of the new file"
    if not sibling:
        scan.reference += "; the old file is gone or compressed: lines it got after the last run are not counted"
        return
    _scan(sibling.path, old_offset, os.stat(sibling.path).st_size, matcher, deadline)
    scan.rotated_from = sibling.path
    scan.reference += f", and {sibling.path} from offset {old_offset}"
    for newer in _newer_rotations(path, sibling, found):
        st = None if newer.endswith(COMPRESSED) else _stat(newer)
        if st is None:
            scan.reference += f"; {newer} not read (compressed or gone)"
        else:
            _scan(newer, 0, st.st_size, matcher, deadline)
            scan.reference += f", and all of {newer}"


def scan_file(path: str, pattern: str, previous: dict, keep_lines: int = 20,
              deadline: Optional[float] = None) -> ErrorScan:
    """The scan, run where the log is: new lines of `path` matching `pattern` since `previous` (inode, offset)."""
    scan = ErrorScan(path=path, pattern=pattern)
    matcher = _Matcher(pattern, scan, keep_lines)
    try:
        st = os.stat(path)
    except OSError as exc:
        scan.error = f"cannot read {path}: {'no such file' if isinstance(exc, FileNotFoundError) else exc.strerror}"
        return scan
    if not S_ISREG(st.st_mode):
        scan.error = f"{path} is not a regular file"
        return scan
    scan.inode = st.st_ino
    try:
        old_inode, old_offset = previous.get("inode"), int(previous.get("offset", 0))
        if old_inode is None:
            scan.reference = "first run: whole file"
        elif old_inode == st.st_ino and st.st_size >= old_offset:
            scan.start_offset = old_offset
            scan.reference = f"since the last run (offset {old_offset})"
        elif old_inode == st.st_ino:
            scan.reference = f"file was truncated ({st.st_size} < {old_offset} bytes): read from its start"
        else:
            _rotated(scan, matcher, path, old_inode, old_offset, deadline)
        scan.end_offset = _scan(path, scan.start_offset, st.st_size, matcher, deadline)
    except OSError as exc:
        scan.error = f"cannot read {path}: {exc}"
    return scan
