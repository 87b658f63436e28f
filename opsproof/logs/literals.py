"""Literal strings every match of a regular expression contains: a prefilter, as grep uses one.

Python's `re` scans an alternation such as `ERROR|CRITICAL|FATAL` one position at a time (tens of
MB/s); `bytes.find` of each literal runs at memory speed. `required_literals(pattern)` reads the
pattern with the standard library's own parser and returns strings such that any text the pattern
matches contains at least one of them, or None when there is no such set worth using (a case-
insensitive pattern, a branch without a literal, literals shorter than MIN_LEN). The caller still
runs the real pattern on each candidate line, so the prefilter can only save time, never change
the result.
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
