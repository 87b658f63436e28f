"""Cadence state from the ledger: when each cadence last ran and last fully passed, per host, and what is overdue.

A run counts for a cadence when its marker expression selects a check marked with that cadence alone
(`-m "not daily"` does not run daily; a run without -m runs every cadence). A full pass is a run that
exited 0 with something passed and nothing failed, and it counts for each host it named. A cadence is
overdue on a host when its last full pass there is older than its period plus the grace (`cadences:` in
the config); one that never passed there is due one period (plus grace) after the host's first line in the
ledger, so a new installation, or a new host, is not overdue on its first day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from ..config.cadences import Cadences
from ..config.expression import selects  # noqa: F401  (the one -m reading; coverage and textfile use it here)
from .ledger_file import read_entries
from .run import parse_utc, utc

PERIODS = Cadences().periods()  # the defaults: daily 1 d, weekly 7 d, monthly 31 d, quarterly 92 d
LONGER = tuple(PERIODS)[1:]     # weekly, monthly, quarterly: what the daily check judges, one item each


def span(value: timedelta) -> str:
    """A period as messages write it: `31 d`, `1.5 d`, `12 h`, `0 d`."""
    seconds = value.total_seconds()
    return f"{seconds / 86400:g} d" if seconds >= 86400 or not seconds else f"{seconds / 3600:g} h"


def is_run(entry: Mapping[str, Any]) -> bool:
    """A run's line (not an acknowledgement's, which the ledger chains too)."""
    return bool(entry.get("started")) and entry.get("kind", "run") == "run"


def full_pass(entry: Mapping[str, Any]) -> bool:
    """A run that did the cadence's work: exit 0, something passed, nothing failed — and either every task of
    its cadences was checked (verdict "passed") or it ran with --apply. A plan-only run whose drills and actions
    were only planned (verdict "incomplete", no --apply) does not count, however green its exit status."""
    outcome = entry.get("outcome") or {}
    clean = (entry.get("exit_status") == 0 and not entry.get("failed") and outcome.get("passed", 0) > 0
             and not outcome.get("failed") and not outcome.get("error"))
    return clean and (entry.get("verdict") in (None, "passed") or entry.get("apply") is True)


def split_hosts(text: str) -> list[str]:
    """A run's hosts as its record and its ledger line write them (`web1:22, web2:22`), one each."""
    return [h.strip() for h in text.split(",") if h.strip()]


def hosts_of(entry: Mapping[str, Any]) -> list[str]:
    return split_hosts(str(entry.get("hosts") or "local"))


@dataclass(frozen=True)
class CadenceState:
    cadence: str
    host: str
    last_run: Optional[datetime]
    last_pass: Optional[datetime]
    due: datetime
    since: Optional[datetime] = None             # the host's first line in the ledger
    pass_run: Optional[str] = None               # the run id of the last full pass
    period: timedelta = timedelta(0)
    grace: timedelta = timedelta(0)

    def overdue(self, now: datetime) -> bool:
        return now > self.due

    def age_days(self, now: datetime) -> float:
        """Days since the last full pass, else since the host's first line in the ledger."""
        return round((now - (self.last_pass or self.since or now)).total_seconds() / 86400, 1)

    def said(self, now: datetime) -> str:
        """`monthly last fully passed 45 days ago (2026-10-17, run 1a2b3c) on local`."""
        if self.last_pass:
            run = f", run {self.pass_run}" if self.pass_run else ""
            return (f"{self.cadence} last fully passed {(now - self.last_pass).days} days ago "
                    f"({self.last_pass.date().isoformat()}{run}) on {self.host}")
        first = f" in the {(now - self.since).days} days since its first run ({utc(self.since)})" if self.since else ""
        return f"{self.cadence} never fully passed on {self.host}{first}"

    def allows(self) -> str:
        """`monthly allows 31 d + grace 1 d`."""
        return f"{self.cadence} allows {span(self.period)} + grace {span(self.grace)}"

    def row(self, now: datetime) -> dict[str, Any]:
        """The state as the JSON summary carries it."""
        return {"cadence": self.cadence, "host": self.host, "last_pass": utc(self.last_pass) if self.last_pass else None,
                "run": self.pass_run, "due": utc(self.due), "overdue": self.overdue(now), "text": self.said(now)}

    def line(self, now: datetime) -> str:
        since = f"{(now - self.last_pass).days} d ago" if self.last_pass else "never"
        state = f"OVERDUE since {utc(self.due)}" if self.overdue(now) else f"due {utc(self.due)}"
        return (f"{self.cadence:<10} {self.host:<24} last run {utc(self.last_run) if self.last_run else 'never':<21}"
                f" last full pass {utc(self.last_pass) if self.last_pass else 'never':<21} ({since}); {state}")


def _moment(entry: Mapping[str, Any]) -> datetime:
    return parse_utc(entry.get("ended") or entry["started"])


def state_of(entries: list[Mapping[str, Any]], cadence: str, host: str, period: timedelta,
             grace: timedelta) -> Optional[CadenceState]:
    """One cadence on one host; None when no line of the ledger names the host (its first run is under way)."""
    mine = [e for e in entries if is_run(e) and host in hosts_of(e)]
    if not mine:
        return None
    since = min(parse_utc(e["started"]) for e in mine)
    ran = [e for e in mine if selects(str(e.get("selection") or ""), cadence)]
    passed = max((e for e in ran if full_pass(e)), key=_moment, default=None)
    last_pass = _moment(passed) if passed else None
    return CadenceState(cadence, host, max(map(_moment, ran), default=None), last_pass,
                        (last_pass or since) + period + grace, since, passed.get("run_id") if passed else None,
                        period, grace)


def states(entries: Iterable[Mapping[str, Any]], grace: timedelta = timedelta(0),
           periods: Optional[Mapping[str, timedelta]] = None) -> list[CadenceState]:
    """Each periodic cadence per host seen in the ledger, in cadence order (`periods`: PERIODS by default)."""
    entries = [e for e in entries if is_run(e)]
    hosts = sorted({h for e in entries for h in hosts_of(e)})
    found = [state_of(entries, cadence, host, period, grace)
             for cadence, period in (periods or PERIODS).items() for host in hosts]
    return [s for s in found if s is not None]


def for_hosts(entries: Iterable[Mapping[str, Any]], hosts: Iterable[str], cadences: Cadences,
              only: Iterable[str] = ()) -> tuple[list[CadenceState], list[str]]:
    """The cadences (`only`, else all) on these hosts with the config's periods and grace, and a note for each
    host the ledger does not name yet (its first run is this one: nothing can be overdue there)."""
    entries = [e for e in entries if is_run(e)]
    found, notes = [], []
    for host in hosts:
        if not any(host in hosts_of(e) for e in entries):
            notes.append(f"no run on {host} in the ledger yet: this is its first")
            continue
        found += [state_of(entries, name, host, period, cadences.grace)
                  for name, period in cadences.periods().items() if not only or name in only]
    return [s for s in found if s is not None], notes


@dataclass(frozen=True)
class LedgerView:
    """What the ledger said when a run started: its lines, the run's hosts (masked as the ledger masks them), the
    cadences of the config, the moment they are judged against (the run's start)."""

    path: Path
    exists: bool
    now: datetime
    hosts: list[str]
    entries: list[dict[str, Any]]
    cadences: Cadences

    @classmethod
    def read(cls, path: Path, now: datetime, hosts: list[str], cadences: Cadences) -> "LedgerView":
        """The ledger at `path` as a run starting at `now` on `hosts` finds it (nothing there: no lines)."""
        return cls(path, path.is_file(), now, hosts, read_entries(path), cadences)

    def overdue(self) -> list[CadenceState]:
        found, _ = for_hosts(self.entries, self.hosts, self.cadences)
        return [s for s in found if s.overdue(self.now)]

    def overdue_rows(self) -> list[dict[str, Any]]:
        """The JSON summary's "overdue": one row per cadence and host of the run that is overdue."""
        return [s.row(self.now) for s in self.overdue()]

    def overdue_text(self) -> Optional[str]:
        """One line naming every overdue cadence and the command that runs it; None when nothing is overdue."""
        late = self.overdue()
        return "; ".join(f"{s.said(self.now)} (due {utc(s.due)}) — run pytest -m {s.cadence}" for s in late) or None

    def header(self) -> str:
        """The run's header line on the cadences."""
        if not self.exists:
            return f"opsproof: cadences: no ledger yet at {self.path} (first run): nothing is overdue"
        text = self.overdue_text()
        return f"opsproof: OVERDUE: {text}" if text else f"opsproof: cadences: nothing overdue ({self.path})"

    def due(self, selection: str, cadence: str) -> "CadenceDue":
        """The states the daily check judges for one longer cadence, and why a host has none: no ledger yet, or a
        run that runs that cadence itself (its own outcome decides)."""
        if not self.exists:
            notes = [f"no ledger yet: first run (nothing at {self.path}); nothing can be overdue before a period passed"]
            return CadenceDue(cadence, self.now, [], notes, str(self.path))
        if selects(selection, cadence):
            notes = [f"this run ({selection or 'no -m'}) runs the {cadence} checks: its own outcome decides"]
            return CadenceDue(cadence, self.now, [], notes, str(self.path))
        return CadenceDue(cadence, self.now, *for_hosts(self.entries, self.hosts, self.cadences, only=(cadence,)),
                          str(self.path))


@dataclass(frozen=True)
class CadenceDue:
    """One longer cadence on a run's hosts: the states to judge, and why a host has none (first run)."""

    cadence: str
    now: datetime
    states: list[CadenceState]
    notes: list[str]
    ledger: str = ""         # the ledger read

    def records(self) -> list[tuple[str, dict[str, Any]]]:
        """The evidence, as (label, record): each note with the ledger it read, then each host's state."""
        return ([("cadence", {"ledger": self.ledger, "note": note}) for note in self.notes]
                + [(f"{self.cadence} on {s.host}", s.row(self.now)) for s in self.states])


def status_text(found: list[CadenceState], now: datetime) -> str:
    if not found:
        return "no run in the ledger yet"
    overdue = [s for s in found if s.overdue(now)]
    lines = [s.line(now) for s in found]
    lines.append(f"{len(overdue)} overdue" + (": " + ", ".join(f"{s.cadence} on {s.host}" for s in overdue)
                                              if overdue else ""))
    return "\n".join(lines)
