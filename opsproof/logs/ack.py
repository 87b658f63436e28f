"""`opsproof ack errorlog`: acknowledge the error lines a failing check keeps counting, so it counts past them.

A failing error-log check keeps failing, run after run, on the same lines until someone says they were read:
the acknowledgement moves every selection's reference point to the end of the log as it is now, and records
who, when and why in the state (beside the offsets) and as a line of the ledger.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from ..hosts.state import StateStore
from ..hosts.target import Target, TargetError
from ..report import ledger

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
        return {"inode": ack["inode"], "offset": ack["offset"], "at": ack["at"], "acknowledged": True}
    return own


@dataclass
class Ack:
    path: str
    host: str
    by: str
    reason: str
    at: float
    inode: Optional[int] = None
    offset: int = 0
    error: Optional[str] = None


def acknowledge(target: Target, state: StateStore, path: str, by: str, reason: str) -> Ack:
    """Move the reference point of every selection to the log's current end; the record says who and why."""
    ack = Ack(path, target.name, by, reason, time.time())
    try:
        st = target.stat(path)
    except TargetError as exc:
        ack.error = str(exc)
        return ack
    if not st.exists:
        ack.error = f"{path} does not exist on {target.name}: {st.error or 'no such file'}"
        return ack
    ack.inode, ack.offset = st.inode, st.size or 0
    saved = state.load(STATE)
    saved[ack_key(path)] = {"inode": ack.inode, "offset": ack.offset, "at": ack.at, "by": by, "reason": reason}
    state.save(STATE, saved)
    return ack


def ledger_line(ack: Ack, service: str, config_path: str, config_sha256: str) -> dict[str, Any]:
    """The acknowledgement as a ledger line: chained like a run, marked kind "ack" (no cadence counts it)."""
    when = datetime.fromtimestamp(ack.at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"format": ledger.FORMAT, "kind": "ack", "run_id": f"ack-{uuid.uuid4().hex[:12]}", "service": service,
            "started": when, "ended": when, "selection": "", "hosts": ack.host, "operator": ack.by,
            "config": {"path": config_path, "sha256": config_sha256}, "outcome": {}, "failed": [], "files": [],
            "exit_status": 0, "verdict": None,
            "ack": {"what": "errorlog", "path": ack.path, "inode": ack.inode, "offset": ack.offset,
                    "reason": ack.reason}}


def record(ack: Ack, report_dir: Path, service: str, config_path: str, config_sha256: str) -> None:
    ledger.append(report_dir / ledger.NAME, ledger_line(ack, service, config_path, config_sha256))
