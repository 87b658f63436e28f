"""Waivers and runbooks at run time (the config side is opsproof/config/judgement.py).

Matching, for waivers and runbooks alike: a pattern is a `-k` expression over the check's keywords (its name with
parameters, module, class, markers; case-insensitive substrings, `and`/`or`/`not`), or a node id or the start of
one (`checks/test_disk.py::test_disk_space`). pytest's own `-k` machinery evaluates it, so the caller passes
`selects`: whether a pattern selects the check at hand (engine/judgement.py). A waiver with `hosts` covers a check
only when its id names one of them.

A waived failure is pytest's xfail: the pytest wiring turns the failed setup or call report into `outcome =
"skipped"` with `wasxfail = "waived: <reason> (approved by X, until DATE)"` (`Ruling.waived`). pytest then exits 0
and counts it "xfailed"; pytest-html shows it as an expected failure with its failure text; JUnit records it as
skipped with the waiver as the message; the JSON summary and the coverage table call it "waived" (never "passed").
A waiver past `expires` covers nothing: the failure says it expired. A failure's text ends with " — runbook: <link>"
when a runbook matches the check (`Ruling.lines`), on its last line: after the measurement, never instead of it.

A pattern pytest's -k parser would refuse never gets here: loading the config refuses it (opsproof/config/
judgement.py), the same for the run and `opsproof check-config`. Pure: the caller passes the matching, the
redactor and the day.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable, Mapping, Optional

from ..config.judgement import Waiver
from .redact import Redactor

Selects = Callable[[str], bool]   # whether a pattern selects the check at hand


def covers(waiver: Waiver, nodeid: str, selects: Selects) -> bool:
    """The waiver's pattern selects the check, on one of its hosts when it names some."""
    return selects(waiver.check) and (not waiver.hosts or any(h in nodeid for h in waiver.hosts))


def runbook_for(runbooks: Mapping[str, str], selects: Selects, resolve: Callable[[str], str]) -> Optional[str]:
    """The first runbook whose pattern selects the check: a URL as written, a path made absolute by `resolve`."""
    for pattern, target in runbooks.items():
        if selects(pattern):
            return target if "://" in target else resolve(target)
    return None


def unused(waivers: Iterable[Waiver], used: Callable[[Waiver], bool]) -> list[str]:
    """One line for each waiver no collected check matches (`used` says whether one does): a mistake worth saying."""
    return [f"waivers[{i}]: {w.check}" + (f" on {', '.join(w.hosts)}" if w.hosts else "") + " matches no check"
            for i, w in enumerate(waivers) if not used(w)]


@dataclass
class Ruling:
    """What the judgement adds to one phase's report of a check."""

    runbook: Optional[str] = None                      # the matching runbook, masked
    waived: Optional[str] = None                       # a failure a waiver in force covers: its note
    lines: list[str] = field(default_factory=list)     # added at the end of an unwaived failure's text


def rule(failed: bool, waivers: Iterable[Waiver], runbook: Optional[str], red: Redactor, today: date) -> Ruling:
    """A phase's ruling: `failed` (a failed setup or call), the waivers covering the check, its runbook."""
    runbook = red.text(runbook) if runbook else None
    if not failed:
        return Ruling(runbook)
    waivers = list(waivers)
    in_force = [w for w in waivers if w.in_force(today)]
    if in_force:
        return Ruling(runbook, waived=red.text(in_force[0].note()))
    return Ruling(runbook, lines=[red.text(w.expired_note()) for w in waivers]
                  + ([f"runbook: {runbook}"] if runbook else []))


def with_lines(text: str, lines: list[str]) -> str:
    """A failure's text with the ruling's notes at the end of its last line, after the measurement (the terminal, the
    HTML log, JUnit and the summary show it; the coverage table reads that line): `... — runbook: <link>`."""
    return text.rstrip("\n") + "".join(f" — {line}" for line in lines) if lines else text


def listing(waivers: Iterable[Waiver], unused_lines: Optional[list[str]], today: date) -> dict[str, Any]:
    """What the summary and the ledger list: the configured waivers (in force or expired) and the unused ones."""
    return {"waivers": [{**w.model_dump(mode="json"), "in_force": w.in_force(today)} for w in waivers],
            "unused_waivers": unused_lines}
