"""HTML fragments of the report, built from the evidence's JSON form (what the summary carries).

Pure: records and comparisons in, escaped HTML text out. The pytest-html hooks only call these.

Evidence is written for people: a record's empty fields (None, False, "", [], {}) are left out, True reads "yes",
numbers carry the unit their field's name says (`size` bytes, `_percent`, `seconds`, `_ms`, `_hours`, `_days`), and a
long value (a path, a URL, a test id) may wrap after a `/`, `::`, `,`, `;`, `&`, `?` or `=`, never inside a word.
Config keys never wrap (report.css).
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import quote

from .evidence import Comparison

EVIDENCE_HEADER = ("<tr><th>measured</th><th>value</th><th>threshold</th><th>config key</th><th>command</th>"
                   "<th></th></tr>")
HEADER_CELLS = ("<th>Check</th>", "<th>Evidence</th>")   # the results table's two added columns
STYLESHEET = Path(__file__).with_name("report.css")     # appended to pytest-html's styles: evidence tables, print

_BREAK = re.compile(r"(?:(?<=::)|(?<=[/,;&?=]))(?=[^/])")   # a long value may wrap after these (`//` stays whole)
_BYTES = ("size", "bytes", "uncompressed")              # a field named so (or ending `_size`, `_bytes`) is in bytes
_UNITS = (("_percent", "%"), ("percent", "%"), ("seconds", " s"), ("duration_s", " s"), ("_ms", " ms"),
          ("_hours", " h"), ("_days", " days"))


def esc(value: Any) -> str:
    """Any value as HTML text (quotes escaped too: safe in attributes)."""
    return html.escape(str(value))


def breakable(text: Any, before: str = "") -> str:
    """`text` escaped, with a line-break opportunity (`<wbr>`) after each `/`, `::`, `,`, `;`, `&`, `?` and `=` (and
    before each character in `before`): a long path or id wraps at a sensible point, and copies as one piece."""
    pieces = _BREAK.split(str(text))
    if before:
        pieces = [q for p in pieces for q in re.split(f"(?=[{re.escape(before)}])", p) if q]
    return "<wbr>".join(html.escape(p) for p in pieces)


def human_bytes(count: int) -> str:
    """`81534414848` -> `75.9 GiB` (binary units, one decimal; bytes below 1 KiB)."""
    size, unit = float(count), "B"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        size /= 1024
        if abs(size) < 1024:
            break
    return f"{size:.1f} {unit}"


def with_unit(key: Any, value: Any) -> str:
    """A number as a person reads it, by its field's name: `size 8591` -> `8591 B (8.4 KiB)`, `used_percent 74.8` ->
    `74.8%`, `seconds 0.028` -> `0.028 s`; other values (and numbers with no unit in their name) as their text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    name = str(key).lower()
    if name in _BYTES or name.endswith(tuple(f"_{b}" for b in _BYTES)) or name.startswith("bytes_"):
        return f"{value} B" + (f" ({human_bytes(int(value))})" if abs(value) >= 1024 else "")
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return f"{value}{unit}"
    return str(value)


def comparison_row(comp: Comparison, command: str = "") -> str:
    """One row of the evidence table: what, measured value, threshold, config key, the command that measured, pass/FAIL."""
    mark = ("WARNING" if comp.warned else "pass") if comp.passed else "FAIL"
    return (f"<tr><td>{esc(comp.what)}</td><td>{esc(comp.value_text)}</td><td>{esc(comp.limit_text)}</td>"
            f"<td><code>{esc(comp.key)}</code></td><td><code>{esc(command)}</code></td><td>{mark}</td></tr>")


def evidence_table(comparisons: Iterable[Mapping[str, Any]], command: str = "") -> str:
    """The measured-vs-threshold table ('' when nothing was compared)."""
    rows = "".join(comparison_row(Comparison.of(c), command) for c in comparisons)
    return f"<table class='opsproof-evidence'>{EVIDENCE_HEADER}{rows}</table>" if rows else ""


def commands(records: Iterable[Mapping[str, Any]]) -> str:
    """The commands the check's records say they ran on the target (a record's `command` field), in order."""
    found = [r["data"]["command"] for r in records if isinstance(r.get("data"), Mapping) and r["data"].get("command")]
    return "; ".join(dict.fromkeys(str(c) for c in found))


MAX_DEPTH = 6  # deeper than this, a value is shown as its text (a record is never that deep in practice)


def _scalar(value: Any, key: Any = "") -> str:
    """One plain value: True as "yes", numbers with their unit, long text breakable."""
    return "yes" if value is True else breakable(with_unit(key, value))


def _rows_table(rows: list[Mapping[str, Any]], depth: int) -> str:
    """A list of records as one table: a column per key (in the order they first appear), a row per record."""
    columns: list[Any] = []
    for row in rows:
        columns += [k for k in row if k not in columns and not is_empty(row[k])]
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{'' if is_empty(row.get(c)) else value_html(row[c], depth + 1, c)}</td>"
                                    for c in columns) + "</tr>" for row in rows)
    return f"<table class='opsproof-rows'><tr>{head}</tr>{body}</table>"


def is_empty(value: Any) -> bool:
    """None, False, "" or an empty list or mapping: a field that tells a person nothing."""
    return value is None or value is False or (isinstance(value, (str, list, tuple, Mapping)) and not value)


def shown_fields(value: Mapping[Any, Any]) -> list[tuple[Any, Any]]:
    """A record's fields a person needs: every one but the empty (None, False, "", [], {})."""
    return [(k, v) for k, v in value.items() if not is_empty(v)]


def value_html(value: Any, depth: int = 0, key: Any = "") -> str:
    """A recorded value as readable HTML: a mapping as a name/value table (its empty fields left out), a list of
    mappings as a table with a column per key, other lists one item a line, anything else as its text (with the
    unit its field's name `key` says). Everything escaped."""
    if depth < MAX_DEPTH and isinstance(value, Mapping) and value:
        rows = "".join(f"<tr><td>{esc(k)}</td><td>{value_html(v, depth + 1, k)}</td></tr>" for k, v in shown_fields(value))
        return f"<table class='opsproof-fields'>{rows}</table>" if rows else "<code>-</code>"
    if depth < MAX_DEPTH and isinstance(value, (list, tuple)) and value:
        if all(isinstance(v, Mapping) and v for v in value):
            return _rows_table(list(value), depth)
        if any(isinstance(v, (Mapping, list, tuple)) for v in value):
            return "<ol class='opsproof-items'>" + "".join(f"<li>{value_html(v, depth + 1)}</li>" for v in value) + "</ol>"
        return "<code>" + "\n".join(_scalar(v, key) for v in value) + "</code>"
    if isinstance(value, (list, tuple, Mapping)) and not value:
        return f"<code>{esc(value if isinstance(value, Mapping) else '[]')}</code>"
    return f"<code>{_scalar(value, key)}</code>"


def _field_row(key: Any, value: Any) -> str:
    shown = value_html(value, 1, key)
    wide = "\n" in shown or "<table" in shown or "<ol" in shown or len(str(value)) > 90
    return f"<tr{' class=wide' if wide else ''}><td>{esc(key)}</td><td>{shown}</td></tr>"


def record_block(record: Mapping[str, Any]) -> str:
    """One measurement record ({"label", "data"}) as an open details block of name/value rows, its empty fields left
    out (report.css flows the short ones side by side)."""
    data = record["data"]
    items = shown_fields(data) if isinstance(data, Mapping) else [("value", data)]
    rows = "".join(_field_row(k, v) for k, v in items)
    return (f"<details open class='opsproof-record'><summary>evidence: {esc(record['label'])}</summary>"
            f"<table class='opsproof-record-fields'>{rows}</table></details>")


def same_record_block(record: Mapping[str, Any], row_id: str) -> str:
    """A record another check's row already shows in full (one measurement, recorded for each check that reads it):
    its label, and a link to that row, on one line."""
    return (f"<details open class='opsproof-record opsproof-same'><summary>evidence: {esc(record['label'])}, the same "
            f"record as under <a href='#{html.escape(quote(row_id, safe=''))}'><code>{breakable(row_id, before='[')}"
            f"</code></a></summary></details>")


def evidence_html(records: Iterable[Mapping[str, Any]], comparisons: Iterable[Mapping[str, Any]],
                  shown_under: Iterable[str] = ()) -> str:
    """A check's evidence as shown under its row: the comparison table, then each record — in full, or, where
    `shown_under` gives a row id for it, as a link to the row that shows the same record in full."""
    records, under = list(records), list(shown_under)
    blocks = "".join(same_record_block(r, under[i]) if i < len(under) and under[i] else record_block(r)
                     for i, r in enumerate(records))
    return f"<div class='opsproof'>{evidence_table(comparisons, commands(records))}{blocks}</div>"


def runbook_html(runbook: str) -> str:
    """A runbook as a link when it is a URL, else as a path; "no runbook configured" without one."""
    if not runbook:
        return "<span class='opsproof-no-runbook'>no runbook configured</span>"
    if runbook.startswith(("http://", "https://")):
        return f"<a href='{esc(runbook)}'>{breakable(runbook)}</a>"
    return f"<code>{breakable(runbook)}</code>"


def check_cell(check: str, runbook: str = "", waived: str = "", test_id: str = "") -> str:
    """The results table's "Check" cell: the check's id (shown in print, where the Test column is left out, so an
    id wraps only at a `/`, `::` or `[`), its docstring line, the waiver that covered its failure, and the runbook."""
    shown_id = breakable(test_id, before="[") if test_id else ""
    return ("<td class='col-check'>" + (f"<div class='opsproof-id'><code>{shown_id}</code></div>" if test_id else "")
            + esc(check)
            + (f"<div class='opsproof-waived'><strong>{esc(waived)}</strong></div>" if waived else "")
            + (f"<div class='opsproof-runbook'>runbook: {runbook_html(runbook)}</div>" if runbook else "") + "</td>")


def evidence_cell(comparisons: Iterable[Mapping[str, Any]], skipped: str = "") -> str:
    """The results table's "Evidence" cell: each comparison on one line of text; a skipped check's reason."""
    text = "; ".join(Comparison.of(c).line() for c in comparisons)
    reason = f"<div class='opsproof-skip'>not checked: {breakable(skipped)}</div>" if skipped else ""
    return f"<td class='col-evidence'>{esc(text)}{reason}</td>"


def overdue_html(text: str) -> str:
    """The overdue cadences, under the report's summary."""
    return f'<p class="opsproof-overdue"><strong>Overdue:</strong> {html.escape(text)}</p>'
