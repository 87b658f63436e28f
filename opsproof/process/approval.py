"""Emergency maintenance needs approval (the guide: "emergency maintenance needs CTO approval").

`--ignore-window` lets disruptive actions run outside the maintenance window; it is accepted only with
an approval: `--approved-by NAME` and `--reason TEXT` on the command line, or an `emergency-approval`
record in the attestations file (task, date, by, evidence = the reason) newer than
window.emergency_approval_max_age. The approval is a plain dict (who, why, when, where it came from)
that the run record carries into the report header, the JSON summary, the ledger and the notices; its
values are one line each, control characters shown escaped (a newline in --reason starts no line of its own).
`grant` decides, before any check runs: no approval needed, the one given, or Refused (the run stops, exit 4, with
its one line). Pure: the caller reads the attestation files (opsproof.process.attest) and the clock.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterable, Optional

from ..config import Maint, Window
from ..report.redact import one_line
from .attest import AttestationFile

TASK = "emergency-approval"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class Refused(ValueError):
    """The run may not start: one line saying what is missing and how to give it."""


def option_problem(ignore_window: bool, approved_by: Optional[str], reason: Optional[str]) -> Optional[str]:
    """What is wrong with the approval options on their own (None when they are usable)."""
    given = [name for name, value in (("--approved-by", approved_by), ("--reason", reason)) if value is not None]
    blank = [name for name, value in (("--approved-by", approved_by), ("--reason", reason))
             if value is not None and not value.strip()]
    if given and not ignore_window:
        return f"{' and '.join(given)} approve an emergency run outside the window: they go with --ignore-window"
    if blank:
        return f"{' and '.join(blank)} must not be empty"
    if len(given) == 1:
        missing = "--reason TEXT" if approved_by is not None else "--approved-by NAME"
        return f"--ignore-window with {given[0]} needs {missing} as well (who approved the emergency, and why)"
    return None


def max_age(window: Optional[Window]) -> timedelta:
    """How old an attested approval may be: window.emergency_approval_max_age (its default without a window)."""
    return window.emergency_approval_max_age if window else Window.model_fields["emergency_approval_max_age"].default


def grant(ignore_window: bool, approved_by: Optional[str], reason: Optional[str], started: datetime, maint: Maint,
          read: Callable[[str, set[str]], Iterable[AttestationFile]], now: datetime) -> Optional[dict[str, str]]:
    """The approval a run carries: None without --ignore-window, the command line's (stamped with the run's
    `started`), else the newest attested one of every target; Refused with the one line that says what is missing.
    `read(path, tasks)` reads the attestations file at `path` of every target, only when one is needed."""
    problem = option_problem(ignore_window, approved_by, reason)
    if problem:
        raise Refused(problem)
    if not ignore_window:
        return None
    if approved_by is not None and reason is not None:
        return given(approved_by, reason, started)
    if maint.attestations is None:
        raise refusal_without_attestations()
    return attested(read(maint.attestations.file, {TASK}), max_age(maint.window), now)


def given(approved_by: str, reason: str, now: datetime) -> dict[str, str]:
    """An approval given on the command line, stamped with the run's start."""
    return _approval(approved_by, reason, now, "command line (--approved-by, --reason)")


def _approval(by: str, reason: str, at: datetime, source: str) -> dict[str, str]:
    """The approval record: operator input (names, reasons, paths) as one printable line each."""
    values = {"by": by.strip(), "reason": reason.strip(), "at": at.strftime(TIME_FORMAT), "source": source}
    return {key: one_line(value) for key, value in values.items()}


def attested(files: Iterable[AttestationFile], max_age: timedelta, now: datetime) -> dict[str, str]:
    """The newest `emergency-approval` record newer than `max_age` in every file (one per target);
    Refused naming each file that has none."""
    found, missing = [], []
    limit = _age_text(max_age)
    for file in files:
        records = sorted((r for r in file.records if r.task == TASK and r.evidence.strip()), key=lambda r: r.at)
        fresh = [r for r in records if now - r.at <= max_age]
        if file.error:
            missing.append(file.error)
        elif fresh:
            found.append((file, fresh[-1]))
        elif records:
            missing.append(f"{file.path}: the newest {TASK} record (line {records[-1].line}, {records[-1].when}) is "
                           f"older than window.emergency_approval_max_age = {limit}")
        else:
            missing.append(f"{file.path}: no {TASK} record with a reason (evidence)")
    if missing or not found:
        raise Refused("--ignore-window needs an approval: --approved-by NAME --reason TEXT, or a recorded "
                      f"{TASK} attestation newer than {limit} — " + "; ".join(missing or ["no attestations file"]))
    file, record = max(found, key=lambda pair: pair[1].at)
    return _approval(record.by, record.evidence, record.at,
                     f"attestation {file.path} line {record.line} ({TASK}, within {limit})")


def refusal_without_attestations() -> Refused:
    return Refused("--ignore-window needs an approval: pass --approved-by NAME and --reason TEXT (who approved "
                   f"the emergency, and why), or record an {TASK} attestation (needs an attestations: section)")


def text(approval: dict[str, str]) -> str:
    """One line: `emergency approved by NAME at TIME: REASON (source)`."""
    return f"emergency approved by {approval['by']} at {approval['at']}: {approval['reason']} ({approval['source']})"


def _age_text(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
