"""`opsproof bundle`: one .tar.gz for an audit period (opsproof/report/bundle*.py decide and build it; here the
options, the verification at bundling time, the one file written and the exit status)."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from ..config.cadences import Cadences
from ..files import write_atomic
from ..report import bundle, bundle_index, cadence, history, history_html
from ..report.bundle_check import MANIFEST, Period
from ..report.run import utc
from ..report.summary import to_json
from .common import CONFIG_DEFAULT, config_in_effect, load_maint, out_problem
from .ledger import verified


def bundle_command(where: str, first: str, last: str, out: str, force: bool = False,
                   allowed_signers: Optional[str] = None, maint_config: Optional[str] = None,
                   state_dir: Optional[str] = None) -> int:
    """Exit 0 written and the ledger intact; 1 written, the ledger has problems (named, and in the bundle); 4 nothing
    written: a bad date, --out or config, or no ledger."""
    try:
        period = Period.parse(first, last)
    except ValueError as exc:
        print(f"opsproof: {exc}", file=sys.stderr)
        return 4
    target = Path(out).absolute()
    problem = out_problem(target, (".tar.gz", ".tgz"), force)
    if problem:
        print(f"opsproof: {problem}", file=sys.stderr)
        return 4
    cadences = Cadences()
    if state_dir:
        state_dir = str(Path(state_dir).absolute())
    elif config_in_effect(maint_config):
        maint = load_maint(maint_config)
        if maint is None:
            return 4
        state_dir, cadences = maint.state_dir, maint.cadences
    found, signed = verified(where, allowed_signers, state_dir)
    if found.not_ledger:
        print(found.text(), file=sys.stderr)
        return 4
    verification = "\n".join(["$ opsproof verify-ledger (when the bundle was made)", found.text()] +
                             ([signed] if signed else []))
    made = datetime.now(timezone.utc)
    at = min(period.end, made)
    plan = bundle.plan(found.path, period, found.entries)
    before = [e for e in found.entries if e.get("started") and e["started"] < utc(at)]
    view = history.read(found.path.parent, plan.runs)
    carried = set(plan.files)
    pages = {
        "index.html": bundle_index.index(
            plan, verification, found.exit_status, cadence.states(before, cadences.grace, cadences.periods()),
            bundle.lapses(found.entries, period, made, cadences.grace, cadences.periods()),
            bundle.waivers_in_force(plan.runs), at, made),
        "history.html": history_html.page(view, history_html.draw(view),
                                          lambda name: f"reports/{name}" if name in carried else None,
                                          f"Run history {period.text()}", made, "the bundle's reports/ledger.jsonl"),
        "verify-ledger.txt": verification + "\n",
        MANIFEST: to_json(bundle.manifest(plan, made, found.exit_status)),
    }
    write_atomic(target, bundle.archive(plan, pages, made))
    for note in plan.left_out + view.notes:
        print(f"opsproof: {note}", file=sys.stderr)
    if not plan.runs:
        print(f"opsproof: no run in the ledger started in {period.text()}", file=sys.stderr)
    state = "the ledger intact" if found.exit_status == 0 else f"{len(found.problems)} problem(s) in the ledger:"
    print(f"{target}: {len(plan.runs)} run(s), {len(plan.acks)} acknowledgement(s), {len(plan.files)} file(s) "
          f"of {period.text()}, the whole ledger{' and its signature' if plan.signature else ''}; {state}")
    for line in found.problems:
        print(f"  {line}", file=sys.stderr)
    return found.exit_status


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bundle", help="one .tar.gz for an audit period: reports, ledger, verification, index")
    parser.add_argument("path", nargs="?", default="reports", help="the report directory or ledger file (reports/)")
    parser.add_argument("--from", dest="first", required=True, metavar="DATE", help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--to", dest="last", required=True, metavar="DATE", help="last day, YYYY-MM-DD (UTC), included")
    parser.add_argument("--out", required=True, metavar="FILE.tar.gz", help="the archive to write (never replaced "
                        "without --force; its folder must exist)")
    parser.add_argument("--force", action="store_true", help="replace --out when it exists")
    parser.add_argument("--allowed-signers", help="check ledger.jsonl.sig against this allowed-signers file")
    parser.add_argument("--maint-config", help="config whose state_dir holds the ledger's head and whose cadences: set "
                        f"periods and grace (default: {CONFIG_DEFAULT} when there is one)")
    parser.add_argument("--state-dir", help="the state_dir itself (default: the config's)")
    parser.set_defaults(func=lambda a: bundle_command(a.path, a.first, a.last, a.out, a.force, a.allowed_signers,
                                                      a.maint_config, a.state_dir))
