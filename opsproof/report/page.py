"""The report's opening, in the order an auditor reads it: the verdict banner (the run's facts: service, hosts,
selection, UTC window, counts, run id and the ledger that holds its line), the coverage table, then each failure
(what was measured, the limit and its config key, what to do, the runbook) before the table of every check.

Pure: plain values (the run record, the verdict, the checks' entries as the JSON summary carries them) in, escaped
HTML out. engine/report.py hands them to pytest-html's `pytest_html_results_summary`; report.css places them first
and pytest-html's environment table last.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from .coverage import coverage_html, verdict_html
from .evidence import Comparison
from .html import HEADER_CELLS, breakable, check_cell, esc, evidence_cell, evidence_table, runbook_html
from .run import RunRecord
from .summary import outcome_text

FAILED = ("failed", "error")
CHECKS_HEADING = "<h2 class='opsproof-checks-heading'>Every check and its evidence (failures first)</h2>"


def when(moment: Optional[datetime]) -> str:
    """A moment as the report shows it to people: `2026-12-06 20:09:11 UTC` ("still running" without one)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "still running"


def _when_html(moment: Optional[datetime]) -> str:
    return f"<span class='opsproof-nowrap'>{esc(when(moment))}</span>"


def counts_text(counts: Mapping[str, int]) -> str:
    """`23 passed, 3 failed, 2 skipped (not checked)`: every outcome that occurred, "no checks" when none ran."""
    return outcome_text(counts, {"skipped": "skipped (not checked)", "waived": "waived failures"})


def _window(run: RunRecord) -> str:
    if run.ended is None:
        return f"{_when_html(run.started)}, still running"
    seconds = round((run.ended - run.started).total_seconds())
    length = f"{seconds} s" if seconds < 120 else f"{seconds // 60} min {seconds % 60} s"
    return f"{_when_html(run.started)} to {_when_html(run.ended)} ({length})"


def _fact(name: str, value_html: str) -> str:
    return f"<div class='opsproof-fact'><dt>{esc(name)}</dt><dd>{value_html}</dd></div>"


def banner_html(result: Mapping[str, Any], run: RunRecord, counts: Mapping[str, int], ledger: str,
                written: str = "", extra: Iterable[str] = ()) -> str:
    """The verdict banner: the service and selection as the heading, the coloured verdict, then the run's facts —
    hosts, selection and actions mode, the UTC window, the counts, the run id (its ledger line carries the same), the
    ledger, operator, config and suite version; `written` says when and by what the report was written, `extra` are
    further HTML fragments (overdue cadences, the fleet's hosts)."""
    mode = "apply (actions acted)" if run.apply else "plan only (no --apply: actions only planned)"
    facts = [
        _fact("Service", esc(run.service)),
        _fact("Hosts", f"<code>{breakable(run.hosts)}</code>"),
        _fact("Selection", f"<code>-m {esc(run.selection)}</code>" if run.selection else "every check (no -m)"),
        _fact("Actions", esc(mode)),
        _fact("Window (UTC)", _window(run)),
        _fact("Checks", esc(counts_text(counts))),
        _fact("Run id", f"<code>{esc(run.run_id)}</code> (its line in the ledger carries the same id)"),
        _fact("Ledger", f"<code>{breakable(ledger)}</code> (check it: <code>opsproof verify-ledger</code>)"),
        _fact("Operator", esc(run.operator)),
        _fact("Config", f"<code>{breakable(run.config_path)}</code>, SHA-256 <code>{esc(run.config_sha256[:16])}</code>…"),
        _fact("Suite", esc(run.suite_version)),
    ]
    if run.approval:
        facts.append(_fact("Emergency approval", esc(f"--ignore-window approved by {run.approval['by']} at "
                                                    f"{run.approval['at']}: {run.approval['reason']}")))
    if written:
        facts.append(_fact("Report", esc(written)))
    selection = f"-m {run.selection}" if run.selection else "every check"
    return (f"<section class='opsproof-banner' data-verdict='{esc(result['verdict'])}'>"
            f"<h1 class='opsproof-heading'>{esc(run.service)}: maintenance report, {esc(selection)}</h1>"
            f"{verdict_html(result)}<dl class='opsproof-facts'>{''.join(facts)}</dl>{''.join(extra)}</section>")


def coverage_section(rows: Iterable[Mapping[str, Any]]) -> str:
    """The coverage table under its heading: each task of the selected cadences, its checks and outcome."""
    return (f"<section class='opsproof-coverage-section'><h2>Coverage of the maintenance guide</h2>"
            f"{coverage_html(rows)}</section>")


def _without_runbook(message: str, runbook: str) -> str:
    """A failure's text without the runbook the judgement added (a `runbook: ...` line, or ` — runbook: ...` at the
    end of its line): the failure shows the runbook on a line of its own."""
    lines = [line for line in message.strip().splitlines() if not line.startswith("runbook: ")]
    return "\n".join(line.removesuffix(f" — runbook: {runbook}") if runbook else line for line in lines)


def said_and_hint(message: str, comparisons: Iterable[Mapping[str, Any]], runbook: str = "") -> tuple[str, str]:
    """A failure's sentence split into what was found and what to do: a comparison's sentence (`space used on / is
    91%; disk.max_used_percent allows <= 85%`) and the hint the check gave after it; the whole text and '' when it
    is not a comparison's. A long text (an internal error's traceback) is said by its first line."""
    text = _without_runbook(message, runbook)
    lines = text.splitlines()
    if len(lines) > 3:
        return lines[0] + " (the whole text is under the check's row below)", ""
    for data in comparisons:
        said = Comparison.of(data).message()
        if text == said or text.startswith(said + " — "):
            return said, text[len(said) + 3:]
    return text, ""


def failure_html(test: Mapping[str, Any]) -> str:
    """One failed (or waived) check: its id, what it checks, the sentence it failed with, the comparisons that failed
    (measured value, limit, config key), what to do, and its runbook or "no runbook configured"."""
    runbook = str(test.get("runbook") or "")
    compared = [c for c in test.get("comparisons") or () if not c.get("passed")]
    said, hint = said_and_hint(str(test.get("message") or ""), compared, runbook)
    outcome = {"error": "ERROR", "waived": "WAIVED"}.get(test["outcome"], "FAILED")
    waiver = f"<p class='opsproof-waived'>{esc(test['waiver'])}</p>" if test.get("waiver") else ""
    return (f"<div class='opsproof-failure' data-outcome='{esc(test['outcome'])}'>"
            f"<p class='opsproof-failure-id'><strong>{outcome}</strong> <code>{breakable(test['id'], before='[')}</code>"
            f"</p><p class='opsproof-failure-check'>{esc(test.get('check') or '')}</p>"
            f"<p class='opsproof-failure-message'>{esc(said)}</p>{waiver}"
            f"{evidence_table(compared)}"
            + (f"<p class='opsproof-hint'><strong>What to do:</strong> {esc(hint)}</p>" if hint else "")
            + f"<p class='opsproof-runbook'><strong>Runbook:</strong> {runbook_html(runbook)}"
            f"</p></div>")


def failures_html(tests: Iterable[Mapping[str, Any]]) -> str:
    """The failures (failed checks and errors), then the waived failures, each under its heading; '' when none."""
    tests = list(tests)
    parts = []
    for heading, outcomes in (("Failures", FAILED), ("Waived failures", ("waived",))):
        chosen = [t for t in tests if t["outcome"] in outcomes]
        if chosen:
            parts.append(f"<section class='opsproof-failures'><h2>{heading} ({len(chosen)})</h2>"
                         + "".join(failure_html(t) for t in chosen) + "</section>")
    return "".join(parts)


def opening(result: Mapping[str, Any], run: RunRecord, tests: list[Mapping[str, Any]], counts: Mapping[str, int],
            ledger: str, written: str, extra: Iterable[str]) -> list[str]:
    """What opens the report, in order: the banner, the coverage table, the failures."""
    return [banner_html(result, run, counts, ledger, written, extra), coverage_section(result["coverage"]),
            failures_html(tests)]


def shown_path(path: Path, base: Path) -> str:
    """`path` as the banner shows it: relative to `base` (where the run was started) when it lies under it."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def header_cells(cells: list[str]) -> list[str]:
    """pytest-html's results-table header with the Check and Evidence columns, without its Links column (links to
    text extras: opsproof attaches none, so the column was always empty)."""
    kept = [c for c in cells if ">Links<" not in c]
    return kept[:2] + list(HEADER_CELLS) + kept[2:]


def row_cells(cells: list[str], info: Mapping[str, Any], test_id: str, skipped: str = "") -> list[str]:
    """A row of pytest-html's results table with the Check cell (the check's id for print, its docstring line, waiver,
    runbook) and the Evidence cell (its comparisons; a skipped check's reason), without the Links cell."""
    kept = [c for c in cells if 'class="col-links"' not in c]
    return kept[:2] + [check_cell(info.get("check", ""), info.get("runbook") or "", info.get("waived") or "", test_id),
                       evidence_cell(info.get("comparisons") or [], skipped)] + kept[2:]


class SharedRecords:
    """Which of a check's records an earlier row of the report already shows in full: one measurement (the newest
    backup's recency, a disk's usage) is recorded for each check that reads it, and shown once. A check with a failed
    phase shows all of its own in full."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}      # node id -> the id of its row in pytest-html's table
        self.failed: set[str] = set()
        self.shown: dict[str, str] = {}     # a record (as JSON) -> the row that shows it in full

    def links(self, test_id: str, when: str, outcome: str, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Told each phase of a check in order; at its teardown, for each of `records`, the id of the row that shows it
        already ('' where this row shows it)."""
        if when == "setup":   # pytest-html names the row of a check that did not pass its setup `ID::setup`
            self.rows[test_id] = test_id + ("" if outcome == "passed" else "::setup")
        if outcome == "failed":
            self.failed.add(test_id)
        if when != "teardown":
            return []
        keys = [json.dumps(r, sort_keys=True, default=str) for r in records]
        under = [] if test_id in self.failed else [self.shown.get(k, "") for k in keys]
        for key in keys:
            self.shown.setdefault(key, self.rows.get(test_id, test_id))
        return under
