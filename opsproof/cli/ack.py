"""`opsproof ack errorlog`: acknowledge the error lines counted so far, in the host's state and the ledger."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..report import ledger
from .common import CONFIG_DEFAULT, load_with


def ack_errorlog(args: argparse.Namespace) -> int:
    """Record the acknowledgement in the host's state and the ledger; 0 done, 1 the log could not be read, 4 bad input."""
    from ..hosts import reach
    from ..hosts.state import StateStore
    from ..logs import ack
    from ..report.redact import Redactor, config_secrets
    from ..report.run import current_operator

    maint = load_with(args.maint_config, "logs", "no error log to acknowledge")
    if maint is None:
        return 4
    if not args.reason.strip():
        print("opsproof: --reason is empty: say why the errors are acknowledged (it goes into the ledger)",
              file=sys.stderr)
        return 4
    report_dir = Path(args.report_dir or Path(Path(maint.path).parent, "reports"))
    unwritable = ack.unwritable(report_dir, Path(maint.state_dir))
    if unwritable:
        print(f"opsproof: not acknowledged, nothing changed: {unwritable}", file=sys.stderr)
        return 4
    red = Redactor(config_secrets(maint))
    target = reach.at(args.host, maint.command_timeout_s)
    state = StateStore(maint.state_dir, target.name)
    done = ack.acknowledge(target, maint.logs.error_log, red.text(args.by or current_operator()),
                           red.text(args.reason.strip()))
    if done.error:
        print(f"opsproof: not acknowledged: {done.error}", file=sys.stderr)
        return 1
    try:
        warning = ack.commit(done, state, report_dir, maint.service, maint.path, maint.sha256, maint.state_dir)
    except ledger.LedgerError as exc:  # changed since the check above (a lock held too long, a line over the bound)
        print(f"opsproof: not acknowledged, nothing changed: {exc}", file=sys.stderr)
        return 4
    except OSError as exc:
        print(f"opsproof: not acknowledged, nothing changed: cannot write {getattr(exc, 'filename', None) or report_dir}"
              f" ({exc.strerror or exc})", file=sys.stderr)
        return 1
    print(f"{done.path} on {done.host}: acknowledged up to byte {done.offset} by {done.by}; recorded in "
          f"{report_dir / ledger.NAME}")
    if warning:
        print(f"opsproof: warning: {warning}", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    acks = sub.add_parser("ack", help="acknowledge what a failing check keeps counting (errorlog)")
    acks.add_argument("what", choices=["errorlog"], help="errorlog: the error lines counted so far")
    acks.add_argument("--reason", required=True, help="why (recorded in the state and the ledger)")
    acks.add_argument("--by", help="who acknowledges (default: $OPSPROOF_OPERATOR, else the login name)")
    acks.add_argument("--maint-config", help=f"config file (default: {CONFIG_DEFAULT})")
    acks.add_argument("--host", help="testinfra host spec of the target (default: this machine)")
    acks.add_argument("--report-dir", help="where the ledger is (default: reports/ beside the config)")
    acks.set_defaults(func=ack_errorlog)
