"""New error lines in a log since the last run: rotation- and truncation-aware, bounded memory.

The reference point is (inode, offset) per host and file, kept in the state store. Same inode
and a larger file: read from the offset. Same inode and a smaller file: it was truncated, read
from the start. Another inode: the file was rotated; finish the old file where a sibling still
has its inode (NAME.1, NAME-20260101, ...), read any newer numbered rotations (NAME.2 found means
NAME.1 came later), then read the new one from the start. A first run reads the whole file.
A trailing line without its newline is left for the next run.

Lines are split on "\\n" only, and the pattern is applied to each line on its own (as `grep -E`
would), so `^` and `$` anchor at line boundaries. Memory stays bounded: the log is read in
CHUNK pieces and a line longer than MAX_LINE is matched on its first MAX_LINE bytes.
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

    def _hit(self, line: str) -> None:
        self.scan.matches += 1
        if len(self.scan.sample) < self.keep:
            self.scan.sample.append(line.rstrip("\r")[:500])

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


def _scan(target: Target, path: str, start: int, end: int, matcher: _Matcher) -> int:
    """Count matching complete lines in [start, end); return the offset after the last complete line."""
    offset = line_start = start
    head, truncated = b"", False  # the start of the incomplete line (at most MAX_LINE bytes)
    while offset < end:
        chunk = target.read_range(path, offset, min(CHUNK, end - offset))
        if not chunk:
            break
        chunk_start = offset
        offset += len(chunk)
        cut = chunk.rfind(b"\n")
        if cut < 0:
            if len(head) < MAX_LINE:
                head += chunk[: MAX_LINE - len(head)]
            truncated = truncated or len(head) >= MAX_LINE
            continue
        first = chunk.find(b"\n")
        if truncated:  # the long line's tail is dropped; the line still counts once
            matcher.block(head + b"\n")
        elif head:
            matcher.block(head + chunk[: first + 1])
        else:
            first = -1
        matcher.block(chunk, first + 1, cut + 1)
        rest = chunk[cut + 1:]
        head, truncated = rest[:MAX_LINE], len(rest) > MAX_LINE
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
