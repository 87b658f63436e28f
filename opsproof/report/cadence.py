"""Cadence state from the ledger: when each cadence last ran and last fully passed, per host, and what is overdue.

A run counts for a cadence when its marker expression selects a check marked with that cadence alone
(`-m "not daily"` does not run daily; a run without -m runs every cadence). A full pass is a run that
exited 0 with something passed and nothing failed. A cadence that never passed is due one period after
the ledger's first line, so a new installation is not overdue on its first day.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, Optional

from .run import parse_utc, utc

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7), "monthly": timedelta(days=31),
           "quarterly": timedelta(days=92)}
_TOKEN = re.compile(r"""'[^']*'|"[^"]*"|[()=,]|[^\s()=,'"]+""")


def selects(expression: str, marker: str) -> bool:
    """Whether the -m expression selects a check that carries `marker` and no other marker."""
    if not expression.strip():
        return True
    out: list[str] = []
    tokens = _TOKEN.findall(expression)
    n = 0
    while n < len(tokens):
        token = tokens[n]
        n += 1
        if token in ("and", "or", "not", "(", ")"):
            out.append(token)
        elif token[0] not in "'\"=,":
            call = n < len(tokens) and tokens[n] == "("
            while call and n < len(tokens) and tokens[n] != ")":  # mark(key=value): a call form matches no cadence
                n += 1
            n += 1 if call else 0
            out.append("True" if token == marker and not call else "False")
    try:
        return bool(eval(" ".join(out), {"__builtins__": {}}, {}))  # only True/False/and/or/not/parentheses
    except SyntaxError:
        return False


def full_pass(entry: Mapping[str, Any]) -> bool:
    outcome = entry.get("outcome") or {}
    return (entry.get("exit_status") == 0 and not entry.get("failed") and outcome.get("passed", 0) > 0
            and not outcome.get("failed") and not outcome.get("error"))


def hosts_of(entry: Mapping[str, Any]) -> list[str]:
    return [h.strip() for h in str(entry.get("hosts") or "local").split(",") if h.strip()]


@dataclass(frozen=True)
class CadenceState:
    cadence: str
    host: str
    last_run: Optional[datetime]
    last_pass: Optional[datetime]
    due: datetime

    def overdue(self, now: datetime) -> bool:
        return now > self.due

    def line(self, now: datetime) -> str:
        since = f"{(now - self.last_pass).days} d ago" if self.last_pass else "never"
        state = f"OVERDUE since {utc(self.due)}" if self.overdue(now) else f"due {utc(self.due)}"
        return (f"{self.cadence:<10} {self.host:<24} last run {utc(self.last_run) if self.last_run else 'never':<21}"
                f" last full pass {utc(self.last_pass) if self.last_pass else 'never':<21} ({since}); {state}")


def states(entries: Iterable[Mapping[str, Any]], grace: timedelta = timedelta(0)) -> list[CadenceState]:
    """Each periodic cadence per host seen in the ledger, in cadence order."""
    entries = [e for e in entries if e.get("started")]
    if not entries:
        return []
    first = min(parse_utc(e["started"]) for e in entries)
    hosts = sorted({h for e in entries for h in hosts_of(e)})
    found = []
    for cadence, period in PERIODS.items():
        for host in hosts:
            ran = [e for e in entries if host in hosts_of(e) and selects(str(e.get("selection") or ""), cadence)]
            ends = [parse_utc(e.get("ended") or e["started"]) for e in ran]
            passes = [parse_utc(e.get("ended") or e["started"]) for e in ran if full_pass(e)]
            last_pass = max(passes, default=None)
            due = (last_pass or first) + period + grace
            found.append(CadenceState(cadence, host, max(ends, default=None), last_pass, due))
    return found


def status_text(found: list[CadenceState], now: datetime) -> str:
    if not found:
        return "no run in the ledger yet"
    overdue = [s for s in found if s.overdue(now)]
    lines = [s.line(now) for s in found]
    lines.append(f"{len(overdue)} overdue" + (": " + ", ".join(f"{s.cadence} on {s.host}" for s in overdue)
                                              if overdue else ""))
    return "\n".join(lines)


def status_command(where: str, now: datetime, grace: timedelta = timedelta(0)) -> int:
    """`opsproof status [DIR-or-FILE]`: each cadence's last run and last full pass per host, and what is
    overdue. Exit 0 when nothing is overdue, 1 when something is, 4 when the file is not a ledger."""
    import sys

    from .ledger import verify

    found = verify(where)
    if found.not_ledger:
        print(found.text(), file=sys.stderr)
        return 4
    if found.problems:
        print(f"{found.path}: {len(found.problems)} problem(s) in the ledger (opsproof verify-ledger names them); "
              "the table reads the lines as they are", file=sys.stderr)
    table = states(found.entries, grace)
    print(status_text(table, now))
    return 1 if any(s.overdue(now) for s in table) else 0
