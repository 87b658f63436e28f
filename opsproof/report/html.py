"""HTML fragments of the report, built from the evidence's JSON form (what the summary carries).

Pure: records and comparisons in, escaped HTML text out. The pytest-html hooks only call these.
"""
from __future__ import annotations

import html
from typing import Any, Iterable, Mapping

from .evidence import Comparison

EVIDENCE_HEADER = "<tr><th>measured</th><th>value</th><th>threshold</th><th>config key</th><th></th></tr>"
HEADER_CELLS = ("<th>Check</th>", "<th>Evidence</th>")   # the results table's two added columns


def _e(value: Any) -> str:
    return html.escape(str(value))


def comparison_row(comp: Comparison) -> str:
    """One row of the evidence table: what, measured value, threshold, config key, pass/FAIL."""
    mark = "pass" if comp.passed else "FAIL"
    return (f"<tr><td>{_e(comp.what)}</td><td>{_e(comp.value_text)}</td><td>{_e(comp.limit_text)}</td>"
            f"<td><code>{_e(comp.key)}</code></td><td>{mark}</td></tr>")


def evidence_table(comparisons: Iterable[Mapping[str, Any]]) -> str:
    """The measured-vs-threshold table ('' when nothing was compared)."""
    rows = "".join(comparison_row(Comparison.of(c)) for c in comparisons)
    return f"<table class='opsproof-evidence'>{EVIDENCE_HEADER}{rows}</table>" if rows else ""


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value) if value else "[]"
    return str(value)


def record_block(record: Mapping[str, Any]) -> str:
    """One measurement record ({"label", "data"}) as an open details block of name/value rows."""
    data = record["data"]
    items = data.items() if isinstance(data, dict) else [("value", data)]
    rows = "".join(f"<tr><td>{_e(k)}</td><td><code>{_e(_shown(v))}</code></td></tr>" for k, v in items)
    return f"<details open><summary>evidence: {_e(record['label'])}</summary><table>{rows}</table></details>"


def evidence_html(records: Iterable[Mapping[str, Any]], comparisons: Iterable[Mapping[str, Any]]) -> str:
    """A check's evidence as shown under its row: the comparison table, then each record."""
    blocks = "".join(record_block(r) for r in records)
    return f"<div class='opsproof'>{evidence_table(comparisons)}{blocks}</div>"


def check_cell(check: str) -> str:
    """The results table's "Check" cell: the check's docstring line."""
    return f"<td class='col-check'>{_e(check)}</td>"


def evidence_cell(comparisons: Iterable[Mapping[str, Any]]) -> str:
    """The results table's "Evidence" cell: each comparison on one line of text."""
    text = "; ".join(Comparison.of(c).line() for c in comparisons)
    return f"<td class='col-evidence'>{_e(text)}</td>"
