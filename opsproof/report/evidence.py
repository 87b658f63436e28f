"""Evidence records: what a check measured, against which threshold, read from which config key.

`Evidence` collects a check's records, comparisons and pictures; `judge` and `judge_limit` build
the comparison and decide pass or fail. `judge` takes a `Setting` (opsproof/config/section.py: the value, its key
path, the warning level beside it) and marks a passing comparison past the warning level `warned`. Nothing here
fails a test: the pytest wiring (engine/evidence.py) does that with `Comparison.message`.

What a check's report carries (`report_info`: its docstring's first line, its records and comparisons, its markers)
is plain values, masked: pytest-xdist sends it from its workers to the controller, and no secret reaches the HTML
report, the JSON summary or JUnit. `masked_longrepr` does the same for a report's failure text or skip reason.

A failed check's text is one plain line a person reads: what was measured or found, the limit and the key it came
from, what to do (`Comparison.message`, or a library result's own sentence). Whatever else reached pytest is turned
into such a line by the wiring: `plain_assertion` keeps what an `assert cond, "message"` in a check said and drops
what pytest's assertion rewriting adds (reprs of the objects involved); `internal_error` marks an unexpected
exception as opsproof's fault, keeping its traceback between a headline and the same line at the end (the coverage
table and the summary read a failure's last line, the terminal its first).
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any, Callable, Iterable, Mapping, Optional

from ..config.section import KeyPathError, Setting
from .redact import Redactor, printable

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}

_PER = {" s": 1, " min": 60, " h": 3600, " days": 86400}


@dataclass
class Comparison:
    """One measured value against its threshold; `key` names where the threshold came from."""

    what: str
    measured: Any
    op: str
    threshold: Any
    key: str
    unit: str = ""
    passed: Optional[bool] = None
    warn: Any = None          # the warning level beside the threshold, when one is configured
    warn_key: str = ""
    warned: bool = False      # passed, but past the warning level

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Comparison":
        """A comparison from its JSON form (as the report and the summary carry it)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    @property
    def value_text(self) -> str:
        return f"{self.measured}{self.unit}"

    @property
    def limit_text(self) -> str:
        return f"{self.op} {self.threshold}{self.unit}"

    def line(self) -> str:
        """One line: `space used on /: 40.1% (<= 85%)`."""
        warn = f", warning {self.op} {self.warn}{self.unit}" if self.warn is not None else ""
        return f"{self.what}: {self.value_text} ({self.limit_text}{warn})" + (" WARNING" if self.warned else "")

    def message(self, hint: str = "") -> str:
        """The failure text: measured value, the key that allows what (or asks for what, for `==`), what to do."""
        limit = f"asks for {self.threshold}{self.unit}" if self.op == "==" else f"allows {self.limit_text}"
        return f"{self.what} is {self.value_text}; {self.key} {limit}" + (f" — {hint}" if hint else "")

    def warning(self) -> str:
        """`space used on /: 82% is past the warning level disk.warn_used_percent = 80% (disk.max_used_percent = 85%
        fails it)`: the run passes, someone should look."""
        return (f"{self.what}: {self.value_text} is past the warning level {self.warn_key} = {self.warn}{self.unit} "
                f"({self.key} = {self.threshold}{self.unit} fails it)")


def in_unit(threshold: Any, unit: str, key: str) -> Any:
    """A duration setting (7d, 2h) in the unit the measurement is given in; other values unchanged."""
    if not isinstance(threshold, timedelta):
        return threshold
    if unit not in _PER:
        raise KeyPathError(f"{key} is a duration; compare it in one of the units {sorted(_PER)}")
    return round(threshold.total_seconds() / _PER[unit], 4)


def judge_limit(what: str, measured: Any, op: str, limit: Any, source: str, unit: str = "") -> Comparison:
    """`measured op limit`, decided: an unmeasured value (None) never passes."""
    if op not in OPS:
        raise ValueError(f"unknown comparison {op!r} (one of {sorted(OPS)})")
    comp = Comparison(what, measured, op, limit, source, unit)
    comp.passed = bool(measured is not None and OPS[op](measured, limit))
    return comp


def judge(what: str, measured: Any, op: str, setting: Setting[Any], unit: str = "") -> Comparison:
    """`measured op setting.value`, decided; the comparison names the setting's key (and origin, when it is not
    the config file itself), and carries its warning level unless the comparison is an equality."""
    threshold = in_unit(setting.value, unit, setting.key)
    comp = judge_limit(what, measured, op, threshold, setting.source, unit)
    if op != "==" and setting.warn is not None:
        comp.warn, comp.warn_key = in_unit(setting.warn, unit, setting.warn_key), setting.warn_key
        comp.warned = bool(comp.passed and not OPS[op](measured, comp.warn))
    return comp


@dataclass
class Evidence:
    """Everything one check recorded: measurement records, comparisons, pictures."""

    records: list[tuple[str, Any]] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    images: list[tuple[str, Any]] = field(default_factory=list)   # (title, the chart, not drawn yet)

    def image(self, chart: Any, title: str) -> None:
        """Attach a picture (a chart, not drawn yet) to the report: drawn at the check's end where the report is
        read for it, inline in the self-contained HTML (engine/charts.py)."""
        self.images.append((title, chart))

    def record(self, value: Any, label: Optional[str] = None) -> Any:
        """Keep a measurement record (a dataclass or dict) for the report; return it unchanged."""
        self.records.append((label or type(value).__name__, value))
        return value

    def judge(self, what: str, measured: Any, op: str, setting: Setting[Any], *, unit: str = "") -> Comparison:
        """Compare against a setting and keep the comparison (see `judge`)."""
        return self._keep(judge(what, measured, op, setting, unit))

    def judge_limit(self, what: str, measured: Any, op: str, limit: Any, source: str, *, unit: str = "") -> Comparison:
        """Compare against a limit that is not a setting and keep the comparison (see `judge_limit`)."""
        return self._keep(judge_limit(what, measured, op, limit, source, unit))

    def _keep(self, comp: Comparison) -> Comparison:
        self.comparisons.append(comp)
        return comp


def first_line(doc: Optional[str]) -> str:
    """A check's docstring's first line: what the report shows as the check ('' without one)."""
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else ""


def report_info(check: str, evidence: Optional[Evidence], markers: Iterable[str], red: Redactor) -> dict[str, Any]:
    """What a check's report carries: `check` (its docstring's line), `evidence` ({label, data} records) and
    `comparisons`, masked by `red`, and its `markers` sorted."""
    records = [{"label": label, "data": red.data(rec)} for label, rec in (evidence.records if evidence else [])]
    comparisons = [red.data(c) for c in (evidence.comparisons if evidence else [])]
    return {"check": check, "evidence": records, "comparisons": comparisons, "markers": sorted(set(markers))}


def shown(text: str, red: Redactor) -> str:
    """Text as a report shows it: secrets masked, control characters escaped."""
    return printable(red.text(text))


def masked_longrepr(longrepr: Any, red: Redactor) -> Any:
    """A report's failure text (any object, read as its text) or skip reason (`(path, line, reason)`) as `shown`;
    the object itself when nothing in it needed masking."""
    text = str(longrepr)
    masked = shown(text, red)
    if masked == text:
        return longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, line, reason = longrepr
        return (path, line, shown(reason, red))
    return masked


INTERNAL = "opsproof internal error"
_REPR = re.compile(r"[A-Za-z_][\w.]*\((?:\)|[A-Za-z_]\w*=)")   # HealthResult(name=..., Verification(...)
_REWRITTEN = re.compile(r"assert\b|\+  where |\+    and ")        # the lines pytest's assertion rewriting adds


def plain_assertion(text: str) -> str:
    """What an `assert condition, "message"` in a check said, without what pytest's assertion rewriting added after it
    (`assert False`, `+  where False = Result(...).ok`); '' when it said nothing a person reads (no message, or an
    object's repr as the message)."""
    kept: list[str] = []
    for line in text.splitlines():
        if _REWRITTEN.match(line):
            break
        kept.append(line[2:] if kept and line.startswith("  ") else line)  # rewriting indents a message's own lines
    said = " ".join(line.strip() for line in kept if line.strip())
    return "" if _REPR.match(said) else said


def unexplained(check: str, where: str) -> str:
    """The failure text of an assertion in a check that gave no reason: the check's own sentence, and where it failed."""
    return f"not met: {check or 'the check'} ({where} failed without saying why; the check should name what it found)"


def internal_error(exception: str, where: str, trace: str) -> str:
    """An unexpected exception (in opsproof, its wiring or a check's code) as a failure's text: a headline that says so,
    the traceback, and the headline again as the last line."""
    first = (exception.strip().splitlines() or [""])[0][:300]
    head = f"{INTERNAL}: {first} (at {where}) — a fault in opsproof or its wiring, not a finding about the service"
    return f"{head}\n{trace.rstrip()}\n{head}"


def one_line(text: str, limit: int = 300) -> str:
    """Text from a file or an answer (a log line, a body) inside a sentence: on one line, at most `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
