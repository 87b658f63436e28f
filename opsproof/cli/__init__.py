"""The `opsproof` console command: what is not a test run. It sits above the library (nothing in opsproof/ imports
it): reading the options, printing and the exit status are here, one module per group — config.py (check-config,
summary, baseline), ledger.py (verify-ledger, sign-ledger, status), schedule.py, ack.py, init.py, bundle.py,
history.py; the library returns records.

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
    opsproof init [--host SPEC] [--service NAME] [--root DIR] [--out PATH] [--force]
                                   write a commented starting config discovered from the running system; exit 4
                                   when the file exists (without --force) or the service cannot be told
    opsproof bundle [DIR-or-FILE] --from DATE --to DATE --out FILE.tar.gz [--force]
                                   one archive for an audit period: the period's reports, JSON and JUnit files,
                                   the whole ledger and signature, the verification, index.html; exit 1 when the
                                   ledger has problems (still written), 4 a bad date or --out (nothing written)
    opsproof history [DIR-or-FILE] [--out FILE.html] [--force]
                                   every run per cadence and host with trend charts of measured values

Exit status, as a test run's: 0 done; 1 a finding (verify-ledger, status: see above); 4 a bad config, file or
usage — an unknown command or option, a missing or bad argument: the usage line, then one `opsproof ...: error:`
line (argparse alone would exit 2). `--help` and `--version` exit 0.
"""
from __future__ import annotations

from .. import __version__
from . import ack, bundle, config, history, init, ledger, schedule
from .common import Parser


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="opsproof", description="opsproof: check, maintain, prove.")
    parser.add_argument("--version", action="version", version=f"opsproof {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    config.add_parsers(sub)
    ledger.add_parsers(sub)
    schedule.add_parser(sub)
    ack.add_parser(sub)
    init.add_parser(sub)
    bundle.add_parser(sub)
    history.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)

