"""The `opsproof` console command: what is not a test run.

    opsproof check-config [PATH]   validate a maintenance config; exit 4 when it is bad
    opsproof summary PATH.json     print a run's JSON summary: the run, its outcome, what failed;
                                   exit 4 when the file is not a summary
    opsproof baseline [--maint-config=PATH] [--host SPEC]
                                   write config_audit.baseline from the files as they are
    opsproof verify-ledger [DIR-or-FILE] [--allowed-signers FILE] [--maint-config=PATH | --state-dir=DIR]
                                   0 intact, 1 naming each altered/missing/orphan file, broken link, cut-short
                                   end (from the head kept in state_dir) and bad signature, 4 not a ledger
    opsproof sign-ledger [DIR-or-FILE] --key KEY
                                   sign the ledger's head line (ssh-keygen -Y sign, namespace opsproof)
    opsproof status [DIR-or-FILE] [--maint-config=PATH]
                                   each cadence's last run and last full pass per host; exit 1 when overdue
    opsproof schedule (--dry-run | --target-dir DIR | --install | --list) [--cron] [--maint-config=PATH]
                                   systemd timers (or cron lines) for the cadences; --list: next runs and windows
    opsproof ack errorlog --reason TEXT [--maint-config=PATH] [--host SPEC] [--by NAME] [--report-dir DIR]
                                   acknowledge the error lines counted so far: every selection counts past them

Exit status, as a test run's: 0 done; 1 a finding (verify-ledger, status: see above); 4 a bad config, file or
usage — an unknown command or option, a missing or bad argument: the usage line, then one `opsproof ...: error:`
line (argparse alone would exit 2). `--help` and `--version` exit 0.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn, Optional

from . import __version__
from . import config as cfg
from .config import inputs
from .config.cadences import Cadences
from .config.timers import Timers
from .process import timercmd
from .security import baseline as security_baseline
from .report import cadence, ledger, ledger_sign
from .report.summary import MAX_BYTES as SUMMARY_MAX_BYTES, NotASummary, read_summary, summary_text


def _maint(path: Optional[str]) -> Optional[cfg.Maint]:
    """The config a command works on (--maint-config, else $OPSPROOF_CONFIG, else ./maintenance.yaml), or None
    after saying on stderr what is wrong with it (the command then exits 4)."""
    found, source = cfg.find(path, str(Path.cwd()))
    try:
        return cfg.load(found, source)
    except cfg.ConfigError as exc:
        print(f"opsproof: bad maintenance config: {exc}", file=sys.stderr)
        return None


def _check_config(args: argparse.Namespace) -> int:
    maint = _maint(args.path)
    if maint is None:
        return 4
    sections = [name for name in cfg.Maint.model_fields if name not in ("service", "root", "path", "sha256",
                "state_dir", "command_timeout_s") and getattr(maint, name) not in (None, Cadences(), Timers())]
    print(f"{maint.path}: valid (sha256 {maint.sha256})")
    print(f"service {maint.service}; root {maint.root}; state {maint.state_dir}")
    print(f"sections: {', '.join(sections) or '(none)'}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    try:
        text = inputs.read_bytes(args.path, SUMMARY_MAX_BYTES, "give the JSON summary written beside a report")
    except inputs.InputError as exc:  # a FIFO, a device, a directory, too large: one line, nothing read
        print(f"opsproof: {exc}", file=sys.stderr)
        return 4
    except OSError as exc:
        print(f"opsproof: cannot read {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 4
    try:
        summary = read_summary(text)
    except NotASummary as exc:
        print(f"opsproof: {args.path} is not an opsproof JSON summary: {exc}", file=sys.stderr)
        return 4
    print(summary_text(summary))
    return 0


def _status(args: argparse.Namespace) -> int:
    """The cadence table, with the periods and grace of the config in effect (the pytest run's config:
    --maint-config, else $OPSPROOF_CONFIG, else ./maintenance.yaml when there is one; else the defaults)."""
    path, source = cfg.find(args.maint_config, str(Path.cwd()))
    cadences, origin = Cadences(), "the defaults"
    if args.maint_config or source == cfg.ENV_VAR or path.is_file():
        try:
            cadences, origin = cfg.load(path, source).cadences, str(path)
        except cfg.ConfigError as exc:
            print(f"opsproof: bad maintenance config: {exc}", file=sys.stderr)
            return 4
    periods = ", ".join(f"{name} {cadence.span(value)}" for name, value in cadences.periods().items())
    print(f"periods {periods}; grace {cadence.span(cadences.grace)} (from {origin})")
    return cadence.status_command(args.path, datetime.now(timezone.utc), cadences.grace, cadences.periods())


def _verify_ledger(args: argparse.Namespace) -> int:
    """The ledger's chain, files and signature; its end against the head this machine last wrote, kept in the run's
    state_dir: --state-dir, else the config's (--maint-config, else $OPSPROOF_CONFIG, else ./maintenance.yaml when
    there is one); with none, the end is not checked and the output says so."""
    state_dir = args.state_dir and str(Path(args.state_dir).absolute())
    if not state_dir:
        path, source = cfg.find(args.maint_config, str(Path.cwd()))
        if args.maint_config or source == cfg.ENV_VAR or path.is_file():
            maint = _maint(args.maint_config)
            if maint is None:
                return 4
            state_dir = maint.state_dir
    return ledger.verify_command(args.path, args.allowed_signers, state_dir)


def _ack(args: argparse.Namespace) -> int:
    """Record the acknowledgement in the host's state and the ledger; 0 done, 1 the log could not be read, 4 bad input."""
    import testinfra

    from .hosts.state import StateStore
    from .hosts.target import Target
    from .logs import ack
    from .report.redact import Redactor, config_secrets
    from .report.run import current_operator

    maint = _maint(args.maint_config)
    if maint is None:
        return 4
    if maint.logs is None:
        print(f"opsproof: {maint.path} has no logs section: no error log to acknowledge", file=sys.stderr)
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
    target = Target(testinfra.get_host(args.host or "local://"), maint.command_timeout_s)
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


class _Parser(argparse.ArgumentParser):
    """argparse with opsproof's exit status for bad usage, 4 (argparse's is 2); its subcommands' parsers are of this
    class too (add_subparsers makes them of their parent's)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(4, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="opsproof", description="opsproof: check, maintain, prove.")
    parser.add_argument("--version", action="version", version=f"opsproof {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check-config", help="validate a maintenance config (exit 4 when bad)")
    check.add_argument("path", nargs="?", help=f"config file (default: ${cfg.ENV_VAR}, else ./{cfg.DEFAULT_NAME})")
    check.set_defaults(func=_check_config)
    summary = sub.add_parser("summary", help="print a run's JSON summary (exit 4 when the file is not one)")
    summary.add_argument("path", help="a JSON summary from reports/ (written beside each HTML report)")
    summary.set_defaults(func=_summary)
    base = sub.add_parser("baseline", help="write config_audit.baseline (sha256sum format) from the files as they are")
    base.add_argument("--maint-config", dest="path", help=f"config file (default: ${cfg.ENV_VAR}, else ./{cfg.DEFAULT_NAME})")
    base.add_argument("--host", help="testinfra host spec of the target (default: this machine)")
    base.set_defaults(func=lambda a: 4 if (m := _maint(a.path)) is None else security_baseline.run(m, a.host))
    verify = sub.add_parser("verify-ledger", help="check the ledger's chain and every report it lists")
    verify.add_argument("path", nargs="?", default="reports", help="the report directory or ledger file (reports/)")
    verify.add_argument("--allowed-signers", help="verify ledger.jsonl.sig against this allowed-signers file "
                        "(without it, a .sig is still checked over the head line, whoever's key made it)")
    verify.add_argument("--maint-config", help=f"config whose state_dir holds the head this machine last wrote "
                        f"(default: ${cfg.ENV_VAR}, else ./{cfg.DEFAULT_NAME} when there is one)")
    verify.add_argument("--state-dir", help="the state_dir itself (default: the config's)")
    verify.set_defaults(func=_verify_ledger)
    sign = sub.add_parser("sign-ledger", help="sign the ledger's head line with an SSH key (ssh-keygen -Y sign)")
    sign.add_argument("path", nargs="?", default="reports", help="the report directory or ledger file (reports/)")
    sign.add_argument("--key", required=True, help="private key (or public key of one in ssh-agent)")
    sign.set_defaults(func=lambda a: ledger_sign.sign_command(a.path, a.key))
    status = sub.add_parser("status", help="each cadence's last run, last full pass and what is overdue")
    status.add_argument("path", nargs="?", default="reports", help="the report directory or ledger file (reports/)")
    status.add_argument("--maint-config", help=f"config whose cadences: section sets periods and grace "
                        f"(default: ${cfg.ENV_VAR}, else ./{cfg.DEFAULT_NAME} when there is one)")
    status.set_defaults(func=_status)
    timercmd.add_parser(sub)
    acks = sub.add_parser("ack", help="acknowledge what a failing check keeps counting (errorlog)")
    acks.add_argument("what", choices=["errorlog"], help="errorlog: the error lines counted so far")
    acks.add_argument("--reason", required=True, help="why (recorded in the state and the ledger)")
    acks.add_argument("--by", help="who acknowledges (default: $OPSPROOF_OPERATOR, else the login name)")
    acks.add_argument("--maint-config", help=f"config file (default: ${cfg.ENV_VAR}, else ./{cfg.DEFAULT_NAME})")
    acks.add_argument("--host", help="testinfra host spec of the target (default: this machine)")
    acks.add_argument("--report-dir", help="where the ledger is (default: reports/ beside the config)")
    acks.set_defaults(func=_ack)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
