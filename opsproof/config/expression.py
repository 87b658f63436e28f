r"""Selection expressions as pytest's `-k` and `-m` read them, checked here because the config must not import pytest.

A waiver's `check` and a runbook's pattern select checks as `-k` would (engine/judgement.py evaluates them with
pytest's own machinery); `problem()` tells at load time whether pytest will accept one, so `opsproof
check-config` and the run refuse the same ones. -k refuses the call form `name(key=value)` (-m's), as pytest does. The grammar is pytest's (_pytest/mark/expression.py, 8.x-9.x):

    expression: expr? EOF
    expr:       and_expr ('or' and_expr)*
    and_expr:   not_expr ('and' not_expr)*
    not_expr:   'not' not_expr | '(' expr ')' | ident kwargs?
    ident:      (\w|:|\+|-|\.|\[|\]|\\|/)+
    kwargs:     '(' name '=' value (',' name '=' value)* ')'    name: a Python identifier, not a keyword, once
    value:      'string' | "string" | -?[0-9]+ | True | False | None

tests/test_expression.py holds it against pytest's parser over many inputs. Deliberate differences: nesting
deeper than MAX_DEPTH is refused here (pytest recurses until Python's limit), and so is a value int() cannot read
('²', which pytest's parser lets through to a ValueError).
"""
from __future__ import annotations

import keyword
import re

MAX_DEPTH = 100
_IDENT = re.compile(r"(?:\w|:|\+|-|\.|\[|\]|\\|/)+")
_WORDS = ("or", "and", "not")
_SAID = {"(": "left parenthesis", ")": "right parenthesis", "=": "=", ",": ",", "or": "or", "and": "and",
         "not": "not", "ident": "identifier", "string": "string literal", "end": "end of input"}


class _Refused(Exception):
    def __init__(self, pos: int, what: str) -> None:
        super().__init__(f"{what} at column {pos + 1}")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) of each token, ending with ("end", "", len(text))."""
    out, pos = [], 0
    while pos < len(text):
        char = text[pos]
        if char in " \t":
            pos += 1
        elif char in "()=,":
            out.append((char, char, pos))
            pos += 1
        elif char in "'\"":
            end = text.find(char, pos + 1)
            if end == -1:
                raise _Refused(pos, f"closing quote {char} is missing")
            if "\\" in text:
                raise _Refused(text.index("\\"), "a backslash is not allowed beside a quoted string")
            out.append(("string", text[pos:end + 1], pos))
            pos = end + 1
        else:
            match = _IDENT.match(text, pos)
            if not match:
                raise _Refused(pos, f"unexpected character {char!r}")
            word = match.group()
            out.append((word if word in _WORDS else "ident", word, pos))
            pos = match.end()
    out.append(("end", "", len(text)))
    return out


def _integer(value: str) -> bool:
    """pytest's test (isdigit, so '٣' too), and int() must read it: pytest lets '²' through to a ValueError."""
    if not (value.isdigit() or (value.startswith("-") and value[1:].isdigit())):
        return False
    try:
        int(value)
    except ValueError:
        return False
    return True


class _Parser:
    def __init__(self, text: str, calls: bool) -> None:
        self.tokens, self.n, self.depth, self.calls = _tokens(text), 0, 0, calls

    def accept(self, kind: str) -> tuple[str, str, int] | None:
        token = self.tokens[self.n]
        if token[0] != kind:
            return None
        self.n += token[0] != "end"
        return token

    def expect(self, *kinds: str) -> tuple[str, str, int]:
        for kind in kinds:
            token = self.accept(kind)
            if token:
                return token
        kind, _, pos = self.tokens[self.n]
        raise _Refused(pos, f"expected {' or '.join(_SAID[k] for k in kinds)}, found {_SAID[kind]}")

    def expression(self) -> None:
        if not self.accept("end"):
            self.expr()
            self.expect("end")

    def expr(self) -> None:
        self.and_expr()
        while self.accept("or"):
            self.and_expr()

    def and_expr(self) -> None:
        self.not_expr()
        while self.accept("and"):
            self.not_expr()

    def not_expr(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(self.tokens[self.n][2], f"nested more than {MAX_DEPTH} deep")
        if self.accept("not"):
            self.not_expr()
        elif self.accept("("):
            self.expr()
            self.expect(")")
        elif self.expect("not", "(", "ident") and self.accept("("):
            if not self.calls:
                raise _Refused(self.tokens[self.n - 1][2], "-k takes no call parameters (they are -m's)")
            self.keywords()
            self.expect(")")
        self.depth -= 1

    def keywords(self) -> None:
        seen: set[str] = set()
        while True:
            _, name, pos = self.expect("ident")
            if not name.isidentifier() or keyword.iskeyword(name) or name == "__debug__":
                raise _Refused(pos, f"{name!r} is not a keyword argument's name")
            if name in seen:
                raise _Refused(pos, f"keyword argument {name} repeated")
            seen.add(name)
            self.expect("=")
            if not self.accept("string"):
                _, value, pos = self.expect("ident")
                if not (_integer(value) or value in ("True", "False", "None")):
                    raise _Refused(pos, f"{value!r} is not a value (a quoted string, an integer, True, False, None)")
            if not self.accept(","):
                return


def problem(text: str, calls: bool = False) -> str:
    """What keeps `text` from being a -k expression pytest accepts ("" when nothing does); with `calls`, a -m
    expression (where `mark(key=value)` is allowed: -k compiles it, then refuses it when evaluated)."""
    try:
        _Parser(text, calls).expression()
    except _Refused as exc:
        return str(exc)
    return ""


# -m as a run reads it back: lenient (whatever pytest makes of a broken expression, these never raise), the one
# reading both the run's marker check (engine/selection.py) and the cadence and coverage logic use.
_MARK_TOKEN = re.compile(r"""'[^']*'|"[^"]*"|[()=,]|[^\s()=,'"]+""")


def _marks(expression: str) -> list[tuple[str, bool]]:
    """(token, is a call) for each operator, parenthesis and marker name of an -m expression; the keyword arguments
    of a call form `mark(key=value)` are left out."""
    tokens = _MARK_TOKEN.findall(expression)
    out, n = [], 0
    while n < len(tokens):
        token = tokens[n]
        n += 1
        if token in "=," or token[0] in "'\"":
            continue
        call = token not in ("(", ")", *_WORDS) and n < len(tokens) and tokens[n] == "("
        while call and n < len(tokens) and tokens[n] != ")":
            n += 1
        n += 1 if call else 0
        out.append((token, call))
    return out


def marker_words(expression: str) -> list[str]:
    """The marker names an -m expression uses: its words other than and/or/not."""
    return [token for token, _ in _marks(expression) if token not in ("(", ")", *_WORDS)]


def selects(expression: str, marker: str) -> bool:
    """Whether the -m expression selects a check that carries `marker` and no other marker (a call form matches
    no marker); every expression selects it when empty."""
    if not expression.strip():
        return True
    out = [t if t in ("(", ")", *_WORDS) else str(t == marker and not call) for t, call in _marks(expression)]
    try:
        return bool(eval(" ".join(out), {"__builtins__": {}}, {}))  # only True/False/and/or/not/parentheses
    except (SyntaxError, TypeError):  # TypeError: `'x' ( )` reads as calling False
        return False


def unknown_markers(expression: str, registered: set[str], known: str) -> str:
    """Why `-m expression` is refused: the words in it that are not registered markers ("" when every one is)."""
    unknown = [w for w in dict.fromkeys(marker_words(expression)) if w not in registered]
    if not unknown:
        return ""
    names = ", ".join(repr(w) for w in unknown)
    return (f"-m {expression!r}: {names} {'is not a' if len(unknown) == 1 else 'are not'} registered "
            f"marker{'s' if len(unknown) > 1 else ''}; {known}")


def nothing_selected(markexpr: str, keyword: str, known: str) -> str:
    """Why a run that selected no check stops: it would check nothing and pass."""
    chosen = " ".join(f"{flag} {value!r}" for flag, value in (("-m", markexpr), ("-k", keyword)) if value)
    return f"no check selected{' by ' + chosen if chosen else ''}: a run that checks nothing proves nothing; {known}"
