"""The history page (`opsproof history`, and history.html in an audit bundle): trend charts first, then every run per
cadence and host with its verdict and a link to its report. Self-contained (charts inline as SVG) and made to print:
A4 or Letter, tables kept together where they fit, ids and keys broken only at their separators (`/`, `::`, `_`,
`.`, `-`, `[`), never inside a word. Pure, but for drawing the charts (`draw`, pygal through opsproof.charts).
"""
from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any, Callable, Mapping, Optional

from .history import METRICS, History, report_of
from .html import esc
from .run import utc
from .summary import outcome_text

Link = Callable[[str], Optional[str]]   # a file name the ledger holds -> the href to it, None when it is not there

PAGE_CSS = """
@page { size: A4; margin: 14mm 12mm; }
body { font: 10.5pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1b1b1b;
       max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .3rem; } h2 { font-size: 1.15rem; margin: 1.4rem 0 .4rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; } p.meta { color: #333; margin: .1rem 0; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 .8rem; font-size: 9pt; }
th, td { border: 1px solid #999; padding: .2rem .35rem; text-align: left; vertical-align: top;
         word-break: normal; overflow-wrap: normal; hyphens: none; }
th { background: #e8e8e8; } thead { display: table-header-group; }
tr, img, figure, .keep { break-inside: avoid; page-break-inside: avoid; }
h2, h3 { break-after: avoid; page-break-after: avoid; }
code, .when { font-size: .95em; white-space: nowrap; }
.passed { color: #14532d; font-weight: 600; } .failed, .overdue { color: #8b1a1a; font-weight: 600; }
.incomplete { color: #7a4a00; font-weight: 600; }
.banner { border: 2px solid #555; padding: .5rem .8rem; margin: .6rem 0; }
.banner.passed { border-color: #14532d; } .banner.failed { border-color: #8b1a1a; }
figure { margin: .4rem 0 1rem; } figure img { width: 100%; max-width: 46rem; }
figcaption { font-size: 9pt; color: #333; }
pre { white-space: pre-wrap; word-break: normal; overflow-wrap: normal; font-size: 8.5pt; background: #f4f4f4;
      padding: .4rem; }
@media print { body { max-width: none; margin: 0; padding: 0; } a { color: inherit; } }
"""
_SEPARATORS = re.compile(r"(::|/|_|\.|-|\[|,|=)")


def breakable(value: Any) -> str:
    """Text escaped, with a line-break opportunity after each separator of an id, key or path (`/`, `::`, `_`, `.`,
    `-`, `[`, `,`, `=`): a long one wraps there when it must, never inside a word."""
    return "".join(esc(part) + ("<wbr>" if _SEPARATORS.fullmatch(part) else "")
                   for part in _SEPARATORS.split(str(value)) if part)


def when(text: Any) -> str:
    """A UTC time or a date, never broken across lines (a browser would break it at a hyphen)."""
    return f'<span class="when">{esc(text)}</span>'


def verdict_of(entry: Mapping[str, Any]) -> str:
    """A run's verdict as its ledger line says it; before lines carried one, from its exit status."""
    return str(entry.get("verdict") or ("passed" if entry.get("exit_status") == 0 else "failed"))


def linked(text: str, href: Optional[str]) -> str:
    return f'<a href="{esc(href)}">{breakable(text)}</a>' if href else f"{breakable(text)} (not here)"


def run_row(entry: Mapping[str, Any], link: Link) -> str:
    report = report_of(entry)
    verdict = verdict_of(entry)
    cell = linked(report, link(report)) if report else "no report"
    return (f"<tr><td>{when(entry['started'])}</td><td><code>{esc(entry['run_id'])}</code></td>"
            f'<td class="{esc(verdict)}">{esc(verdict.upper())}</td><td>{esc(entry.get("exit_status"))}</td>'
            f"<td>{esc(outcome_text(entry.get('outcome') or {}))}</td><td>{breakable(entry.get('operator') or '')}</td><td>{cell}</td></tr>")


def runs_tables(history: History, link: Link, level: int = 3) -> str:
    """One table per cadence and host: each run, oldest first, its verdict and its report."""
    head = ("<thead><tr><th>Started (UTC)</th><th>Run id</th><th>Verdict</th><th>Exit</th><th>Checks</th>"
            "<th>Operator</th><th>Report</th></tr></thead>")
    parts = []
    for (cadence, host), entries in history.table().items():
        passed = sum(verdict_of(e) == "passed" for e in entries)
        parts.append(f"<h{level}>{esc(cadence)} on {breakable(host)} — {len(entries)} run(s), {passed} passed"
                     f"</h{level}>"
                     f"<table>{head}<tbody>{''.join(run_row(e, link) for e in entries)}</tbody></table>")
    return "".join(parts) or "<p>No run in the ledger.</p>"


def draw(history: History) -> dict[str, bytes]:
    """metric -> its trend chart (SVG), for every metric the runs measured."""
    from ..charts.trend import trend_chart   # pygal: only when a chart is drawn

    return {metric: trend_chart(METRICS[metric][0] + (f" ({METRICS[metric][1]})" if METRICS[metric][1] != "B" else ""),
                                METRICS[metric][1], series)
            for metric, series in history.series().items()}


def charts_html(charts: Mapping[str, bytes]) -> str:
    figures = [f'<figure><img alt="{esc(METRICS[m][0])} over time" src="data:image/svg+xml;base64,'
               f'{base64.b64encode(svg).decode("ascii")}"><figcaption>{esc(METRICS[m][0])} per run, from the JSON '
               f"summaries' measured values</figcaption></figure>" for m, svg in charts.items()]
    return "".join(figures) or "<p>No measured value in these runs' summaries.</p>"


def page(history: History, charts: Mapping[str, bytes], link: Link, title: str, now: datetime,
         source: str) -> str:
    """The whole history page: what it covers, the charts, the runs per cadence and host, what was not read."""
    span = (f"{len(history.entries)} run(s), {history.entries[0]['started']} to {history.entries[-1]['started']}"
            if history.entries else "no run")
    notes = "".join(f"<li>{breakable(n)}</li>" for n in history.notes)
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{PAGE_CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1><p class=\"meta\">{esc(span)}; from {breakable(source)}; made {esc(utc(now))} "
            "(all times UTC)</p><h2>Trends</h2>" + charts_html(charts)
            + "<h2>Runs per cadence and host</h2>" + runs_tables(history, link)
            + (f"<h2>Not read</h2><ul>{notes}</ul>" if notes else "") + "</body></html>")
