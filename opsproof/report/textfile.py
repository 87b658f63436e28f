"""`--textfile=PATH`: the run in Prometheus' text exposition format, as node_exporter's textfile collector reads it.

`build` turns a run's results (the JSON summary's `tests`) and the cadence state from the ledger into the
text; `write` puts it under its final name only when complete (a temp name beside it, then rename).
A skipped check has no success series: it was not checked, so it is neither 1 nor 0. A waived check failed:
success 0 and `opsproof_check_waived` 1 (alert on `opsproof_check_success == 0 unless on(check, host, cadence)
opsproof_check_waived == 1`); `opsproof_check_warning` is 1 for a check that passed past a warning level.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..config.cadences import MARKERS as CADENCES
from ..files import write_atomic
from .cadence import CadenceState, selects

_HELP = {
    "opsproof_check_success": "1 when the check passed in the last run, 0 when it failed (skipped checks are absent)",
    "opsproof_check_warning": "1 when the check passed past a warning level in the last run, else 0",
    "opsproof_check_waived": "1 when a waiver in force covered the check's failure in the last run (success is 0)",
    "opsproof_check_duration_seconds": "how long the check took in the last run",
    "opsproof_check_measured_value": "the value the check measured, beside the threshold it was compared with",
    "opsproof_check_threshold": "the threshold from the maintenance config the measured value was compared with",
    "opsproof_last_run_timestamp_seconds": "when a run of this cadence last ended (Unix time)",
    "opsproof_last_success_timestamp_seconds": "when a run of this cadence last fully passed (Unix time)",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return repr(float(value)) if not math.isinf(value) else ("+Inf" if value > 0 else "-Inf")


def host_of(test_id: str, hosts: Sequence[str]) -> str:
    """The host a check ran on: the run's one host, else the host its id names, else all of them."""
    if len(hosts) == 1:
        return hosts[0]
    named = [h for h in hosts if h in test_id or h.split("://")[-1] in test_id]
    return named[0] if named else ",".join(hosts)


def cadences_of(test: Mapping[str, Any], selection: str) -> list[str]:
    """The cadence labels of a check: its cadence markers the run selected (all of them without -m)."""
    marks = [m for m in test.get("markers") or [] if m in CADENCES]
    chosen = [m for m in marks if selects(selection, m)]
    return chosen or marks or ["none"]


def build(tests: Iterable[Mapping[str, Any]], hosts: Sequence[str], selection: str,
          cadence_states: Iterable[CadenceState]) -> str:
    """The exposition text (every string already masked by the caller)."""
    series: dict[str, dict[str, str]] = {name: {} for name in _HELP}

    def add(name: str, labels: Mapping[str, str], value: str | None) -> None:
        if value is not None:
            series[name].setdefault(_labels(labels), value)  # a repeated label set keeps its first value

    for test in tests:
        host = host_of(str(test["id"]), hosts)
        for cadence in cadences_of(test, selection):
            labels = {"check": str(test["id"]), "host": host, "cadence": cadence}
            if test.get("outcome") in ("passed", "failed", "error", "waived"):
                add("opsproof_check_success", labels, "1" if test["outcome"] == "passed" else "0")
                add("opsproof_check_warning", labels, "1" if test.get("warnings") else "0")
                add("opsproof_check_waived", labels, "1" if test["outcome"] == "waived" else "0")
            add("opsproof_check_duration_seconds", labels, _number(test.get("duration_s")))
            for comp in test.get("comparisons") or []:
                detail = {**labels, "what": str(comp.get("what", "")), "key": str(comp.get("key", ""))}
                add("opsproof_check_measured_value", detail, _number(comp.get("measured")))
                add("opsproof_check_threshold", detail, _number(comp.get("threshold")))
    for state in cadence_states:
        labels = {"cadence": state.cadence, "host": state.host}
        if state.last_run:
            add("opsproof_last_run_timestamp_seconds", labels, _number(state.last_run.timestamp()))
        if state.last_pass:
            add("opsproof_last_success_timestamp_seconds", labels, _number(state.last_pass.timestamp()))
    lines = []
    for name, values in series.items():
        if not values:
            continue
        lines += [f"# HELP {name} {_HELP[name]}", f"# TYPE {name} gauge"]
        lines += [f"{name}{labels} {value}" for labels, value in values.items()]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> None:
    """Write whole or not at all: a temp name in the same directory, then rename (the collector never reads half)."""
    write_atomic(path, text, fsync=True)
