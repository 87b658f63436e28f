"""`opsproof history`: every run in the ledger per cadence and host, with trend charts of what the checks measured,
as one self-contained HTML page (opsproof/report/history*.py build it; here the options, the file and the exit
status)."""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from ..files import write_atomic
from ..report import history, history_html, ledger
from .common import out_problem

MARK = "<!DOCTYPE html><!-- opsproof history -->"   # a page this command wrote: made again without --force


def history_command(where: str, out: str, force: bool = False) -> int:
    """Write the history page of the ledger at `where` to `out`. Exit 0 written, 4 not a ledger or a bad --out."""
    target = Path(out).absolute()
    found = ledger.verify(where)
    if found.not_ledger:
        print(found.text(), file=sys.stderr)
        return 4
    if target.parent == found.path.parent.absolute() and target.suffix in ledger.REPORT_SUFFIXES:
        print(f"opsproof: --out {target}: not in the report directory, where verify-ledger would name it an orphan "
              "(no ledger line names it)", file=sys.stderr)
        return 4
    problem = out_problem(target, (".html", ".htm"), force, MARK.encode())
    if problem:
        print(f"opsproof: {problem}", file=sys.stderr)
        return 4
    if found.problems:
        print(f"{found.path}: {len(found.problems)} problem(s) in the ledger (opsproof verify-ledger names them); the "
              "history reads the lines as they are", file=sys.stderr)
    view = history.read(found.path.parent, found.entries)
    reports = found.path.parent.absolute()

    def link(name: str) -> str:
        return Path(os.path.relpath(reports / name, target.parent)).as_posix()  # relative: the pair can move

    services = ", ".join(sorted({str(e.get("service")) for e in view.entries})) or "no run"
    page = history_html.page(view, history_html.draw(view), link, f"Run history — {services}",
                             datetime.now(timezone.utc), str(found.path))
    write_atomic(target, MARK + page.removeprefix("<!DOCTYPE html>"))
    for note in view.notes:
        print(f"opsproof: {note}", file=sys.stderr)
    print(f"{target}: {len(view.entries)} run(s), {len(view.series())} chart(s)")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("history", help="every run per cadence and host, with trend charts, as one HTML page")
    parser.add_argument("path", nargs="?", default="reports", help="the report directory or ledger file (reports/)")
    parser.add_argument("--out", default="opsproof-history.html",
                        help="the page to write (default: ./opsproof-history.html; not inside the report directory)")
    parser.add_argument("--force", action="store_true", help="replace --out even when it is not a history page")
    parser.set_defaults(func=lambda a: history_command(a.path, a.out, a.force))
