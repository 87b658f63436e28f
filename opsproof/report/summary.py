"""The JSON summary written beside each HTML report, and its reading back (`opsproof summary`).

`Results` gathers each check's outcome and evidence from plain values; `build_summary` turns a run
record and those results into the summary; `summary_text` prints one for a person. All pure.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from ..config import inputs
from ..files import write_atomic
from .cadence import split_hosts
from .evidence import Comparison
from .run import RunRecord, utc
from .textfile import cadences_of, host_of

FORMAT = 2             # 2: run_id; per check host, cadences, message, comparisons and runbook always there
READS = (1, FORMAT)    # `opsproof summary` still reads a format-1 summary (no run id: it prints none)
SCHEMA = Path(__file__).with_name("summary.schema.json")   # the JSON Schema of format 2 (package data)
MAX_BYTES = 32 << 20   # 10 000 checks at some 3 KB each; `opsproof summary` refuses a larger file unread
ORDER = ("passed", "failed", "error", "waived", "skipped")
_REQUIRED = ("format", "service", "hosts", "selection", "config", "suite_version", "operator", "apply", "started",
             "outcome", "tests")


class NotASummary(ValueError):
    """The text is not an opsproof JSON summary."""


class Results:
    """Each check's outcome, duration, docstring line, markers and evidence, over its three phases."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Any]] = {}

    def add(self, nodeid: str, when: str, outcome: str, duration: float, info: Optional[Mapping[str, Any]] = None,
            detail: str = "") -> None:
        """One phase (setup, call, teardown) of one check: outcome passed, failed or skipped; `detail` is the
        failure text or the skip reason; `info` what the evidence hook attached (check, markers, evidence), and the
        judgement hook (`runbook`; `waived`: a failure a waiver in force turned into a skip, outcome "waived")."""
        entry = self._entries.setdefault(nodeid, {"id": nodeid, "outcome": "passed", "duration_s": 0.0})
        entry["duration_s"] = round(entry["duration_s"] + duration, 3)
        if info:
            entry.update({"check": info["check"], "markers": info["markers"]})
            entry.update({k: info[k] for k in ("runbook",) if info.get(k)})
            if when == "teardown":
                entry.update({"evidence": info["evidence"], "comparisons": info["comparisons"]})
                warned = [Comparison.of(c).warning() for c in info["comparisons"] if c.get("warned")]
                entry.update({"warnings": warned} if warned else {})
        if outcome == "skipped" and info and info.get("waived") and entry["outcome"] == "passed":
            entry.update({"outcome": "waived", "waiver": info["waived"], "message": detail[-2000:]})
        elif outcome == "failed":
            entry["outcome"] = "failed" if when == "call" else "error"
            entry.setdefault("message", detail[-2000:])
        elif outcome == "skipped" and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"
            entry["message"] = detail.removeprefix("Skipped: ")

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries.values())

    def counts(self, leave_out: str = "") -> dict[str, int]:
        """How many checks ended each way so far (passed, failed, error, skipped), leaving one out if asked."""
        return outcome_counts(e for e in self._entries.values() if e["id"] != leave_out)


def outcome_counts(tests: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for test in tests:
        counts[test["outcome"]] = counts.get(test["outcome"], 0) + 1
    return counts


def outcome_text(outcome: Mapping[str, int], said: Mapping[str, str] = {}) -> str:
    """`3 passed, 1 failed`: every outcome that occurred (in ORDER, then any other), "no checks" when none did;
    `said` words an outcome for people (the report's banner: "2 skipped (not checked)")."""
    items = [f"{outcome[k]} {said.get(k, k)}" for k in ORDER if outcome.get(k)]
    items += [f"{v} {k}" for k, v in outcome.items() if k not in ORDER and v]
    return ", ".join(items) or "no checks"


def judged(tests: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """The run's `warnings` (a check passed, past a warning level) and `waived` checks (a waiver covered the failure)."""
    tests = list(tests)
    return {"warnings": [{"id": t["id"], "warning": w} for t in tests for w in t.get("warnings") or ()],
            "waived": [{"id": t["id"], "waiver": t["waiver"]} for t in tests if t["outcome"] == "waived"]}


def described(test: Mapping[str, Any], hosts: list[str], selection: str) -> dict[str, Any]:
    """A check's entry as the summary carries it: its id and outcome, the host it ran on, its cadences (the ones the
    run selected, else all it carries), the plain message (None when it passed), its comparisons ([] when it made
    none) and runbook (None when none is configured), then the rest as the run gathered it."""
    return {"id": test["id"], "outcome": test["outcome"], "host": host_of(test["id"], hosts),
            "cadences": [c for c in cadences_of(test, selection) if c != "none"], "message": test.get("message"),
            "comparisons": list(test.get("comparisons") or []), "runbook": test.get("runbook"),
            **{k: v for k, v in test.items() if k not in ("id", "outcome", "message", "comparisons", "runbook")}}


def build_summary(run: RunRecord, tests: list[dict[str, Any]], exit_status: int, report: str,
                  verdict: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """The JSON summary of a finished run (secrets are masked by the caller, who holds the config's secrets);
    `verdict` is opsproof.report.coverage.build's result: its verdict, text and coverage rows open the summary.
    `run_id` is the ledger line's; `report` the HTML report's file name (the summary is beside it)."""
    opening = {"verdict": verdict["verdict"], "verdict_text": verdict["text"], "coverage": verdict["coverage"]} \
        if verdict else {}
    hosts = split_hosts(run.hosts)
    return {
        "format": FORMAT,
        "run_id": run.run_id,
        **opening,
        "service": run.service,
        "hosts": run.hosts,
        "selection": run.selection,
        "config": {"path": run.config_path, "sha256": run.config_sha256},
        "suite_version": run.suite_version,
        "operator": run.operator,
        "apply": run.apply,
        "approval": run.approval,  # --ignore-window: who approved the emergency, why, when
        "started": utc(run.started),
        "ended": utc(run.ended) if run.ended else None,
        "exit_status": int(exit_status),
        "outcome": outcome_counts(tests),
        **judged(tests),
        "report": report,
        "tests": [described(t, hosts, run.selection) for t in tests],
    }


def assemble(run: RunRecord, tests: list[dict[str, Any]], exit_status: int, report: str,
             verdict: Optional[Mapping[str, Any]], redactor: Any, overdue: list[dict[str, Any]],
             *parts: Mapping[str, Any]) -> dict[str, Any]:
    """The whole summary: the run's (build_summary), the cadences overdue when it started (masked as the ledger
    masks them), then each further part (the waivers, the fleet); each through `redactor` (report/redact.py)."""
    summary = redactor.data(build_summary(run, tests, exit_status, report, verdict))
    summary["overdue"] = overdue
    for part in parts:
        summary.update(redactor.data(part))
    return summary


def write_summary(report_html: Path, summary: Mapping[str, Any]) -> Path:
    """The summary beside the HTML report (the same name, .json), written whole or not at all."""
    return write_atomic(Path(report_html).with_suffix(".json"), to_json(summary))


def to_json(summary: Mapping[str, Any]) -> str:
    return json.dumps(summary, indent=1, default=str)


def read_summary(text: str | bytes) -> dict[str, Any]:
    """A JSON summary from its text (the CLI reads the file through config.inputs, at most MAX_BYTES); NotASummary
    saying why when it is not one."""
    try:
        data = inputs.json_of(text, "")
    except inputs.InputError as exc:
        raise NotASummary(exc.problem) from None
    if not isinstance(data, dict):
        raise NotASummary(f"a JSON {type(data).__name__}, not an object")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise NotASummary(f"no {', '.join(missing)} key(s)")
    if data["format"] not in READS:
        raise NotASummary(f"format {data['format']!r}, this opsproof reads formats {', '.join(map(str, READS))}")
    try:
        RunRecord.from_summary(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise NotASummary(f"its run fields do not read: {exc}") from None
    return data


def summary_text(summary: Mapping[str, Any]) -> str:
    """A summary for a person: the run (as the report's environment table shows it), outcome, what failed."""
    run = RunRecord.from_summary(summary)
    lines = [f"{key}: {value}" for key, value in run.metadata().items()]
    if run.run_id:
        lines.insert(0, f"Run id: {run.run_id}")
    if summary.get("verdict_text"):
        lines.insert(0, f"Verdict: {summary['verdict_text']}")
    lines.append(f"Outcome: {outcome_text(summary['outcome'])} (exit status {summary.get('exit_status', '?')})")
    for test in summary["tests"]:
        if test.get("outcome") not in ("failed", "error"):
            continue
        lines.append(f"{test['outcome'].upper()} {test['id']}")
        failed = [Comparison.of(c) for c in test.get("comparisons") or [] if not c.get("passed")]
        lines.extend(f"  {comp.line()} — {comp.key}" for comp in failed)
        if not failed and test.get("message"):
            lines.append("  " + test["message"].strip().splitlines()[-1])
    lines += [f"WAIVED {w['id']}: {w['waiver']}" for w in summary.get("waived") or ()]
    lines += [f"WARNING {w['id']}: {w['warning']}" for w in summary.get("warnings") or ()]
    if summary.get("report"):
        lines.append(f"Report: {summary['report']}")
    return "\n".join(lines)
