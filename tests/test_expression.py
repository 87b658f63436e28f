"""opsproof.config.expression against pytest's own -k/-m parser: the config accepts exactly what the run will.

The library may not import pytest, so it carries its own reading of pytest's grammar; these tests hold the two
together on hand-picked cases and on thousands of generated ones (a fixed seed: the same inputs every run).
"""
from __future__ import annotations

import random

import pytest
from _pytest.mark.expression import Expression

from opsproof.config.expression import MAX_DEPTH, problem


def _pytest_accepts(text: str) -> bool:
    """pytest's parser compiles it (the grammar of -m; -k then refuses the call form when evaluating)."""
    try:
        Expression.compile(text)
    except (SyntaxError, ValueError):   # ValueError: pytest's parser lets m(a=²) through to int()
        return False
    return True


def _grammar(text: str) -> str:
    return problem(text, calls=True)


CASES = [
    "", "test_disk_space", "test_disk_space and (", "test_disk and not inodes", "(a or b) and not c",
    "checks/test_disk.py::test_disk_space[/-local]", "test_x[web1:2222-/data]", "a b", "not", "not not a", "()",
    "a and", "or a", "a or or b", "((a)", "a)", "m(a=1)", "m(a=1, b='x')", 'm(a="x y")', "m()", "m(a=1,)",
    "m(a=1, a=2)", "m(if=1)", "m(1a=1)", "m(__debug__=1)", "m(a=--1)", "m(a=-1)", "m(a=٣)", "m(a=²)",
    "m(a=True)", "m(a=none)", "m(a='x\\y')", "a\\b", "'open", "a\nb", "a\tand b", "é and ß", "a = b", "a, b",
    "True", "None and False", "'s'", "m(a=1) and n(b='2') or not o", "m(a)", "m(=1)", "m(a=)", "m(a=1 b=2)",
    "a+b-c.d[e]/f\\g:h", "x$", "a & b", "!a",
]


@pytest.mark.parametrize("text", CASES)
def test_the_same_verdict_as_pytest_on_chosen_cases(text):
    assert (_grammar(text) == "") == _pytest_accepts(text), (text, _grammar(text))


_PIECES = ["a", "test_disk", "not", "and", "or", "(", ")", "=", ",", "'s'", '"t u"', "1", "-2", "True", "None",
           "if", "x[1-a]", "m(", "'", "\\", "-", ":", "/", "é", "$", "\t", " ", "\n", "2b", "k=", "__debug__"]


def test_the_same_verdict_as_pytest_on_generated_expressions():
    rng = random.Random(20)
    differ = []
    for _ in range(5000):
        pieces = rng.choices(_PIECES, k=rng.randint(1, 9))
        text = "".join(p if rng.random() < 0.3 else f" {p} " for p in pieces)
        if (_grammar(text) == "") != _pytest_accepts(text):
            differ.append((text, _grammar(text)))
    assert not differ, differ[:10]


def _grown(rng: random.Random, depth: int = 0) -> str:
    """A random expression pytest's grammar allows (kwargs included)."""
    roll = rng.random() if depth < 4 else 0.0
    if roll < 0.4:
        ident = rng.choice(["test_disk", "x[1-a]", "a/b.py::c", "True", "é"])
        if rng.random() < 0.2:
            names = rng.sample(["a", "b", "c"], rng.randint(1, 3))
            values = ["1", "-2", "'s'", '"t"', "True", "None"]
            ident += "(" + ", ".join(f"{n}={rng.choice(values)}" for n in names) + ")"
        return ident
    if roll < 0.55:
        return "not " + _grown(rng, depth + 1)
    if roll < 0.7:
        return "(" + _grown(rng, depth + 1) + ")"
    return f"{_grown(rng, depth + 1)} {rng.choice(['and', 'or'])} {_grown(rng, depth + 1)}"


def test_the_same_verdict_as_pytest_on_grown_and_damaged_expressions():
    """Valid expressions, each also with one character dropped, doubled or replaced: near misses."""
    rng = random.Random(12)
    differ, accepted = [], 0
    for _ in range(3000):
        text = _grown(rng)
        at = rng.randrange(len(text))
        for variant in (text, text[:at] + text[at + 1:], text[:at] + text[at] + text[at:],
                        text[:at] + rng.choice("()=,'\\\"") + text[at + 1:]):
            accepted += _pytest_accepts(variant)
            if (_grammar(variant) == "") != _pytest_accepts(variant):
                differ.append((variant, _grammar(variant)))
    assert not differ, differ[:10]
    assert 3000 < accepted < 12000           # both verdicts well represented


def test_a_refusal_says_what_and_where():
    assert problem("test_disk_space and (") == (
        "expected not or left parenthesis or identifier, found end of input at column 22")
    assert problem("a & b") == "unexpected character '&' at column 3"


def test_k_refuses_the_call_form_as_pytest_does_when_it_evaluates_one():
    from _pytest.mark import KeywordMatcher

    assert problem("test_disk or m(a=1)") == "-k takes no call parameters (they are -m's) at column 15"
    assert _grammar("test_disk or m(a=1)") == "" and problem("test_disk or m") == ""
    with pytest.raises(pytest.UsageError, match="do not support call parameters"):
        Expression.compile("m(a=1)").evaluate(KeywordMatcher(set()))


def test_nesting_is_bounded_where_pytest_would_recurse_until_python_stops_it():
    deep = "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)
    assert _grammar(deep).startswith(f"nested more than {MAX_DEPTH} deep")
    assert problem("(" * 50 + "a" + ")" * 50) == "" and problem("not " * 99 + "a") == ""
    assert problem("(" * 100_000).startswith("nested more than")     # no RecursionError
