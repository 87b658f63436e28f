"""New error lines in a log since the last run: rotation- and truncation-aware, bounded memory.

The reference point is (inode, offset) per host and file, kept in the state store. Same inode
and a larger file: read from the offset. Same inode and a smaller file: it was truncated, read
from the start. Another inode: the file was rotated; finish the old file where a sibling still
has its inode (NAME.1, NAME-20260101, ...), read any newer numbered rotations (NAME.2 found means
NAME.1 came later), then read the new one from the start. A first run reads the whole file.
A trailing line without its newline is left for the next run.

Lines are split on "\\n" only, and the pattern is applied to each line on its own (as `grep -E`
would), so `^` and `$` anchor at line boundaries. Memory stays bounded: the log is read in
CHUNK pieces, and a line longer than MAX_LINE is streamed through the pattern in windows that
overlap by OVERLAP bytes: it counts once when any window matches (a match longer than the
overlap can be missed; one that needs context across a window's cut is judged in the window
that holds it whole).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from . import siblings
from .literals import required_literals
from .siblings import COMPRESSED, Rotated
from ..hosts.target import Target, TargetError

CHUNK = 4 * 1024 * 1024
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
        self.literals = [lit.encode("utf-8") for lit in literals] if literals else None
        self.scan, self.keep = scan, keep

    def _hit(self, line: str, length: Optional[int] = None) -> None:
        self.scan.matches += 1
        if len(self.scan.sample) < self.keep:
            line = line.rstrip("\r")
            length = len(line) if length is None else length
            shown = line[:SHOWN]
            self.scan.sample.append(shown if length <= SHOWN else f"{shown}… [line of {length} characters, cut]")

    def block(self, data: bytes, start: int = 0, end: Optional[int] = None) -> None:
        """The lines in data[start:end], which ends with a newline (a range: a 4 MB chunk is not copied)."""
        end = len(data) if end is None else end
        if start >= end:
            return
        self.scan.lines_read += data.count(b"\n", start, end)
        if self.literals is not None:
            self._candidates(data, start, end)
            return
        text = data[start:end].decode("utf-8", errors="replace")
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

    def _candidates(self, data: bytes, start: int, end: int) -> None:
        """Only lines holding one of the literals can match: find those, then run the pattern on each."""
        lines: dict[int, int] = {}  # start -> end of each candidate line
        for literal in self.literals or ():
            pos = data.find(literal, start, end)
            while pos >= 0:
                begin = data.rfind(b"\n", start, pos) + 1 or start
                stop = data.find(b"\n", pos, end)  # the range ends with a newline
                lines[begin] = stop
                pos = data.find(literal, stop + 1, end)
        for begin in sorted(lines):
            line = data[begin:lines[begin]].decode("utf-8", errors="replace")
            if self.regex.search(line):
                self._hit(line)


class _LongLine:
    """One line too long to hold: its windows go through the pattern as they arrive; it matches once at most."""

    def __init__(self, matcher: _Matcher) -> None:
        self.matcher = matcher
        self.head, self.tail, self.hit, self.length = b"", b"", False, 0

    def feed(self, piece: bytes, last: bool) -> None:
        if len(self.head) < SHOWN * 4:
            self.head += piece[:SHOWN * 4 - len(self.head)]
        at_start = self.length == len(self.tail)        # the window still begins where the line begins
        self.length += len(piece)
        if self.hit:
            return
        window = self.tail + piece
        body = window.decode("utf-8", errors="replace")
        # A NUL at a cut keeps ^, $ and \b from taking it for the line's edge; a match this near a cut is
        # judged in the window (before or after) that holds it with its context.
        lead, trail = ("" if at_start else "\0"), ("" if last else "\0")
        probe = lead + body + trail
        low = 0 if at_start else len(lead) + EDGE
        high = len(probe) if last else len(lead) + len(body) - EDGE
        pos = 0
        while not self.hit:
            found = self.matcher.regex.search(probe, pos)
            if not found:
                break
            self.hit = low <= found.start() and found.end() <= high
            pos = found.start() + 1
        self.tail = window[-OVERLAP:]

    def done(self) -> None:
        self.matcher.scan.lines_read += 1
        self.matcher.scan.long_lines += 1
        if self.hit:
            self.matcher._hit(self.head.decode("utf-8", errors="replace"), self.length)


def _scan(target: Target, path: str, start: int, end: int, matcher: _Matcher) -> int:
    """Count matching complete lines in [start, end); return the offset after the last complete line."""
    offset = line_start = start
    head = b""                      # the start of the incomplete line (at most MAX_LINE bytes)
    long: Optional[_LongLine] = None  # the incomplete line once it outgrew MAX_LINE
    while offset < end:
        chunk = target.read_range(path, offset, min(CHUNK, end - offset))
        if not chunk:
            break
        chunk_start = offset
        offset += len(chunk)
        cut = chunk.rfind(b"\n")
        first = chunk.find(b"\n")
        ends = chunk if cut < 0 else chunk[:first]   # what continues the incomplete line
        if long is None and len(head) + len(ends) > MAX_LINE:
            long = _LongLine(matcher)
            long.feed(head, last=False)
            head = b""
        if long is not None:
            long.feed(ends, last=cut >= 0)
        elif cut < 0:
            head += chunk
        if cut < 0:
            continue
        if long is not None:
            long.done()
            long = None
        elif head:
            matcher.block(head + chunk[: first + 1])
        else:
            matcher.block(chunk, 0, first + 1)
        matcher.block(chunk, first + 1, cut + 1)
        head = chunk[cut + 1:]
        if len(head) > MAX_LINE:
            long = _LongLine(matcher)
            long.feed(head, last=False)
            head = b""
        line_start = chunk_start + cut + 1
    matcher.scan.bytes_read += line_start - start
    return line_start


def _rotated_sibling(target: Target, path: str, inode: int) -> tuple[Optional[Rotated], list[Rotated]]:
    """The uncompressed rotated file that still has the old inode (if any), and the rotated files."""
    try:
        found = siblings.find(target, path)
    except TargetError:
        return None, []
    for cand in found:
        if cand.compressed:
            continue
        st = target.stat(cand.path)
        if st.exists and st.inode == inode:
            return cand, found
    return None, found


def _newer_rotations(path: str, sibling: Rotated, found: list[Rotated]) -> list[str]:
    """logrotate numbering: when the old file is NAME.3, NAME.2 and NAME.1 were written after it (oldest first)."""
    if sibling.number is None:
        return []
    out = []
    for n in range(sibling.number - 1, 0, -1):
        same = [r.path for r in found if r.number == n]  # plain first: siblings' order
        out.append(same[0] if same else f"{path}.{n}")
    return out


def scan_errors(target: Target, path: str, pattern: str, previous: dict, keep_lines: int = 20) -> tuple[ErrorScan, dict]:
    """Scan for new lines matching `pattern`; returns the evidence and the new reference point."""
    scan = ErrorScan(path=path, pattern=pattern)
    matcher = _Matcher(pattern, scan, keep_lines)
    st = target.stat(path)
    if not st.exists:
        scan.error = f"cannot read {path}: {st.error or 'no such file'}"
        return scan, previous
    if not st.is_file:
        scan.error = f"{path} is not a regular file"
        return scan, previous
    scan.inode = st.inode
    start = 0
    try:
        old_inode, old_offset = previous.get("inode"), int(previous.get("offset", 0))
        if old_inode is None:
            scan.reference = "first run: whole file"
        elif old_inode == st.inode and st.size >= old_offset:
            start = old_offset
            scan.reference = f"since the last run (offset {old_offset})"
        elif old_inode == st.inode:
            scan.reference = f"file was truncated ({st.size} < {old_offset} bytes): read from its start"
        else:
            sibling, found = _rotated_sibling(target, path, old_inode)
            scan.reference = "file was rotated: read from the start of the new file"
            if sibling:
                old = target.stat(sibling.path)
                _scan(target, sibling.path, old_offset, old.size or 0, matcher)
                scan.rotated_from = sibling.path
                scan.reference += f", and {sibling.path} from offset {old_offset}"
                for newer in _newer_rotations(path, sibling, found):
                    nst = target.stat(newer)
                    if newer.endswith(COMPRESSED) or not nst.exists:
                        scan.reference += f"; {newer} not read (compressed or gone)"
                    else:
                        _scan(target, newer, 0, nst.size or 0, matcher)
                        scan.reference += f", and all of {newer}"
            else:
                scan.reference += ("; the old file is gone or compressed: lines it got after the last run "
                                   "are not counted")
        scan.start_offset = start
        scan.end_offset = _scan(target, path, start, st.size, matcher)
    except (TargetError, OSError) as exc:
        scan.error = f"cannot read {path}: {exc}"
        return scan, previous
    return scan, {"inode": st.inode, "offset": scan.end_offset}
