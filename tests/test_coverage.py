"""The verdict and the coverage table, built from plain results (opsproof/report/coverage.py)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from opsproof.report import coverage

CHECKS = Path(__file__).resolve().parents[1] / "checks"


def t(check: str, outcome: str = "passed", message: str = "", params: str = "local", **extra) -> dict:
    return {"id": f"checks/test_x.py::{check}[{params}]", "outcome": outcome, "message": message, **extra}


def every_check(passing: str = "passed") -> list[dict]:
    names = {c for tasks in coverage.TASKS.values() for _, checks in tasks for c in checks}
    return [t(name, passing) for name in sorted(names)]


def rows_by_task(result: dict) -> dict[tuple[str, str], dict]:
    return {(r["cadence"], r["task"]): r for r in result["coverage"]}


def _markers_of_checks() -> dict[str, set[str]]:
    """Each check function in checks/ with its cadence markers (module pytestmark and decorators), read from source."""
    found: dict[str, set[str]] = {}

    def names(node: ast.AST) -> set[str]:
        return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute) and n.attr in coverage.CADENCES}

    for path in CHECKS.glob("test_*.py"):
        tree = ast.parse(path.read_text())
        module = set()
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
                module |= names(node.value)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found[node.name] = module | set().union(*(names(d) for d in node.decorator_list))
    return found


def test_every_check_a_task_names_exists_in_checks_and_carries_that_cadence():
    markers = _markers_of_checks()
    for cadence, tasks in coverage.TASKS.items():
        for task, checks in tasks:
            for check in checks:
                assert check in markers, f"{cadence} {task}: no {check} in checks/"
                assert cadence in markers[check], f"{cadence} {task}: {check} carries {markers[check]}"


def test_all_checks_passed_is_a_passed_verdict_with_every_built_task_passed():
    result = coverage.build("daily", every_check())
    assert result["verdict"] == "passed"
    assert result["text"] == "PASSED — every task of the selected cadences was checked and passed"
    assert {r["cadence"] for r in result["coverage"]} == {"daily"}
    assert [r["task"] for r in result["coverage"]] == [task for task, _ in coverage.TASKS["daily"]]


def test_one_failed_check_fails_the_verdict_and_is_named_even_outside_any_task():
    tests = every_check() + [t("test_overdue_cadence", "failed", "monthly last passed 45 days ago")]
    tests[0] = {**tests[0], "outcome": "error", "message": "Traceback\nRuntimeError: probe died"}
    result = coverage.build("daily", tests)
    assert result["verdict"] == "failed"
    assert result["text"].startswith("FAILED — 2 checks failed: ")
    assert "test_overdue_cadence" in result["text"] and tests[0]["id"] in result["text"]


def test_a_failing_check_marks_its_task_failed_with_the_last_line_of_its_message():
    tests = [x for x in every_check() if not x["id"].endswith("test_disk_inodes[local]")]
    tests.append(t("test_disk_inodes", "failed", "assert False\ninodes 95% used; disk.max_inodes_used_percent allows <= 90"))
    row = rows_by_task(coverage.build("daily", tests))[("daily", "Disk space check")]
    assert row["outcome"] == "failed" and row["why"].endswith("allows <= 90")


def test_a_task_with_only_skipped_checks_makes_it_incomplete_saying_why():
    tests = [x for x in every_check() if "npm_audit" not in x["id"] and "pip_audit" not in x["id"]]
    tests += [t("test_npm_audit", "skipped", "no security section in maintenance.yaml"),
              t("test_pip_audit", "skipped", "no security section in maintenance.yaml")]
    result = coverage.build("weekly", tests)
    assert result["verdict"] == "incomplete"
    row = rows_by_task(result)[("weekly", "Security scan")]
    assert row["outcome"] == "not checked"
    assert row["why"] == ("not checked: test_npm_audit: no security section in maintenance.yaml; "
                          "not checked: test_pip_audit: no security section in maintenance.yaml")
    assert result["text"].startswith("INCOMPLETE — 1 task not checked: weekly Security scan (")


def test_plan_only_is_not_checked_and_its_long_plan_is_shortened():
    tests = [x for x in every_check() if "restores" not in x["id"] and "test_rpo" not in x["id"]]
    plan = "plan only (no --apply): would restore /srv/backups/a.tar.gz into a temporary SQLite file"
    tests += [t("test_newest_backup_restores", "skipped", plan), t("test_rpo", "skipped", plan)]
    result = coverage.build("monthly", tests)
    row = rows_by_task(result)[("monthly", "DR drill execution")]
    assert result["verdict"] == "incomplete" and row["outcome"] == "not checked"
    assert row["why"] == ("not checked: test_newest_backup_restores: plan only (no --apply); "
                          "not checked: test_rpo: plan only (no --apply)")


def test_a_task_with_one_passed_check_is_checked_and_names_its_skipped_ones():
    tests = [x for x in every_check() if "test_rotated_files_compressed" not in x["id"]]
    tests.append(t("test_rotated_files_compressed", "skipped", "logs.rotate.compress is false"))
    result = coverage.build("daily", tests)
    row = rows_by_task(result)[("daily", "Log rotation")]
    assert result["verdict"] == "passed" and row["outcome"] == "passed"
    assert row["why"] == "3 passed; skipped test_rotated_files_compressed: logs.rotate.compress is false"


def test_an_action_only_planned_leaves_its_task_not_checked_whatever_its_other_checks_say():
    # Issue 20 #10: the healthy daily report said "Database daily backup: passed" while test_backup_taken was
    # skipped (plan only): the backup the task names was not taken, so the task is not checked.
    tests = [x for x in every_check() if "test_backup_taken" not in x["id"] and "test_backup_retention" not in x["id"]]
    tests += [t("test_backup_taken", "skipped", "plan only (no --apply): would dump sqlite ..."),
              t("test_backup_retention", "skipped", "plan only (no --apply): would dump sqlite ...")]
    result = coverage.build("daily", tests)
    row = rows_by_task(result)[("daily", "Database daily backup")]
    assert row["outcome"] == "not checked", row
    assert row["why"] == ("not checked: test_backup_taken: plan only (no --apply); "
                          "not checked: test_backup_retention: plan only (no --apply); 4 passed")
    assert result["verdict"] == "incomplete"
    assert result["text"] == ("INCOMPLETE — 1 task not checked: daily Database daily backup (" + row["why"] + ")")


def test_a_task_that_does_not_apply_reads_not_applicable_and_leaves_the_run_passed():
    why = f"{coverage.NOT_APPLICABLE}: the service is not user-facing (user_facing is not true in maintenance.yaml)"
    tests = [x for x in every_check() if "test_users_notified" not in x["id"]]
    tests.append(t("test_users_notified", "skipped", why))
    result = coverage.build("premaintenance", tests)
    row = rows_by_task(result)[("premaintenance", "Users notified (if user-facing)")]
    assert row["outcome"] == "not applicable" and row["why"] == why, row
    assert result["verdict"] == "passed"
    assert result["text"] == ("PASSED — every task of the selected cadences was checked and passed "
                              "(1 not applicable: premaintenance Users notified (if user-facing))")
    assert 'class="opsproof-coverage-not-applicable"' in coverage.coverage_html(result["coverage"])
    # Skipped for another reason (user_facing: true without a users' hook), it is a task not checked.
    tests[-1] = t("test_users_notified", "skipped", "user_facing: true, but maintenance.yaml has no notify.users")
    result = coverage.build("premaintenance", tests)
    assert rows_by_task(result)[("premaintenance", "Users notified (if user-facing)")]["outcome"] == "not checked"
    assert result["verdict"] == "incomplete"


def test_tasks_no_check_covers_are_not_built_and_leave_the_run_incomplete(monkeypatch):
    # Every task of the guide has a check now; a task added without one reads "not built".
    monkeypatch.setitem(coverage.TASKS, "premaintenance", [*coverage.TASKS["premaintenance"], ("Change approved", ())])
    result = coverage.build("premaintenance", every_check())
    row = rows_by_task(result)[("premaintenance", "Change approved")]
    assert row == {"cadence": "premaintenance", "task": "Change approved", "checks": [],
                   "outcome": "not built", "why": "not built: no check covers this task yet"}
    assert result["verdict"] == "incomplete"
    assert result["text"] == ("INCOMPLETE — 1 task not checked: premaintenance Change approved "
                              "(not built: no check covers this task yet)")


def test_deselected_checks_are_not_run():
    result = coverage.build("daily", [t("test_disk_space")])
    row = rows_by_task(result)[("daily", "Log rotation")]
    assert row["outcome"] == "not run" and "deselected" in row["why"]
    assert result["verdict"] == "incomplete"


@pytest.mark.parametrize("expression, cadences", [
    ("", list(coverage.CADENCES)),
    ("daily", ["daily"]),
    ("weekly or quarterly", ["weekly", "quarterly"]),
    ("not daily", [c for c in coverage.CADENCES if c != "daily"]),
    ("daily and not weekly", ["daily"]),
])
def test_selected_cadences_are_those_the_expression_selects_alone(expression, cadences):
    assert coverage.selected(expression) == cadences


def test_an_expression_that_selects_no_cadence_alone_falls_back_to_the_cadences_its_checks_carry():
    tests = [t("test_disk_space", markers=["daily", "postmaintenance"])]
    assert coverage.selected("daily and postmaintenance", tests) == ["daily", "postmaintenance"]


def test_a_coverage_note_joins_its_task_row_once():
    record = {"label": coverage.NOTE, "data": coverage.note("backups: 1 archive kept, backups.keep = 14")}
    tests = [x for x in every_check() if "kept_archive" not in x["id"]]
    tests += [t("test_kept_archive_is_intact", params="a.tar.gz-local", evidence=[record]),
              t("test_kept_archive_is_intact", params="b.tar.gz-local", evidence=[record])]
    row = rows_by_task(coverage.build("weekly", tests))[("weekly", "Full backup verification")]
    assert row["why"] == "2 passed; backups: 1 archive kept, backups.keep = 14"


def test_html_opens_with_the_verdict_div_and_escapes_the_table():
    tests = every_check()
    tests[0] = {**tests[0], "outcome": "failed", "message": "<script>x</script>"}
    result = coverage.build("daily", tests)
    div = coverage.verdict_html(result)
    assert div.startswith('<div class="opsproof-verdict" data-verdict="failed"><strong>FAILED</strong> — 1 check')
    table = coverage.coverage_html(result["coverage"])
    assert table.startswith('<table class="opsproof-coverage">') and "<script>" not in table
    with pytest.raises(ValueError):
        coverage.verdict_html({"verdict": "green", "text": "x"})


def test_waived_failures_and_warnings_are_named_in_their_rows_and_the_verdict():
    tests = [x for x in every_check() if not any(c in x["id"] for c in ("test_disk_", "test_temp_cleanup_ran"))]
    tests += [t("test_disk_inodes", "waived", "inodes 95%", waiver="waived until 2026-12-31 by ops: new disk ordered"),
              t("test_disk_space", "passed", warnings=["disk 84% used, close to 85"]),
              t("test_temp_cleanup_ran", "waived", "boom")]                         # no waiver text: "waived"
    result = coverage.build("daily", tests)
    rows = rows_by_task(result)
    inodes, temp = "checks/test_x.py::test_disk_inodes[local]", "checks/test_x.py::test_temp_cleanup_ran[local]"
    assert (rows[("daily", "Disk space check")]["outcome"], rows[("daily", "Disk space check")]["why"]) == (
        "waived", f"{inodes} waived until 2026-12-31 by ops: new disk ordered; 1 passed; "
                  "warning: disk 84% used, close to 85")
    assert (rows[("daily", "Temporary file cleanup")]["outcome"], rows[("daily", "Temporary file cleanup")]["why"]) == (
        "waived", f"{temp} waived; 1 passed")
    assert result["verdict"] == "passed"
    assert result["text"] == (
        "PASSED with 2 waived failures and 1 warning — every task of the selected cadences was checked and passed "
        f"or waived: {inodes} waived until 2026-12-31 by ops: new disk ordered; {temp} waived; "
        "warning checks/test_x.py::test_disk_space[local]: disk 84% used, close to 85")


def test_a_waived_task_alone_and_a_warning_alone_are_counted_in_the_singular():
    tests = [x for x in every_check() if "test_no_new_errors" not in x["id"]]
    tests.append(t("test_no_new_errors", "waived", "3 errors", waiver="waived by ops"))
    result = coverage.build("daily", tests)
    row = rows_by_task(result)[("daily", "Review error logs")]
    assert (row["outcome"], row["why"]) == ("waived", "checks/test_x.py::test_no_new_errors[local] waived by ops")
    assert result["text"].startswith("PASSED with 1 waived failure — ")
    tests[-1] = t("test_no_new_errors", warnings=["the log grew 2 GiB"])
    assert coverage.build("daily", tests)["text"] == (
        "PASSED with 1 warning — every task of the selected cadences was checked and passed or waived: "
        "warning checks/test_x.py::test_no_new_errors[local]: the log grew 2 GiB")


def test_a_failed_run_also_names_its_waived_failures():
    tests = [x for x in every_check() if "test_disk_" not in x["id"]]
    tests += [t("test_disk_space", "failed", "disk 97% used"), t("test_disk_inodes", "waived", waiver="waived by ops")]
    assert coverage.build("daily", tests)["text"] == (
        "FAILED — 1 check failed: checks/test_x.py::test_disk_space[local]; and 1 waived failure: "
        "checks/test_x.py::test_disk_inodes[local] waived by ops")


def test_every_failed_check_and_every_unchecked_task_is_listed():
    tests = [x for x in every_check() if "test_disk_" not in x["id"]]
    tests += [t("test_disk_space", "failed", "a"), t("test_disk_inodes", "error", "Traceback\nOSError: df died")]
    result = coverage.build("daily", tests)
    assert result["text"] == ("FAILED — 2 checks failed: checks/test_x.py::test_disk_space[local], "
                              "checks/test_x.py::test_disk_inodes[local]")
    row = rows_by_task(result)[("daily", "Disk space check")]
    assert (row["outcome"], row["why"]) == ("failed", "checks/test_x.py::test_disk_space[local] failed: a; "
                                                      "checks/test_x.py::test_disk_inodes[local] error: OSError: df died")
    result = coverage.build("daily", [t("test_disk_space")])
    assert result["text"].startswith("INCOMPLETE — 4 tasks not checked: daily Log rotation (not run: its checks were "
                                     "deselected (-m/-k)); daily Temporary file cleanup (not run: ")


def test_a_run_that_selected_nothing_says_no_check_ran():
    assert coverage.build("smoke", []) == {"verdict": "incomplete", "coverage": [],
                                           "text": "INCOMPLETE — 0 tasks not checked: no check ran"}


def test_the_cadences_a_run_falls_back_to_are_those_its_checks_carry():
    result = coverage.build("daily and postmaintenance", [t("test_disk_space", markers=["daily", "postmaintenance"])])
    assert {r["cadence"] for r in result["coverage"]} == {"daily", "postmaintenance"}


def test_several_tasks_that_do_not_apply_are_each_named():
    why = f"{coverage.NOT_APPLICABLE}: the service is not user-facing"
    tests = [x for x in every_check() if "test_users_notified" not in x["id"] and "test_rollback" not in x["id"]]
    tests += [t("test_users_notified", "skipped", why), t("test_rollback_plan_ready", "skipped", why)]
    assert coverage.build("premaintenance", tests)["text"] == (
        "PASSED — every task of the selected cadences was checked and passed (2 not applicable: premaintenance Users "
        "notified (if user-facing); premaintenance Rollback plan ready)")


@pytest.mark.parametrize("outcome, message, reason", [
    ("skipped", None, ""),                                          # no message: no reason, not a placeholder
    ("skipped", "no security section\nsee the README", "no security section"),   # a skip's first line
    ("failed", "", ""),                                             # a failure without a message
    ("error", "Traceback\nOSError: df died", "OSError: df died"),   # an error's last line
    ("skipped", "x" * 300, "x" * 200),                              # at most 200 characters
])
def test_the_reason_a_row_gives_for_each_check(outcome, message, reason):
    test = {"id": "checks/test_x.py::test_disk_space[local]", "outcome": outcome, "message": message}
    assert coverage._reason(test) == reason


def test_the_check_name_of_a_test_id():
    assert coverage.check_name("checks/test_disk.py::test_disk_space[/srv[1]-local]") == "test_disk_space"
    assert coverage.check_name("checks/test_x.py::TestDisk::test_disk_space[local]") == "test_disk_space"


def test_only_a_coverage_note_joins_the_row():
    other = {"label": "df output", "data": {"note": "not a coverage note"}}
    tests = [x for x in every_check() if "kept_archive" not in x["id"]]
    tests.append(t("test_kept_archive_is_intact", evidence=[other, {"label": coverage.NOTE}]))
    row = rows_by_task(coverage.build("weekly", tests))[("weekly", "Full backup verification")]
    assert row["why"] == "1 passed"


def test_the_verdict_and_table_html_exactly():
    assert coverage.verdict_html({"verdict": "passed", "text": "PASSED"}) == (
        '<div class="opsproof-verdict" data-verdict="passed"><strong>PASSED</strong></div>')
    assert coverage.verdict_html({"verdict": "failed", "text": "FAILED — a — b"}) == (
        '<div class="opsproof-verdict" data-verdict="failed"><strong>FAILED</strong> — a — b</div>')
    with pytest.raises(ValueError, match=r"^verdict 'green' is not one of \('passed', 'failed', 'incomplete'\)$"):
        coverage.verdict_html({"verdict": "green", "text": "x"})
    rows = [{"cadence": "daily", "task": "Disk", "checks": ["test_a", "test_b"], "outcome": "not applicable", "why": "w"},
            {"cadence": "daily", "task": "New", "checks": [], "outcome": "not built", "why": "n"}]
    assert coverage.coverage_html(rows) == (
        '<table class="opsproof-coverage"><thead><tr><th>Cadence</th><th>Task (maintenance guide)</th>'
        '<th>Checks</th><th>Outcome</th><th>Why</th></tr></thead><tbody>'
        '<tr class="opsproof-coverage-not-applicable"><td>daily</td><td>Disk</td><td>test_a, test_b</td>'
        '<td>not applicable</td><td>w</td></tr>'
        '<tr class="opsproof-coverage-not-built"><td>daily</td><td>New</td><td>—</td><td>not built</td><td>n</td></tr>'
        '</tbody></table>')


# --- suite runs: the report, the JSON summary and the ledger say the same verdict --------------------------------

def _said(suite) -> tuple[str, str, list[str]]:
    """The newest run's verdict as its JSON summary, its HTML report (the first element of its summary) and the
    ledger's last line say it."""
    import json
    import re

    page = suite.html()
    found = re.findall(r'<div class="opsproof-verdict" data-verdict="(\w+)">', page)
    assert len(found) == 1, "the report has no verdict (or more than one)"
    assert page.index('class="opsproof-verdict"') < page.index('class="opsproof-coverage"') < page.index(
        'id="results-table"'), "the verdict and coverage table do not come before the results"
    ledger = [json.loads(line) for line in (suite.reports / "ledger.jsonl").read_text().splitlines()]
    return suite.summary()["verdict"], found[0], [line["verdict"] for line in ledger]


def test_the_example_daily_run_passes_only_with_apply_monthly_is_incomplete_weekly_has_no_placeholders(
        suite, example_app):
    suite.config(example_app.config())
    # Issue 20 #10: without --apply the daily backup is only planned, so "Database daily backup" is not checked
    # (it read "passed" beside a skipped test_backup_taken) and the run is INCOMPLETE, exit 0 as pytest says.
    assert suite.run("-m", "daily").ret == 0
    summary = suite.summary()
    assert _said(suite) == ("incomplete", "incomplete", ["incomplete"])
    backup = rows_by_task(summary)[("daily", "Database daily backup")]
    assert backup["outcome"] == "not checked" and "test_backup_taken: plan only (no --apply)" in backup["why"], backup
    assert summary["verdict_text"].startswith("INCOMPLETE — ")
    assert "daily Database daily backup (" in summary["verdict_text"]
    assert suite.run("-m", "daily", "--apply").ret == 0
    summary = suite.summary()
    assert _said(suite) == ("passed", "passed", ["incomplete", "passed"])
    assert summary["verdict_text"] == "PASSED — every task of the selected cadences was checked and passed"
    assert [r["task"] for r in summary["coverage"]] == [task for task, _ in coverage.TASKS["daily"]]

    # The drill only plans without --apply, and the example has no docs, config_audit or attestations section:
    # exit 0 as pytest says, but the verdict says what was not checked and why.
    assert suite.run("-m", "monthly").ret == 0
    summary = suite.summary()
    assert _said(suite) == ("incomplete", "incomplete", ["incomplete", "passed", "incomplete"])
    rows = rows_by_task(summary)
    assert rows[("monthly", "DR drill execution")]["outcome"] == "not checked"
    assert "plan only (no --apply)" in rows[("monthly", "DR drill execution")]["why"]
    assert "no config_audit section in maintenance.yaml" in rows[("monthly", "Configuration audit")]["why"]
    assert summary["verdict_text"].startswith("INCOMPLETE — ") and "monthly DR drill execution (" in summary["verdict_text"]

    # Weekly and quarterly: one kept-archive item per archive that exists (ctl.py up took one, daily --apply
    # another), none per empty position up to backups.keep; the number kept is a line in the coverage table.
    # (No security section: the npm audit is another test's concern.)
    suite.config({k: v for k, v in example_app.config().items() if k != "security"})
    assert suite.run("-m", "weekly or quarterly").ret == 0
    tests = suite.summary()["tests"]
    assert not [t["id"] for t in tests if "older-" in t["id"] or "newest" in t["id"]]
    kept = [t for t in tests if "::test_kept_archive_is_intact[" in t["id"]]
    names = sorted(p.name for p in (example_app.root / "backups").glob("daily_*.tar.gz"))
    assert sorted(t["id"].split("[")[1] for t in kept) == [f"{n}-local]" for n in names] and len(names) == 2
    assert {t["outcome"] for t in kept} == {"passed"}
    assert not [t for t in tests if "archive(s) exist" in (t.get("message") or "")]
    rows = rows_by_task(suite.summary())
    assert "backups: 2 archives kept, backups.keep = 14" in rows[("weekly", "Full backup verification")]["why"]
    capacity = rows[("quarterly", "Capacity planning review")]     # one sample recorded: nothing to fit yet
    assert capacity["outcome"] == "not checked" and "could not forecast" in capacity["why"], capacity
    assert _said(suite)[:2] == ("incomplete", "incomplete")


def test_a_security_only_config_with_npm_pointed_at_a_missing_dir_fails_weekly(suite, tmp_path, capsys):
    from opsproof.cli import main

    suite.config({"service": "shop", "root": str(tmp_path), "security": {"npm_audit": {"dir": "no-such-dir"}}})
    result = suite.run("-m", "weekly")
    assert result.ret == 1, result.stdout.str()
    verdict = suite.summary()["verdict_text"]
    assert _said(suite) == ("failed", "failed", ["failed"])
    assert verdict.startswith("FAILED — 1 check failed: checks/test_security.py::test_npm_audit[local]"), verdict
    assert "opsproof: FAILED — 1 check failed" in result.stdout.str()
    capsys.readouterr()
    assert main(["summary", str(next(suite.reports.glob("*.json")))]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"Verdict: {verdict}"
    rows = rows_by_task(suite.summary())
    assert rows[("weekly", "Security scan")]["outcome"] == "failed"
    assert rows[("weekly", "Full backup verification")]["why"] == \
        "not checked: test_kept_archive_is_intact: no backups section in maintenance.yaml"


def test_a_run_whose_configured_sections_were_all_skipped_is_incomplete_not_green(suite, tmp_path):
    (tmp_path / "package.json").write_text('{"name": "shop", "version": "1.0.0"}')
    suite.config({"service": "shop", "root": str(tmp_path), "security": {"allowed_ports": [22]}})
    result = suite.run("-m", "weekly")
    assert result.ret == 0, result.stdout.str()
    assert "passed" not in suite.summary()["outcome"]
    assert _said(suite) == ("incomplete", "incomplete", ["incomplete"])
    assert "not checked: test_npm_audit: no security.npm_audit in maintenance.yaml" in \
        rows_by_task(suite.summary())[("weekly", "Security scan")]["why"]


# --- --require-complete: an INCOMPLETE verdict exits 1 (issue 20 #10) ------------------------------------------

def test_require_complete_fails_an_incomplete_run_naming_each_unchecked_task(suite, tmp_path):
    import json

    suite.config({"service": "shop", "root": str(tmp_path)})     # nothing postdeploy checks is configured
    result = suite.run("-m", "postdeploy")
    assert result.ret == 0, result.stdout.str()                   # pytest's exit status: nothing failed
    assert suite.summary()["verdict"] == "incomplete"

    result = suite.run("-m", "postdeploy", "--require-complete")
    assert result.ret == 1, result.stdout.str()
    summary = suite.summary()
    tasks = [task for task, _ in coverage.TASKS["postdeploy"]]
    assert summary["verdict_text"].startswith(f"INCOMPLETE — {len(tasks)} tasks not checked: ")
    for task in tasks:
        assert f"postdeploy {task} (" in summary["verdict_text"], task
    assert summary["exit_status"] == 1
    ledger = [json.loads(line) for line in (suite.reports / "ledger.jsonl").read_text().splitlines()]
    assert [(line["verdict"], line["exit_status"]) for line in ledger] == [("incomplete", 0), ("incomplete", 1)]
    out = result.stdout.str()
    assert f"opsproof: {summary['verdict_text']}" in out
    assert "opsproof: --require-complete: the verdict is INCOMPLETE, so the exit status is 1" in out


def test_require_complete_passes_the_example_services_complete_postdeploy_gate(suite, example_app):
    suite.config(example_app.config())
    result = suite.run("-m", "postdeploy", "--require-complete")
    assert result.ret == 0, result.stdout.str()
    assert _said(suite) == ("passed", "passed", ["passed"])
    assert "--require-complete" not in result.stdout.str()
