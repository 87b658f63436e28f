"""Running an audit tool on the target: is it there, is the folder there, what JSON did it print."""
from __future__ import annotations

import json
import posixpath
from typing import Any

from ..hosts.target import Target, TargetError


class ToolError(Exception):
    """The tool cannot run or answered nothing usable: `reason`, and the `fix` a person applies."""

    def __init__(self, reason: str, fix: str = "") -> None:
        super().__init__(reason)
        self.reason, self.fix = reason, fix


def require(target: Target, program: str, fix: str) -> None:
    """ToolError unless `program` (a name on PATH or a path) can be run on the target."""
    try:
        found = target.run("command -v %s", program, check=False)
    except TargetError as exc:
        raise ToolError(str(exc), "make the target reachable") from exc
    if found.rc != 0 or not found.stdout.strip():
        raise ToolError(f"{program} is not installed on {target.name} (not found on PATH)", fix)


def require_dir(target: Target, directory: str, what: str) -> None:
    st = target.stat(directory)
    if st.exists and not st.is_file:
        return
    problem = "is a file, not a folder" if st.exists else "does not exist" + (f" ({st.error})" if st.error else "")
    raise ToolError(f"{what} {directory} {problem} on {target.name}",
                    "fix the path in maintenance.yaml (relative paths resolve against root)")


def require_file(target: Target, path: str, reason: str, fix: str) -> None:
    st = target.stat(path)
    if not (st.exists and st.is_file):
        raise ToolError(f"{reason}: no {posixpath.basename(path)} in {posixpath.dirname(path)}", fix)


def run_json(target: Target, command: str, *args: Any, ok: tuple[int, ...] = (0,)) -> tuple[Any, str, str]:
    """(parsed JSON on stdout, the command as run, stderr) — ToolError when it exits outside `ok` without JSON."""
    shown = command % tuple(str(a) for a in args)
    try:
        result = target.run(command, *args, check=False)
    except TargetError as exc:
        raise ToolError(str(exc), "raise command_timeout_s or find why the tool hangs (a registry that does "
                                  "not answer?)") from exc
    text = result.stdout.strip()
    try:
        data = json.loads(text) if text else None
    except json.JSONDecodeError:
        data = None
    if data is None and result.rc not in ok:
        raise ToolError(f"`{shown}` exited {result.rc}: {_tail(result.stderr or result.stdout)}")
    if data is None:
        raise ToolError(f"`{shown}` printed no JSON: {_tail(result.stderr or result.stdout) or '(nothing)'}")
    return data, shown, result.stderr


def _tail(text: str, limit: int = 400) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-4:])[-limit:]
