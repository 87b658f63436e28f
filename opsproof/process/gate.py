"""Whether an action may change a target now, and why: the policy an action fixture asks before it acts.

Routine actions (rotate-logs, clean-temp, backup, restore-drill: config/base.py's ACTIONS less the disruptive)
run whenever --apply is given. Disruptive ones (update-dependencies, and every action listed in window.gate) run
only inside the maintenance window or with --ignore-window; with no window: section they refuse unless
--ignore-window. With --apply, the first action on a target takes its lock (hosts/lock.py), held to the end of
the run; another run's lock refuses the action at once, naming the holder. Without --apply nothing acts: a refusal
becomes a note of what --apply would meet. A refused action changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from ..hosts import lock as lockmod
from ..hosts.target import Target, TargetError
from ..report.run import utc
from .window import WindowError, describe_next, window_rule

DISRUPTIVE = ("update-dependencies",)
EMERGENCY = "--ignore-window --approved-by NAME --reason TEXT"


@dataclass
class GateDecision:
    """Why an action acted, planned or was refused: the evidence an auditor reads first."""

    action: str
    act: bool = False
    mode: str = "plan only (no --apply)"
    disruptive: bool = False
    window: str = ""
    lock: str = ""
    refused: Optional[str] = None
    notes: list[str] = field(default_factory=list)


def refusal(reason: str) -> str:
    """What a test whose action was refused fails with (nothing was changed)."""
    return f"action refused: {reason}"


def is_disruptive(name: str, window: Any) -> bool:
    """`window` is the config's window: section (None without one); its `gate` lists more disruptive actions."""
    return name in DISRUPTIVE or bool(window and name in window.gate)


def judge_window(decision: GateDecision, window: Any, ignore: bool, approval: Optional[dict[str, str]],
                 now: Optional[datetime] = None) -> GateDecision:
    """Fill in the decision's window part: routine, inside, outside (refused unless `ignore`), or no window."""
    name = decision.action
    decision.disruptive = is_disruptive(name, window)
    if not decision.disruptive:
        decision.window = "routine action: runs whenever --apply is given"
        return decision
    if window is None:
        decision.window = "disruptive, and the config has no window: section"
        if not ignore:
            decision.refused = (f"{name} is disruptive and maintenance.yaml has no window: section, so it never runs "
                                "by itself — add window: (an RRULE) or, for an approved emergency, pass "
                                f"{EMERGENCY}")
        return decision
    try:
        state = window_rule(window).state(now or datetime.now(timezone.utc))
    except WindowError as exc:
        decision.refused = f"{name}: the maintenance window cannot be computed: {exc}"
        return decision
    if state.inside:
        decision.window = f"inside the window {state.current_local} ({state.current_utc})"
        return decision
    decision.window = f"outside the window (now {state.now_utc}); {describe_next(state)}"
    if ignore:
        approval = approval or {}
        decision.notes.append(f"--ignore-window: runs outside the maintenance window, approved by "
                              f"{approval.get('by')}: {approval.get('reason')}")
    else:
        decision.refused = (f"{name} may run only inside the maintenance window ({window.rrule} at "
                            f"{window.start} {window.timezone}, window.gate); now is {state.now_utc}, "
                            f"outside it; {describe_next(state)}. Nothing was changed. For an approved emergency "
                            f"change pass {EMERGENCY}")
    return decision


def take_lock(decision: GateDecision, target: Target, path: str, holder: Callable[[], lockmod.Holder],
              locks: dict[str, dict[str, Any]]) -> GateDecision:
    """Take the target's action lock at `path` once per run (`locks`: this run's, by target name), or refuse."""
    if target.name in locks:
        decision.lock = locks[target.name]["text"]
        return decision
    held = lockmod.TargetLock(target, path)
    me = holder()
    try:
        created = held.acquire(me)
    except lockmod.LockHeld as exc:
        decision.refused = f"{decision.action} refused on {target.name}: {exc}"
        decision.lock = str(exc)
        return decision
    except TargetError as exc:
        decision.refused = f"{decision.action} refused: cannot take the action lock {path}: {exc}"
        return decision
    text = f"{path} taken by this run ({me.describe()})" if created else f"{path} held by this run"
    if held.replaced:
        text += f"; it replaced a stale lock of {held.replaced.describe()}, whose process is gone"
    locks[target.name] = {"lock": held if created else None, "text": text}
    decision.lock = text
    return decision


def release(locks: dict[str, dict[str, Any]]) -> None:
    """Release the locks this process took (never another run's)."""
    for entry in locks.values():
        if entry["lock"] is not None:
            entry["lock"].release()


class RunLocks:
    """The action locks one run holds, by target name: each taken at the target's first action (at `work_dir`/lock
    on it, naming the run as its holder) and held to the end of the run."""

    def __init__(self) -> None:
        self.held: dict[str, dict[str, Any]] = {}

    def take(self, decision: GateDecision, target: Target, work_dir: str, run: Any) -> GateDecision:
        """`run`: the report.run.RunRecord of this run (its id, start, operator and selection name the holder)."""
        holder = lambda: lockmod.me(run.run_id, utc(run.started), run.operator, run.selection)  # noqa: E731
        return take_lock(decision, target, f"{work_dir}/lock", holder, self.held)

    def release(self) -> None:
        release(self.held)


def decide(name: str, apply: bool, window: Any, ignore: bool, approval: Optional[dict[str, str]],
           lock: Callable[[GateDecision], Any], now: Optional[datetime] = None) -> GateDecision:
    """Whether action `name` may act now: without `apply` it plans (a refusal it would meet becomes a note); with
    it, the window decides, then `lock(decision)` (take_lock for the target) may still refuse."""
    decision = GateDecision(action=name)
    if apply:
        decision.mode = "apply (--apply)"
    judge_window(decision, window, ignore, approval, now)
    if not apply:
        if decision.refused:
            decision.notes.append("with --apply now it would be refused: " + decision.refused)
            decision.refused = None
        return decision
    if decision.refused is None:
        lock(decision)
    decision.act = decision.refused is None
    return decision
