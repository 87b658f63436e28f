"""Literal strings every match of a regular expression contains: a prefilter, as grep uses one.

Python's `re` scans an alternation such as `ERROR|CRITICAL|FATAL` one position at a time (tens of
MB/s); `bytes.find` of each literal runs at memory speed. `required_literals(pattern)` reads the
pattern with the standard library's own parser and returns strings such that any text the pattern
matches contains at least one of them, or None when there is no such set worth using (a case-
insensitive pattern, a branch without a literal, literals shorter than MIN_LEN). The caller still
runs the real pattern on each candidate line, so the prefilter can only save time, never change
the result.

`Finder` looks for those literals in the raw bytes of a block of lines, as grep does: for each literal
it picks the byte of it that is rarest in the log's first block and finds that byte with `bytes.find`
(memchr, memory speed), comparing the literal only where the byte is; a literal with no rare byte (or
whose byte turns common later) is found with `bytes.find` of the whole literal.
"""
from __future__ import annotations

from typing import Optional

try:  # Python 3.11+
    from re import _constants as _c, _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

MIN_LEN = 3      # shorter literals hit too many lines to be worth it
MAX_COUNT = 8    # one bytes.find pass per literal
SAMPLE = 4096    # bytes of the first block that choose each literal's rare byte
RARE = 512       # a rare byte occurs less than once per this many bytes (else the whole literal is searched)

_REPEATS = {getattr(_c, name) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(_c, name)}
_ATOMIC = getattr(_c, "ATOMIC_GROUP", None)


def _score(options: frozenset[str]) -> tuple[int, int]:
    return (min(len(s) for s in options), -len(options))


def _sequence(items) -> Optional[frozenset[str]]:
    """The best literal set for a sequence: every match of it contains one member."""
    found: list[frozenset[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is _c.LITERAL:
            run.append(chr(av))
            continue
        if run:
            found.append(frozenset(["".join(run)]))
            run = []
        sub: Optional[frozenset[str]] = None
        if op is _c.SUBPATTERN:
            _group, add_flags, _del_flags, body = av
            if not add_flags & _c.SRE_FLAG_IGNORECASE:
                sub = _sequence(body)
        elif op is _c.BRANCH:
            branches = [_sequence(b) for b in av[1]]
            if all(b is not None for b in branches):
                sub = frozenset().union(*branches)  # type: ignore[arg-type]
        elif op in _REPEATS and av[0] >= 1:
            sub = _sequence(av[2])
        elif _ATOMIC is not None and op is _ATOMIC:
            sub = _sequence(av)
        # Anything else (classes, `.`, anchors, look-arounds, back-references) requires no literal of its own.
        if sub:
            found.append(sub)
    if run:
        found.append(frozenset(["".join(run)]))
    return max(found, key=_score) if found else None


def required_literals(pattern: str) -> Optional[list[str]]:
    """Strings one of which every match of `pattern` contains; None when no useful set exists."""
    try:
        parsed = _p.parse(pattern)
    except Exception:  # the caller compiles the pattern itself and reports its errors
        return None
    if parsed.state.flags & _c.SRE_FLAG_IGNORECASE:
        return None
    best = _sequence(list(parsed))
    if not best or min(len(s) for s in best) < MIN_LEN or len(best) > MAX_COUNT:
        return None
    if any("\ufffd" in s for s in best):  # could match a replaced undecodable byte: not findable in the raw bytes
        return None
    return sorted(best)


class Finder:
    """The lines of a block that hold one of the literals (the block ends with a newline)."""

    def __init__(self, literals: list[bytes]) -> None:
        self.literals = literals
        self.anchors: Optional[list[Optional[int]]] = None  # per literal: the index of its rare byte, or None

    def _choose(self, sample: bytes) -> list[Optional[int]]:
        counts = {byte: sample.count(byte) for byte in set().union(*self.literals)}
        anchors: list[Optional[int]] = []
        for literal in self.literals:
            index = min(range(len(literal)), key=lambda i: counts[literal[i]])
            anchors.append(index if counts[literal[index]] * RARE < len(sample) else None)
        return anchors

    def lines(self, data: bytes | bytearray, start: int, end: int) -> dict[int, int]:
        """start -> end (its newline) of each line in data[start:end] that holds a literal."""
        if self.anchors is None:
            self.anchors = self._choose(bytes(data[start:start + SAMPLE]))
        found: dict[int, int] = {}
        for n, literal in enumerate(self.literals):
            pos, index = start, self.anchors[n]
            if index is not None:
                pos = self._by_byte(data, start, end, literal, index, found)
                if pos < 0:
                    continue
                self.anchors[n] = None  # the byte turned common: the whole literal from here on
            pos = data.find(literal, pos, end)
            while pos >= 0:
                pos = _line(data, start, end, pos, found)
                pos = data.find(literal, pos, end)
        return found

    def _by_byte(self, data, start: int, end: int, literal: bytes, index: int, found: dict[int, int]) -> int:
        """Literals found through their rare byte; -1 when done, or where to go on once the byte hit too often."""
        byte, budget = literal[index:index + 1], (end - start) // RARE + 16
        pos = data.find(byte, start + index, end)
        while pos >= 0:
            budget -= 1
            if budget < 0:
                return pos - index
            if data.startswith(literal, pos - index, end):
                pos = _line(data, start, end, pos - index, found) + index
            else:
                pos += 1
            pos = data.find(byte, pos, end)
        return -1


def _line(data, start: int, end: int, pos: int, found: dict[int, int]) -> int:
    """Record the line holding data[pos]; return where the next line starts."""
    begin = data.rfind(b"\n", start, pos) + 1 or start
    stop = data.find(b"\n", pos, end)  # the block ends with a newline
    found[begin] = stop
    return stop + 1
