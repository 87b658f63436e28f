"""HTML fragments of the report, built from the evidence's JSON form (what the summary carries).

Pure: records and comparisons in, escaped HTML text out. The pytest-html hooks only call these.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Iterable, Mapping

from .evidence import Comparison

EVIDENCE_HEADER = ("<tr><th>measured</th><th>value</th><th>threshold</th><th>config key</th><th>command</th>"
                   "<th></th></tr>")
HEADER_CELLS = ("<th>Check</th>", "<th>Evidence</th>")   # the results table's two added columns
STYLESHEET = Path(__file__).with_name("report.css")     # appended to pytest-html's styles: evidence tables, print


def _e(value: Any) -> str:
    return html.escape(str(value))


def comparison_row(comp: Comparison, command: str = "") -> str:
    """One row of the evidence table: what, measured value, threshold, config key, the command that measured, pass/FAIL."""
    mark = ("WARNING" if comp.warned else "pass") if comp.passed else "FAIL"
    return (f"<tr><td>{_e(comp.what)}</td><td>{_e(comp.value_text)}</td><td>{_e(comp.limit_text)}</td>"
            f"<td><code>{_e(comp.key)}</code></td><td><code>{_e(command)}</code></td><td>{mark}</td></tr>")


def evidence_table(comparisons: Iterable[Mapping[str, Any]], command: str = "") -> str:
    """The measured-vs-threshold table ('' when nothing was compared)."""
    rows = "".join(comparison_row(Comparison.of(c), command) for c in comparisons)
    return f"<table class='opsproof-evidence'>{EVIDENCE_HEADER}{rows}</table>" if rows else ""


def commands(records: Iterable[Mapping[str, Any]]) -> str:
    """The commands the check's records say they ran on the target (a record's `command` field), in order."""
    found = [r["data"]["command"] for r in records if isinstance(r.get("data"), Mapping) and r["data"].get("command")]
    return "; ".join(dict.fromkeys(str(c) for c in found))


MAX_DEPTH = 6  # deeper than this, a value is shown as its text (a record is never that deep in practice)


def _scalars(value: list) -> str:
    return "\n".join(str(v) for v in value) if value else "[]"


def _rows_table(rows: list[Mapping[str, Any]], depth: int) -> str:
    """A list of records as one table: a column per key (in the order they first appear), a row per record."""
    columns: list[Any] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{value_html(row[c], depth + 1) if c in row else ''}</td>" for c in columns)
                   + "</tr>" for row in rows)
    return f"<table class='opsproof-rows'><tr>{head}</tr>{body}</table>"


def value_html(value: Any, depth: int = 0) -> str:
    """A recorded value as readable HTML: a mapping as a name/value table, a list of mappings as a table with a
    column per key, other lists one item a line, anything else as its text. Everything escaped."""
    if depth < MAX_DEPTH and isinstance(value, Mapping) and value:
        rows = "".join(f"<tr><td>{_e(k)}</td><td>{value_html(v, depth + 1)}</td></tr>" for k, v in value.items())
        return f"<table class='opsproof-fields'>{rows}</table>"
    if depth < MAX_DEPTH and isinstance(value, (list, tuple)) and value:
        if all(isinstance(v, Mapping) and v for v in value):
            return _rows_table(list(value), depth)
        if any(isinstance(v, (Mapping, list, tuple)) for v in value):
            return "<ol class='opsproof-items'>" + "".join(f"<li>{value_html(v, depth + 1)}</li>" for v in value) + "</ol>"
    return f"<code>{_e(_scalars(list(value)) if isinstance(value, (list, tuple)) else value)}</code>"


def record_block(record: Mapping[str, Any]) -> str:
    """One measurement record ({"label", "data"}) as an open details block of name/value rows."""
    data = record["data"]
    items = data.items() if isinstance(data, Mapping) else [("value", data)]
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{value_html(v, 1)}</td></tr>" for k, v in items)
    return f"<details open><summary>evidence: {_e(record['label'])}</summary><table>{rows}</table></details>"


def evidence_html(records: Iterable[Mapping[str, Any]], comparisons: Iterable[Mapping[str, Any]]) -> str:
    """A check's evidence as shown under its row: the comparison table, then each record."""
    records = list(records)
    blocks = "".join(record_block(r) for r in records)
    return f"<div class='opsproof'>{evidence_table(comparisons, commands(records))}{blocks}</div>"


def check_cell(check: str, runbook: str = "", waived: str = "") -> str:
    """The results table's "Check" cell: the check's docstring line, the waiver that covered its failure, and
    the runbook (a link when it is a URL)."""
    link = f"<a href='{_e(runbook)}'>{_e(runbook)}</a>" if runbook.startswith(("http://", "https://")) else \
        f"<code>{_e(runbook)}</code>"
    return (f"<td class='col-check'>{_e(check)}"
            + (f"<div class='opsproof-waived'><strong>{_e(waived)}</strong></div>" if waived else "")
            + (f"<div class='opsproof-runbook'>runbook: {link}</div>" if runbook else "") + "</td>")


def evidence_cell(comparisons: Iterable[Mapping[str, Any]]) -> str:
    """The results table's "Evidence" cell: each comparison on one line of text."""
    text = "; ".join(Comparison.of(c).line() for c in comparisons)
    return f"<td class='col-evidence'>{_e(text)}</td>"


def overdue_html(text: str) -> str:
    """The overdue cadences, under the report's summary."""
    return f'<p class="opsproof-overdue"><strong>Overdue:</strong> {html.escape(text)}</p>'
