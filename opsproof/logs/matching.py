"""Which lines match: a block of complete lines at a time, or one line too long to hold, in windows.

Lines are split on "\\n" only and the pattern is applied to each line on its own (as `grep -E` would). A line
longer than MAX_LINE is streamed through the pattern in windows that overlap by OVERLAP bytes: it counts once
when any window matches (a match longer than the overlap can be missed; one that needs context across a
window's cut is judged in the window that holds it whole). Speed: lines are counted with `bytes.count`; when
the pattern requires literal text (opsproof.logs.literals) only the lines holding it are decoded and searched.
Standard library only: it is shipped with the scan.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from .literals import Finder, required_literals

MAX_LINE = 1024 * 1024
OVERLAP = 256 * 1024    # what a long line's window keeps of the one before
EDGE = 1024             # a match this near a window's cut is left to the window that holds it with context
SHOWN = 500             # characters of a matching line quoted in the evidence
# Constructs whose meaning changes when a line is searched inside a larger text: search line by line.
_CONTEXT_SENSITIVE = re.compile(r"\\[AZ]|\(\?<[=!]")


class Matcher:
    """Counts the lines of a block of complete lines that match the pattern, each line on its own."""

    def __init__(self, pattern: str, scan: Any, keep: int) -> None:
        self.regex = re.compile(pattern)
        # The same pattern over the whole block, ^/$ at line boundaries: finds candidate lines fast.
        self.finder = None if _CONTEXT_SENSITIVE.search(pattern) else re.compile(pattern, self.regex.flags | re.M)
        # Faster still: literals one of which every matching line holds, found with bytes.find (as grep does).
        literals = required_literals(pattern)
        self.literals = Finder([lit.encode() for lit in literals]) if literals else None
        self.scan, self.keep = scan, keep

    def hit(self, line: str, length: Optional[int] = None, note: str = "") -> None:
        self.scan.matches += 1
        if len(self.scan.sample) < self.keep:
            line = line.rstrip("\r")
            length = len(line) if length is None else length
            shown = line[:SHOWN]
            self.scan.sample.append((shown if length <= SHOWN else f"{shown}… [line of {length} characters, cut]") + note)

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
                    self.hit(line)
            return
        text = data[start:end].decode(errors="replace")
        if self.finder is None:
            for line in text.split("\n")[:-1]:
                if self.regex.search(line):
                    self.hit(line)
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
                self.hit(line)
            pos = end + 1


class LongLine:
    """One line too long to hold: its windows go through the pattern as they arrive; it matches once at most."""

    def __init__(self, matcher: Matcher) -> None:
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

    def done(self, counted: bool) -> None:
        self.matcher.scan.lines_read += 1
        self.matcher.scan.long_lines += 1
        if self.hit and counted:
            self.matcher.hit(self.head.decode(errors="replace"), self.length)
