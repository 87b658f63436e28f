"""`opsproof ack errorlog`: acknowledge the error lines a failing check keeps counting, so it counts past them.

A failing error-log check keeps failing, run after run, on the same lines until someone says they were read:
the acknowledgement moves every selection's reference point to the end of the log as it is now, and records
who, when and why in the state (beside the offsets) and as a line of the ledger: both, or neither.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from ..hosts.state import StateStore
from ..hosts.target import Target
from ..report import ledger, outputs
from ..report.redact import one_line
from .errorlog import ErrorScan
from .scan import reference_at_end, scan_errors

STATE = "errorlog"


def selection_key(path: str, selection: str) -> str:
    """Where a selection's reference point for one log is kept: each -m expression has its own."""
    return f"errorlog:{path}:{selection.strip() or '(all)'}"


def ack_key(path: str) -> str:
    return f"errorlog-ack:{path}"


def reference_for(saved: dict[str, Any], path: str, selection: str) -> dict[str, Any]:
    """The point a selection reads from: its own last reference, or a later acknowledgement (for a selection that
    never ran, too); before per-selection keys, the one shared key."""
    own = saved.get(selection_key(path, selection)) or saved.get(f"errorlog:{path}") or {}
    ack = saved.get(ack_key(path))
    if ack and float(ack.get("at", 0)) >= float(own.get("at", 0)):
        return {**{k: v for k, v in ack.items() if k not in ("by", "reason")}, "acknowledged": True}
    return own


@dataclass
class SelectionScan:
    """One -m selection's scan of the error log, and the reference point the next scan starts from if it moves on."""

    scan: ErrorScan
    key: str
    reference: dict[str, Any]
    since_last_run: bool = False     # logs.since: last_run — moves on whether the check passed or not

    def saved_after(self, passed: bool, at: float) -> Optional[dict[str, Any]]:
        """The state entries to save once the check is judged, or None: the point stays, so errors stay counted run
        after run until the cause is fixed (and acknowledged) — unless logs.since is last_run."""
        if self.scan.error is None and (self.since_last_run or passed):
            return {self.key: {**self.reference, "at": at}}
        return None


def scan_selection(target: Target, logs: Any, selection: str, saved: dict[str, Any]) -> SelectionScan:
    """The configured error log (`logs`: the config's section) scanned from the reference point of `selection` in
    the saved state (STATE)."""
    previous = reference_for(saved, logs.error_log, selection)
    scan, reference = scan_errors(target, logs.error_log, logs.error_pattern, previous, logs.show_lines)
    if previous.get("acknowledged"):
        scan.reference += " (acknowledged up to there)"
    return SelectionScan(scan, selection_key(logs.error_log, selection), reference, logs.since == "last_run")


@dataclass
class Ack:
    path: str
    host: str
    by: str
    reason: str
    at: float
    inode: Optional[int] = None
    offset: int = 0
    mark: dict[str, Any] = field(default_factory=dict)   # the reference point at the log's end (logs.follow.mark)
    error: Optional[str] = None


def acknowledge(target: Target, path: str, by: str, reason: str) -> Ack:
    """Where the log ends now (its reference point), for `commit`; reads the target, changes nothing."""
    ack = Ack(path, target.name, one_line(by), one_line(reason), time.time())  # operator input: one line each
    mark, error = reference_at_end(target, path)
    if mark is None:
        ack.error = error
        return ack
    ack.mark, ack.inode, ack.offset = mark, mark["inode"], mark["offset"]
    return ack


def unwritable(report_dir: Path, state_dir: Path) -> Optional[str]:
    """Why the acknowledgement could not be recorded whole (checked before anything is read or written), or None:
    the same check a run makes at its start (outputs.problems: the folders, and the ledger a line must go to)."""
    found = outputs.problems(report_dir, state_dir, None)
    return found[0] if found else None


def commit(ack: Ack, state: StateStore, report_dir: Path, service: str, config_path: str, config_sha256: str,
           state_dir: str) -> Optional[str]:
    """The ledger line and the moved reference point, together or neither: the new state is written aside, the
    ledger line appended, then the state put in place. An OSError before the ledger line is written leaves both
    as they were. Returns a warning when the line was written but the ledger's head record (state_dir) was not."""
    saved = state.load(STATE)
    saved[ack_key(ack.path)] = {**ack.mark, "at": ack.at, "by": ack.by, "reason": ack.reason}
    staged = state.stage(STATE, saved)
    warning = None
    try:
        ledger.append(report_dir / ledger.NAME, ledger_line(ack, service, config_path, config_sha256),
                      state_dir=state_dir)
    except ledger.HeadNotKept as exc:
        warning = str(exc)
    except BaseException:
        staged.discard()
        raise
    staged.commit()
    return warning


def ledger_line(ack: Ack, service: str, config_path: str, config_sha256: str) -> dict[str, Any]:
    """The acknowledgement as a ledger line: chained like a run, marked kind "ack" (no cadence counts it)."""
    when = datetime.fromtimestamp(ack.at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"format": ledger.FORMAT, "kind": "ack", "run_id": f"ack-{uuid.uuid4().hex[:12]}", "service": service,
            "started": when, "ended": when, "selection": "", "hosts": ack.host, "operator": ack.by,
            "config": {"path": config_path, "sha256": config_sha256}, "outcome": {}, "failed": [], "files": [],
            "exit_status": 0, "verdict": None,
            "ack": {"what": "errorlog", "path": ack.path, "inode": ack.inode, "offset": ack.offset,
                    "reason": ack.reason}}


