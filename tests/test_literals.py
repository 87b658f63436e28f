"""The literal prefilter of the error-log scan: sound for every pattern, and the scan's counts unchanged by it."""
from __future__ import annotations

import random
import re

import pytest

import opsproof.logs.errorlog as errorlog
import opsproof.logs.matching as matching
from opsproof.logs.literals import RARE, SAMPLE, Finder, required_literals


@pytest.mark.parametrize("pattern, expected", [
    ("ERROR|CRITICAL|FATAL", ["CRITICAL", "ERROR", "FATAL"]),
    (r"\[error\]", ["[error]"]),
    (r"^\d{4}-\d\d-\d\dT\S+ (?:ERROR|FATAL)\b", ["ERROR", "FATAL"]),
    ("ERR(OR|NO)", ["ERR"]),                       # the parser factors the common prefix out: ERR(OR|NO)
    (r"level=(error|crit)\w*", ["level="]),
    ("(?:upstream timed out)+", ["upstream timed out"]),
    ("Traceback \\(most recent call last\\)", ["Traceback (most recent call last)"]),
])
def test_literals_found(pattern, expected):
    assert required_literals(pattern) == expected


@pytest.mark.parametrize("pattern", [
    "(?i)error",            # case-insensitive: literals would miss "Error"
    "(?i:error)|FATAL",     # one branch case-insensitive
    "x*",                   # matches the empty string: no literal required
    "ERROR|",               # an empty alternative matches everywhere
    "ERROR|[0-9]+",         # a branch without a literal
    "ab|cd",                # too short to be worth a pass each
    r"\d+ ms",              # " ms" is 3 characters: fine; but "\d+" alone is not
    "[error]",              # a class, not a literal
    "(unclosed",            # the caller reports the syntax error
])
def test_no_literals_when_none_is_required_or_useful(pattern):
    found = required_literals(pattern)
    if pattern == r"\d+ ms":
        assert found == [" ms"]
    else:
        assert found is None, found


PATTERNS = ["ERROR|CRITICAL|FATAL", r"\[error\]", r"^2026\S* (ERROR|FATAL)\b", "ERR(OR|NO)", r"level=(error|crit)\w*",
            "timed out$", r"caf\u00e9 .*ERROR", r"(?:ab){2,}c", r"x\ny", "ERROR(?! ignored)", r"\bFAIL(ED)?\b",
            "(?i)error", "[EF]ATAL|ERROR", r"(a|b)(c|d)ERROR",
            r"(?i)\Aerror", r"(?<=[\[ ])err?", r"ok\Z"]  # the last three: no literal, searched line by line


def _random_lines(rnd: random.Random, n: int) -> list[bytes]:
    pieces = ["ERROR", "FATAL", "CRITICAL", "[error]", "level=error", "level=crit", "timed out", "ERRNO", "abab",
              "ababc", "ignored", "FAIL", "FAILED", "café", "x", "y", "2026-01-01T00:00:00Z", " ", "error", "Error",
              "\t", "ok", "\r"]
    out = []
    for _ in range(n):
        line = "".join(rnd.choice(pieces) + rnd.choice(["", " "]) for _ in range(rnd.randint(0, 8)))
        raw = line.encode("utf-8")
        if rnd.random() < 0.05:  # invalid UTF-8, as a binary write or a cut multi-byte character leaves it
            cut = rnd.randint(0, len(raw))
            raw = raw[:cut] + rnd.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\x80ERROR"]) + raw[cut:]
        out.append(raw)
    return out


PREFILTERED = [p for p in PATTERNS if required_literals(p)]


def test_the_soundness_cases_do_not_vanish():
    """The prefilter soundness test below runs on the patterns that have literals: that list is not empty."""
    assert len(PREFILTERED) >= 10, PREFILTERED


@pytest.mark.parametrize("pattern", PREFILTERED)
def test_prefilter_is_sound(pattern):
    """Every line the pattern matches holds one of the literals (in its text and in its raw bytes)."""
    literals = required_literals(pattern)
    regex = re.compile(pattern)
    rnd = random.Random(pattern)
    for raw in _random_lines(rnd, 3000):
        line = raw.decode("utf-8", errors="replace")
        if regex.search(line):
            assert any(lit.encode() in raw for lit in literals), (pattern, literals, raw)


@pytest.mark.parametrize("chunk", [7, 64, 4096])
def test_scan_counts_exactly_what_a_line_by_line_search_counts(tmp_path, monkeypatch, chunk):
    """With and without the prefilter, the scan counts (and samples) the same lines as re.search per line."""
    monkeypatch.setattr(errorlog, "CHUNK", chunk)
    rnd = random.Random(chunk)
    lines = _random_lines(rnd, 2500 if chunk > 7 else 500)  # 7-byte reads: every line crosses several
    path = tmp_path / "error.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    for pattern in PATTERNS:
        regex = re.compile(pattern)
        decoded = [raw.decode("utf-8", errors="replace") for raw in lines]
        expected = [line for line in decoded if regex.search(line)]
        scan = errorlog.scan_file(str(path), pattern, {}, keep_lines=1000)
        assert scan.error is None, scan.error
        assert scan.matches == len(expected), pattern
        assert scan.sample == [line.rstrip("\r")[:500] for line in expected][:1000], pattern
        assert scan.lines_read == len(lines)
        # The same through the regular-expression path alone.
        monkeypatch.setattr(matching, "required_literals", lambda _p: None)
        plain = errorlog.scan_file(str(path), pattern, {}, keep_lines=1000)
        monkeypatch.undo()
        monkeypatch.setattr(errorlog, "CHUNK", chunk)
        assert (plain.matches, plain.lines_read) == (scan.matches, scan.lines_read), pattern


def _holding(data: bytes, literals: list[bytes]) -> dict[int, int]:
    """The reference: start -> end of every line of data (ending with a newline) holding one of the literals."""
    out, begin = {}, 0
    for line in data.split(b"\n")[:-1]:
        if any(lit in line for lit in literals):
            out[begin] = begin + len(line)
        begin += len(line) + 1
    return out


def test_finder_goes_through_a_rare_byte_and_finds_what_find_finds():
    """ERROR's R is rare in lower-case text: found by that byte; the lines are exactly those holding a literal."""
    rnd = random.Random(5)
    words = [b"info", b"request", b"served", b"GET", b"ok", b"ERROR", b"CRITICAL", b"FATAL", b"ERR", b"RROR", b"xERRORx"]
    lines = [b" ".join(rnd.choice(words[:5]) for _ in range(8)) for _ in range(4000)]
    for i in range(0, 4000, 37):
        lines[i] += b" " + rnd.choice(words[5:])
    data = b"\n".join(lines) + b"\n"
    literals = [b"CRITICAL", b"ERROR", b"FATAL"]
    finder = Finder(literals)
    assert finder.lines(data, 0, len(data)) == _holding(data, literals)
    assert finder.anchors is not None and all(a is not None for a in finder.anchors), finder.anchors
    assert b"ERROR"[finder.anchors[1]:finder.anchors[1] + 1] != b"E"  # E is common (GET): another byte of it
    # A range in the middle, not starting at a line: lines are cut at the range's edges.
    start = data.index(b"\n", 1000) + 1
    assert finder.lines(data, start, len(data)) == {k: v for k, v in _holding(data, literals).items() if k >= start}


def test_finder_falls_back_to_the_whole_literal_when_its_byte_turns_common():
    """A byte rare in the first block but common later: the rest is found with bytes.find of the literal, the same."""
    calm = b"all quiet here\n" * (SAMPLE // 15 + 1)
    finder = Finder([b"ERROR"])
    assert finder.lines(calm, 0, len(calm)) == {}
    assert finder.anchors == [0]  # no E, R or O at all: the first byte
    busy = (b"EEEE EEEE EEEE\n" * 500 + b"an ERROR\n") * 3 + b"EERROR\n"
    assert finder.lines(busy, 0, len(busy)) == _holding(busy, [b"ERROR"])
    assert finder.anchors == [None], "more hits than one per RARE bytes: the byte is not rare"


def test_finder_uses_the_whole_literal_where_no_byte_of_it_is_rare():
    text = b"ab" * (RARE * 4) + b"\nxx abab yy\n"
    finder = Finder([b"abab"])
    assert finder.lines(text, 0, len(text)) == _holding(text, [b"abab"])
    assert finder.anchors == [None]
