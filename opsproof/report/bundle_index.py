"""index.html of an audit bundle: what an auditor opens first, and prints.

The verification first (intact or its findings), then the period's runs per cadence and host with their verdicts,
the cadences overdue during the period and at its end, the waivers in force, the acknowledgements, the emergency
approvals — each run linking its report inside the bundle — and the way to the history page and to checking the
bundle again. Pure: plain values in, HTML out (history_html.py's stylesheet and helpers).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from .bundle import Plan
from .bundle_check import REPORTS
from .cadence import CadenceState
from .history import History, report_of
from .history_html import PAGE_CSS, breakable, linked, runs_tables, verdict_of, when
from .html import esc
from .run import utc


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f"<p>{esc(empty)}</p>"
    return ("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + f"</tr></thead><tbody>{body}"
            "</tbody></table>")


def _report_cell(entry: Mapping[str, Any], carried: set[str]) -> str:
    report = report_of(entry)
    if not report:
        return "no report"
    return linked(report, f"{REPORTS}/{report}" if report in carried else None)


def _banner(plan: Plan, exit_status: int, verification: str) -> str:
    verdicts = [verdict_of(e) for e in plan.runs]
    failed = sum(v != "passed" for v in verdicts)
    state = "passed" if exit_status == 0 else "failed"
    said = "INTACT" if exit_status == 0 else "PROBLEMS FOUND"
    services = ", ".join(sorted({str(e.get("service")) for e in plan.runs})) or "no run"
    return (f'<div class="banner {state} keep"><p><strong class="{state}">Ledger {said}</strong> when the bundle was '
            f"made (opsproof verify-ledger exit status {exit_status}).</p><p>Service: {breakable(services)}. Period "
            f"{esc(plan.period.text())}: {len(plan.runs)} run(s), {len(plan.runs) - failed} passed, {failed} not "
            f"passed; {len(plan.acks)} acknowledgement(s); {len(plan.files)} file(s) in <code>{REPORTS}/</code>"
            f"{' with the ledger and its signature' if plan.signature else ' with the ledger (not signed)'}.</p></div>"
            f"<pre>{esc(verification)}</pre>")


def _overdue(states: Sequence[CadenceState], lapses: Sequence[Mapping[str, str]], at: datetime) -> str:
    late = [s for s in states if s.overdue(at)]
    end = _table(("Cadence", "Host", "Last full pass", "Due since"),
                 [(esc(s.cadence), breakable(s.host), when(utc(s.last_pass)) if s.last_pass else "never",
                   f'<span class="overdue">{when(utc(s.due))}</span>') for s in late],
                 f"Nothing overdue at {utc(at)}.")
    during = _table(("Cadence", "Host", "Overdue from", "Until (its next full pass)"),
                    [(esc(x["cadence"]), breakable(x["host"]), when(x["since"]), x["until"] and when(x["until"]) or
                      '<span class="overdue">still overdue at the period\'s end</span>') for x in lapses],
                    "No cadence went overdue during the period.")
    return f"<h3>At the period's end ({esc(utc(at))})</h3>{end}<h3>During the period</h3>{during}"


def _waivers(waivers: Sequence[Mapping[str, Any]]) -> str:
    return _table(("Check", "Hosts", "Reason", "Approved by", "Expires", "Failures it covered"),
                  [(breakable(w.get("check", "")), breakable(", ".join(w.get("hosts") or []) or "all"),
                    esc(w.get("reason", "")), esc(w.get("approved_by", "")), when(w.get("expires", "")),
                    "<br>".join(breakable(c) for c in w.get("covered") or []) or "none") for w in waivers],
                  "No waiver was in force in the period's runs.")


def _acks(acks: Sequence[Mapping[str, Any]]) -> str:
    return _table(("When (UTC)", "Host", "By", "What", "Reason"),
                  [(when(a["started"]), breakable(a.get("hosts", "")), esc(a.get("operator", "")),
                    breakable(f"{(a.get('ack') or {}).get('what', '')}: {(a.get('ack') or {}).get('path', '')}"),
                    esc((a.get("ack") or {}).get("reason", ""))) for a in acks],
                  "No acknowledgement in the period.")


def _approvals(runs: Sequence[Mapping[str, Any]], carried: set[str]) -> str:
    return _table(("Run", "Approved by", "At", "Reason", "Source", "Report"),
                  [(f"<code>{esc(r['run_id'])}</code>", esc(r["approval"].get("by", "")),
                    when(r["approval"].get("at", "")), esc(r["approval"].get("reason", "")),
                    breakable(r["approval"].get("source", "")), _report_cell(r, carried))
                   for r in runs if isinstance(r.get("approval"), Mapping)],
                  "No run in the period needed an emergency approval (--ignore-window).")


def index(plan: Plan, verification: str, exit_status: int, states: Sequence[CadenceState],
          lapses: Sequence[Mapping[str, str]], waivers: Sequence[Mapping[str, Any]], at: datetime,
          made: datetime) -> str:
    """The whole index page of a bundle made at `made`, its cadence states judged at `at` (the period's end, or
    `made` when that is earlier)."""
    carried = set(plan.files)
    runs = runs_tables(History(plan.runs), lambda name: f"{REPORTS}/{name}" if name in carried else None)
    left = "".join(f"<li>{breakable(x)}</li>" for x in plan.left_out)
    title = f"Audit bundle {plan.period.first.isoformat()} to {plan.period.last.isoformat()}"
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{PAGE_CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1><p class=\"meta\">Made {esc(utc(made))} by opsproof bundle; all times UTC. Open "
            f'<a href="history.html">history.html</a> for the trend charts of the period.</p>'
            + _banner(plan, exit_status, verification)
            + "<h2>Runs per cadence and host</h2>" + runs
            + "<h2>Overdue cadences</h2>" + _overdue(states, lapses, at)
            + "<h2>Waivers in force</h2>" + _waivers(waivers)
            + "<h2>Acknowledgements</h2>" + _acks(plan.acks)
            + "<h2>Emergency approvals</h2>" + _approvals(plan.runs, carried)
            + (f"<h2>Not carried</h2><ul>{left}</ul>" if left else "")
            + "<h2>Checking this bundle</h2><p class=\"keep\">Unpacked, <code>opsproof verify-ledger "
            f"{esc(plan.top)}</code> checks the ledger's chain and every file of the period against the digests its "
            "lines hold: exit status 0 intact, 1 naming each altered or missing file. The ledger's lines of other "
            "runs name files this bundle does not carry; the check says how many.</p></body></html>")
