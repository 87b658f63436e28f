"""New error lines of a target's log, scanned where the log is: the caller's side of opsproof.logs.errorlog.

For the local host `scan_file` runs in this process; for a remote one opsproof.hosts.ship runs it on the
target's python3, so a 1 GiB log moves kilobytes over SSH (the code, the ErrorScan back), not the log.
The scan is bounded by the target's command timeout (command_timeout_s).
"""
from __future__ import annotations

from typing import Any, Optional

from ..hosts import ship
from ..hosts.target import Target, TargetError
from .errorlog import REFERENCE_KEYS, ErrorScan


def scan_errors(target: Target, path: str, pattern: str, previous: dict, keep_lines: int = 20) -> tuple[ErrorScan, dict]:
    """Scan for new lines matching `pattern`; returns the evidence and the new reference point (offset, inode and
    fingerprints: opsproof.logs.follow.mark)."""
    since = {key: previous[key] for key in REFERENCE_KEYS if previous.get(key) is not None}
    kwargs = {"path": path, "pattern": pattern, "previous": since, "keep_lines": keep_lines}
    try:
        scan = ship.call(target, "opsproof.logs.errorlog:scan_file", kwargs, target.timeout_s, ErrorScan)
    except TargetError as exc:
        return ErrorScan(path=path, pattern=pattern, error=f"cannot scan {path}: {exc}"), previous
    if scan.error is not None:
        return scan, previous
    return scan, dict(scan.resume)


def reference_at_end(target: Target, path: str) -> tuple[Optional[dict[str, Any]], Optional[str]]:
    """The reference point at the log's current end (an acknowledgement, a maintenance start), or why there is none."""
    try:
        mark = ship.call(target, "opsproof.logs.follow:mark_end", {"path": path}, target.timeout_s, dict)
    except TargetError as exc:
        return None, str(exc)
    if "error" in mark:
        return None, f"{mark['error']} on {target.name}"
    return mark, None
