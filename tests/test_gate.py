"""The action gate's policy (opsproof/process/gate.py), without pytest: routine or disruptive, the window, the lock."""
from __future__ import annotations

from datetime import datetime, timezone

import testinfra

from opsproof.config import ACTIONS, Maint
from opsproof.hosts import lock as lockmod
from opsproof.hosts.target import Target
from opsproof.process import gate

WINDOW = {"rrule": "FREQ=WEEKLY;BYDAY=SU", "start": "02:00", "duration": "2h", "timezone": "UTC",
          "gate": ["backup"]}
SUNDAY_3AM = datetime(2026, 1, 4, 3, 0, tzinfo=timezone.utc)     # inside the window
MONDAY_NOON = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)   # outside it


def _window(**changes):
    return Maint.model_validate({"service": "s", "window": {**WINDOW, **changes}}).window


def _decide(name, apply=True, window=None, ignore=False, now=MONDAY_NOON, locked=None):
    taken = []
    decision = gate.decide(name, apply, window, ignore, {"by": "cto", "reason": "outage"},
                           locked or (lambda d: taken.append(d.action)), now)
    return decision, taken


def test_routine_actions_run_with_apply_whatever_the_window():
    assert set(gate.DISRUPTIVE) < set(ACTIONS)
    for name in set(ACTIONS) - set(gate.DISRUPTIVE):
        decision, taken = _decide(name)
        assert decision.act and not decision.disruptive and taken == [name], decision
        assert decision.window == "routine action: runs whenever --apply is given"


def test_without_apply_nothing_acts_and_a_refusal_becomes_a_note():
    decision, taken = _decide("update-dependencies", apply=False)
    assert not decision.act and decision.refused is None and taken == []
    assert decision.mode == "plan only (no --apply)"
    assert decision.notes[0].startswith("with --apply now it would be refused: update-dependencies is disruptive")


def test_a_disruptive_action_without_a_window_section_is_refused_unless_ignored():
    decision, taken = _decide("update-dependencies")
    assert not decision.act and taken == [] and "has no window: section" in decision.refused
    assert "--ignore-window --approved-by NAME --reason TEXT" in decision.refused
    assert _decide("update-dependencies", ignore=True)[0].act


def test_window_gate_makes_an_action_disruptive_inside_only():
    inside, _ = _decide("backup", window=_window(), now=SUNDAY_3AM)
    assert inside.act and inside.disruptive and inside.window.startswith("inside the window")
    outside, taken = _decide("backup", window=_window())
    assert not outside.act and taken == []
    assert "may run only inside the maintenance window (FREQ=WEEKLY;BYDAY=SU at 02:00 UTC" in outside.refused
    assert "Nothing was changed" in outside.refused
    ignored, _ = _decide("backup", window=_window(), ignore=True)
    assert ignored.act and ignored.notes == ["--ignore-window: runs outside the maintenance window, approved by cto: "
                                             "outage"]


def test_the_lock_is_taken_once_per_target_and_another_runs_lock_refuses(tmp_path):
    target = Target(testinfra.get_host("local://"), 10)
    path, locks = str(tmp_path / "lock"), {}
    me = lambda: lockmod.me("run-1", "2026-01-04T03:00:00Z")  # noqa: E731
    first = gate.take_lock(gate.GateDecision("backup"), target, path, me, locks)
    assert first.refused is None and first.lock.startswith(f"{path} taken by this run")
    again = gate.take_lock(gate.GateDecision("rotate-logs"), target, path, me, locks)
    assert again.lock == first.lock
    other = gate.take_lock(gate.GateDecision("backup"), target, path,
                           lambda: lockmod.me("run-2", "2026-01-04T03:00:00Z"), {})
    assert other.refused is not None and other.refused.startswith(f"backup refused on {target.name}: ")
    gate.release(locks)
    assert not (tmp_path / "lock").exists()


def test_a_refused_action_fails_its_tests_with_the_reason():
    assert gate.refusal("backup refused on local: held by run-2") == "action refused: backup refused on local: held by run-2"


def test_a_runs_locks_sit_in_the_work_dir_name_the_run_and_are_released_at_its_end(tmp_path):
    from types import SimpleNamespace

    target = Target(testinfra.get_host("local://"), 10)
    run = SimpleNamespace(run_id="run-7", started=SUNDAY_3AM, operator="ops", selection="daily")
    locks = gate.RunLocks()
    decision = locks.take(gate.GateDecision("backup"), target, str(tmp_path), run)
    assert decision.refused is None and decision.lock.startswith(f"{tmp_path}/lock taken by this run")
    assert "run-7" in (tmp_path / "lock").read_text() and "ops" in (tmp_path / "lock").read_text()
    assert locks.take(gate.GateDecision("rotate-logs"), target, str(tmp_path), run).lock == decision.lock
    locks.release()
    assert not (tmp_path / "lock").exists()
