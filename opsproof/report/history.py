"""Every run in the ledger per cadence and host, and the values its checks measured over time (`opsproof history`).

The runs come from the ledger's lines; the measured values from the JSON summaries those lines name, read as input
(bounded, through config.inputs): a comparison is known by the config key its threshold came from, so a series
means the same thing in every run. What is read (`METRICS`):
disk used (`disk.max_used_percent`), backup size (`backups.min_size_bytes`), SLO attainment
(`slo.objectives[NAME].target`), backup verification time (the `seconds` of a "verification of ..." record) and new
error lines (`logs.max_new_errors`). Pure but for reading the summaries; html is history_html.py's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from ..config import inputs
from ..config.cadences import MARKERS
from .bundle_check import inside
from .cadence import hosts_of, is_run, selects, split_hosts
from .run import parse_utc
from .summary import MAX_BYTES, NotASummary, read_summary
from .textfile import host_of

METRICS = {   # name -> (chart title, unit)
    "disk": ("disk used", "%"),
    "backup_size": ("newest backup's size", "B"),
    "slo": ("SLO attainment", "%"),
    "verify": ("backup verification time", "s"),
    "errors": ("new error lines", "lines"),
}
_SLO = re.compile(r"^slo\.objectives\[(.+)\]\.target$")


@dataclass(frozen=True)
class Point:
    metric: str
    label: str        # which series of the metric: the filesystem, the objective, the check
    host: str
    at: datetime      # the run's start
    value: float
    run_id: str


def cadences_of(entry: Mapping[str, Any]) -> list[str]:
    """The cadences and checklists a run's marker expression selects (every one without -m)."""
    return [m for m in MARKERS if selects(str(entry.get("selection") or ""), m)]


def report_of(entry: Mapping[str, Any], suffix: str = ".html") -> Optional[str]:
    """The name of the run's HTML report (or of its `suffix` file) as its ledger line names it; None without one."""
    return next((f["name"] for f in entry.get("files") or () if str(f["name"]).endswith(suffix)), None)


def per_cadence(entries: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    """(cadence, host) -> its runs, oldest first; a run with no cadence in its selection under "(none)"."""
    table: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    order = {m: n for n, m in enumerate(MARKERS)}
    for entry in sorted((e for e in entries if is_run(e)), key=lambda e: e["started"]):
        for cadence in cadences_of(entry) or ["(none)"]:
            for host in hosts_of(entry):
                table.setdefault((cadence, host), []).append(entry)
    return dict(sorted(table.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][1])))


def _number(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _found(test: Mapping[str, Any]) -> Iterable[tuple[str, str, Optional[float]]]:
    """(metric, label, value) for each value of METRICS one check's entry carries."""
    for comp in test.get("comparisons") or ():
        key = str(comp.get("key") or "")
        value = _number(comp.get("measured"))
        if key == "disk.max_used_percent":
            yield "disk", str(comp.get("what") or "space used"), value
        elif key == "backups.min_size_bytes":
            yield "backup_size", "newest backup", value
        elif key == "logs.max_new_errors":
            yield "errors", "error log", value
        elif (slo := _SLO.match(key)) is not None:
            yield "slo", slo.group(1), value
    for record in test.get("evidence") or ():
        data = record.get("data") if isinstance(record, Mapping) else None
        if str(record.get("label", "")).startswith("verification of") and isinstance(data, Mapping):
            yield "verify", str(test["id"]).split("::")[-1].split("[")[0], _number(data.get("seconds"))


def points_of(summary: Mapping[str, Any], run_id: str) -> list[Point]:
    """The measured values of one run's summary; one per metric, series and host (the largest when a run measured
    one several times: the fullest filesystem, the slowest verification)."""
    at, hosts = parse_utc(summary["started"]), split_hosts(str(summary.get("hosts") or "local"))
    best: dict[tuple[str, str, str], float] = {}
    for test in summary.get("tests") or ():
        host = str(test.get("host") or host_of(str(test["id"]), hosts))
        for metric, label, value in _found(test):
            if value is not None:
                key = (metric, label, host)
                best[key] = max(value, best.get(key, value))
    return [Point(m, label, host, at, value, run_id) for (m, label, host), value in best.items()]


@dataclass
class History:
    """The ledger's runs (`entries`, oldest first), their measured values, and what could not be read."""

    entries: list[Mapping[str, Any]]
    points: list[Point] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
        return per_cadence(self.entries)

    def series(self) -> dict[str, list[tuple[str, list[tuple[float, float]]]]]:
        """metric -> [(series label "LABEL on HOST", [(Unix time, value)])], in METRICS order."""
        found: dict[str, dict[str, list[tuple[float, float]]]] = {}
        for p in self.points:
            label = p.label if len({q.host for q in self.points}) == 1 else f"{p.label} on {p.host}"
            found.setdefault(p.metric, {}).setdefault(label, []).append((p.at.timestamp(), p.value))
        return {m: sorted((label, sorted(v)) for label, v in found[m].items()) for m in METRICS if m in found}


def read(directory: Path, entries: Iterable[Mapping[str, Any]]) -> History:
    """The runs among `entries` (a ledger's lines) and the values their JSON summaries in `directory` hold."""
    runs = sorted((e for e in entries if is_run(e)), key=lambda e: e["started"])
    history = History(runs)
    for entry in runs:
        name = report_of(entry, ".json")
        if name is None or not inside(name):
            continue
        try:
            summary = read_summary(inputs.read_bytes(directory / name, MAX_BYTES))
            history.points += points_of(summary, str(entry["run_id"]))
        except FileNotFoundError:
            history.notes.append(f"{name} (run {entry['run_id']}): missing, its values are not shown")
        except (inputs.InputError, NotASummary, KeyError, TypeError, ValueError) as exc:
            history.notes.append(f"{name} (run {entry['run_id']}): not read ({exc}), its values are not shown")
    return history
