"""The verdict and the coverage table: which of the guide's tasks each run checked, and whether all passed.

`TASKS` is the maintenance guide's schedule and checklists as data: for each cadence or checklist marker,
its tasks, each with the checks (test function names in checks/) that cover it; a task no check covers yet
is listed with none and reads "not built". `build` takes the run's marker expression and its per-check
results and returns the rows and the verdict:

- `failed` when any check failed or errored (whether or not it covers a task);
- else `incomplete` when a task of a selected cadence is not checked: its section is not configured, its checks
  were skipped or deselected, an action it names was only planned, or it is not built;
- else `passed`, its text saying "PASSED with N waived failures and M warnings" when there are any (and how many
  tasks did not apply).

A check whose failure a waiver in force covers is `waived` (opsproof/config/judgement.py): its task's row says
`waived` with the waiver, never `passed`; the run's verdict stays `passed` (an approver accepted the failure
until a date), and its text names each waived check and each warning — never a silent pass.

A row's outcome is one of OUTCOMES. A skipped check is not a checked one, whatever the reason. A task counts as
checked when at least one of its checks passed and none of them was skipped because the run only planned (no
--apply): an action the task names (take the backup, restore it) that was planned, not done, leaves the task
"not checked" whatever its checks of the state on disk said. The row's `why` names the checks of it that were
skipped and why. A check skipped with a reason that starts with NOT_APPLICABLE ("not applicable: the service is
not user-facing ...") says the task does not apply to this service: a task whose checks all say so reads
"not applicable" and does not make the run incomplete.

A check may add a line to its task's row (what was there to check, e.g. "backups: 1 archive kept,
backups.keep = 14") by recording `{"note": "..."}` with the label `NOTE`. Pure: plain values in and out.
"""
from __future__ import annotations

import html
import re
from typing import Any, Iterable, Mapping

from .cadence import selects

NOTE = "coverage note"
VERDICTS = ("passed", "failed", "incomplete")
OUTCOMES = ("passed", "failed", "waived", "not checked", "not applicable", "not run", "not built")
CHECKED = ("passed", "waived", "not applicable")   # the row outcomes that leave a run complete
NOT_APPLICABLE = "not applicable"                  # a skip reason starting so: the task does not apply here

# The guide's tasks per cadence (its schedule, routine tasks and checklists) and the checks that cover each.
TASKS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "daily": [
        ("Log rotation", ("test_rotation_ran_cleanly", "test_active_logs_under_max_size",
                          "test_rotated_files_within_keep", "test_rotated_files_compressed")),
        ("Temporary file cleanup", ("test_temp_cleanup_ran", "test_no_stale_temp_files")),
        ("Database daily backup", ("test_backup_taken", "test_backup_retention", "test_backup_exists",
                                   "test_newest_backup_is_fresh", "test_newest_backup_is_not_trivial",
                                   "test_newest_archive_is_intact")),
        ("Disk space check", ("test_disk_space", "test_disk_inodes")),
        ("Review error logs", ("test_no_new_errors",)),
    ],
    "weekly": [
        ("Full backup verification", ("test_kept_archive_is_intact",)),
        ("Security scan", ("test_npm_audit", "test_pip_audit")),
        ("Performance report", ("test_performance_report",)),
        ("Dependency updates check", ("test_npm_outdated", "test_pip_outdated")),
        ("Review SLO status", ("test_objective_met",)),
    ],
    "monthly": [
        ("DR drill execution", ("test_newest_backup_restores", "test_rpo")),
        ("Documentation review", ("test_docs_reviewed",)),
        ("Configuration audit", ("test_config_matches_baseline", "test_config_permissions")),
        ("Team training update", ("test_task_attested_within_period", "test_attestation_records_valid")),
        ("Update dependencies", ("test_update_dependencies",)),
        ("Capacity report", ("test_capacity_forecast",)),
    ],
    "quarterly": [
        ("Full DR test", ("test_kept_backup_restores", "test_rpo")),
        ("Capacity planning review", ("test_capacity_forecast",)),
        ("Security audit", ("test_tls_certificate", "test_no_unexpected_ports")),
        ("SLO review and adjustment", ("test_slo_review",)),
    ],
    "premaintenance": [
        ("Maintenance window scheduled", ("test_window_scheduled",)),
        ("Team notified", ("test_team_notified",)),
        ("Users notified (if user-facing)", ("test_users_notified",)),
        ("Backup created", ("test_backup_created_before_maintenance", "test_backup_exists",
                            "test_newest_backup_is_not_trivial", "test_newest_archive_is_intact")),
        ("Rollback plan ready", ("test_rollback_plan_ready",)),
        ("Monitoring active", ("test_monitoring_active",)),
    ],
    "postmaintenance": [
        ("All services running", ("test_process_running", "test_port_listening")),
        ("Health checks pass", ("test_endpoint_healthy",)),
        ("SLOs met", ("test_objective_met",)),
        ("No errors in logs", ("test_no_errors_since_maintenance_started", "test_no_new_errors")),
        ("Team notified of completion", ("test_team_notified_of_completion",)),
        ("Documentation updated", ("test_docs_updated_since_start",)),
    ],
    "postdeploy": [
        ("Health endpoints pass", ("test_endpoint_healthy",)),
        ("Services running", ("test_process_running", "test_port_listening")),
        ("No errors logged since the deploy", ("test_no_new_errors",)),
        ("SLO burn rate", ("test_no_fast_burn",)),
    ],
}
CADENCES = tuple(TASKS)
_PLAN = "plan only (no --apply)"


def check_name(test_id: str) -> str:
    """`checks/test_disk.py::test_disk_space[/-local]` -> `test_disk_space`."""
    return test_id.split("::")[-1].split("[", 1)[0]


def selected(expression: str, tests: Iterable[Mapping[str, Any]] = ()) -> list[str]:
    """The cadences a run selected: those its -m expression selects on their own (all without -m). When it
    selects none of them alone (`-m "daily and postmaintenance"`), the cadences its checks carry."""
    chosen = [c for c in CADENCES if selects(expression, c)]
    if chosen:
        return chosen
    carried = {m for t in tests for m in t.get("markers") or ()}
    return [c for c in CADENCES if c in carried]


def _reason(test: Mapping[str, Any]) -> str:
    text = (test.get("message") or "").strip()
    if text.startswith(_PLAN):
        return _PLAN
    lines = text.splitlines()
    return (lines[-1] if test.get("outcome") in ("failed", "error") and lines else lines[0] if lines else "")[:200]


def _notes(tests: Iterable[Mapping[str, Any]]) -> list[str]:
    found: list[str] = []
    for test in tests:
        for record in test.get("evidence") or ():
            note = record.get("data", {}).get("note") if record.get("label") == NOTE else None
            if isinstance(note, str) and note not in found:
                found.append(note)
    return found


def _row(cadence: str, task: str, checks: tuple[str, ...], tests: list[Mapping[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] = {"cadence": cadence, "task": task, "checks": list(checks)}
    if not checks:
        return {**row, "outcome": "not built", "why": "not built: no check covers this task yet"}
    if not tests:
        return {**row, "outcome": "not run", "why": "not run: its checks were deselected (-m/-k)"}
    bad = [t for t in tests if t["outcome"] in ("failed", "error")]
    waived = [t for t in tests if t["outcome"] == "waived"]
    passed = [t for t in tests if t["outcome"] == "passed"]
    skipped = [t for t in tests if t["outcome"] == "skipped"]
    planned = [t for t in skipped if _reason(t) == _PLAN]
    reasons = list(dict.fromkeys(f"{check_name(t['id'])}: {_reason(t)}" for t in skipped))
    notes = _notes(tests)
    if bad:
        outcome = "failed"
        parts = [f"{t['id']} {t['outcome']}: {_reason(t)}" for t in bad]
    elif planned:
        outcome = "not checked"
        parts = list(dict.fromkeys(f"not checked: {check_name(t['id'])}: {_PLAN}" for t in planned)) + \
            [f"{len(passed)} passed"] * bool(passed)
    elif waived:
        outcome = "waived"
        parts = [f"{t['id']} {t.get('waiver', 'waived')}" for t in waived] + [f"{len(passed)} passed"] * bool(passed)
    elif passed:
        outcome = "passed"
        parts = [f"{len(passed)} passed"] + [f"skipped {r}" for r in reasons]
    elif all(_reason(t).startswith(NOT_APPLICABLE) for t in skipped):
        outcome = NOT_APPLICABLE
        parts = list(dict.fromkeys(_reason(t) for t in skipped))
    else:
        outcome = "not checked"
        parts = [f"not checked: {r}" for r in reasons]
    warnings = [f"warning: {w}" for t in tests for w in t.get("warnings") or ()]
    return {**row, "outcome": outcome, "why": "; ".join(parts + warnings + notes)}


def build(expression: str, tests: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """`{"verdict", "text", "coverage"}` for a run: its -m expression and its checks' results (each with `id`,
    `outcome` passed/failed/error/skipped, and optionally `message`, `markers`, `evidence`)."""
    tests = list(tests)
    by_check: dict[str, list[Mapping[str, Any]]] = {}
    for test in tests:
        by_check.setdefault(check_name(test["id"]), []).append(test)
    rows = [_row(cadence, task, checks, [t for c in checks for t in by_check.get(c, [])])
            for cadence in selected(expression, tests) for task, checks in TASKS[cadence]]
    failed = [t["id"] for t in tests if t["outcome"] in ("failed", "error")]
    unchecked = [r for r in rows if r["outcome"] not in CHECKED]
    inapplicable = [f"{r['cadence']} {r['task']}" for r in rows if r["outcome"] == NOT_APPLICABLE]
    aside = f" ({len(inapplicable)} not applicable: {'; '.join(inapplicable)})" if inapplicable else ""
    waived = [f"{t['id']} {t.get('waiver', 'waived')}" for t in tests if t["outcome"] == "waived"]
    warnings = [f"{t['id']}: {w}" for t in tests for w in t.get("warnings") or ()]
    also = " and ".join(x for x in (_count(len(waived), "waived failure") * bool(waived),
                                    _count(len(warnings), "warning") * bool(warnings)) if x)
    accepted = "; ".join(waived + [f"warning {w}" for w in warnings])
    tail = f"; and {also}: {accepted}" if also else ""
    if failed:
        verdict = "failed"
        text = f"FAILED — {_count(len(failed), 'check')} failed: {', '.join(failed)}" + tail
    elif unchecked or not tests:
        verdict = "incomplete"
        listed = "; ".join(f"{r['cadence']} {r['task']} ({r['why']})" for r in unchecked) or "no check ran"
        text = f"INCOMPLETE — {_count(len(unchecked), 'task')} not checked: {listed}" + tail
    elif also:
        verdict = "passed"
        text = (f"PASSED with {also} — every task of the selected cadences was checked and passed or waived"
                f"{aside}: {accepted}")
    else:
        verdict = "passed"
        text = f"PASSED — every task of the selected cadences was checked and passed{aside}"
    return {"verdict": verdict, "text": text, "coverage": rows}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def verdict_html(result: Mapping[str, Any]) -> str:
    """The verdict as the report's first element: `<div class="opsproof-verdict" data-verdict="...">`."""
    verdict = result["verdict"]
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is not one of {VERDICTS}")
    head, _, rest = result["text"].partition(" — ")
    return (f'<div class="opsproof-verdict" data-verdict="{verdict}"><strong>{html.escape(head)}</strong>'
            f'{" — " + html.escape(rest) if rest else ""}</div>')


def coverage_html(rows: Iterable[Mapping[str, Any]]) -> str:
    """The coverage table: one row per task of the selected cadences, its checks, outcome and why."""
    body = "".join(
        f'<tr class="opsproof-coverage-{_slug(r["outcome"])}"><td>{html.escape(r["cadence"])}</td>'
        f'<td>{html.escape(r["task"])}</td><td>{html.escape(", ".join(r["checks"]) or "—")}</td>'
        f'<td>{html.escape(r["outcome"])}</td><td>{html.escape(r["why"])}</td></tr>' for r in rows)
    return ('<table class="opsproof-coverage"><thead><tr><th>Cadence</th><th>Task (maintenance guide)</th>'
            f'<th>Checks</th><th>Outcome</th><th>Why</th></tr></thead><tbody>{body}</tbody></table>')


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def note(text: str) -> dict[str, str]:
    """A coverage note a check records with the label NOTE (`evidence.record(note("..."), NOTE)`)."""
    return {"note": text}

