"""`opsproof verify-ledger`, `opsproof sign-ledger` and `opsproof status`: the audit trail read, signed, and read as
each cadence's state. The library (report/ledger*.py, report/cadence.py) returns records; here they are printed
and turned into the exit status."""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping, Optional

from .. import config as cfg
from ..config.cadences import Cadences
from ..report import bundle_check, cadence, ledger
from ..report.ledger_sign import NAMESPACE, SignError, check_signature, sign, signature_path, verify_signature
from .common import CONFIG_DEFAULT, config_in_effect, load_maint


def verify_ledger(args: argparse.Namespace) -> int:
    """The ledger's end is checked against the head this machine last wrote, kept in the run's state_dir:
    --state-dir, else the config's (--maint-config, else $OPSPROOF_CONFIG, else ./maintenance.yaml when there is
    one); with none, the end is not checked and the output says so."""
    state_dir = args.state_dir and str(Path(args.state_dir).absolute())
    if not state_dir and config_in_effect(args.maint_config):
        maint = load_maint(args.maint_config)
        if maint is None:
            return 4
        state_dir = maint.state_dir
    return verify_command(args.path, args.allowed_signers, state_dir)


def verify_command(where: str, allowed_signers: Optional[str] = None,
                   state_dir: str | os.PathLike[str] | None = None) -> int:
    """The ledger's chain, files and signature, printed; the exit status: 0 intact, 1 problems named, 4 not a ledger.
    A ledger.jsonl.sig beside the ledger is always checked over the head line: against the allowed signers when
    given, else that it holds at all. In an unpacked audit bundle (`where` is it, its reports/ or the ledger there),
    the files of runs outside its period are not expected (report/bundle_check.py)."""
    top = bundle_check.bundle_top(where)
    manifest = None
    if top is not None:  # an unpacked audit bundle: its ledger is in reports/, its manifest names the period
        try:
            manifest = bundle_check.read_manifest(top)
        except cfg.ConfigError as exc:
            print(f"opsproof: {exc}", file=sys.stderr)
            return 4
        where = str(top / bundle_check.REPORTS)
    result, signed = verified(where, allowed_signers, state_dir)
    if manifest is not None and result.exit_status != 4:
        bundle_check.relax(result, manifest)
    print(result.text(), file=sys.stdout if result.exit_status == 0 else sys.stderr)
    if signed:
        print(signed)
    return result.exit_status


def verified(where: str, allowed_signers: Optional[str] = None,
             state_dir: str | os.PathLike[str] | None = None) -> tuple[ledger.Verification, str]:
    """The ledger's chain and files (ledger.verify) and its signature when there is one: the findings (a bad signature
    among the problems) and what the good signature says ("" without one)."""
    result = ledger.verify(where, state_dir)
    signed = ""
    if result.exit_status != 4 and (allowed_signers or signature_path(result.path).exists()):
        ok, message = (verify_signature(result.path, Path(allowed_signers)) if allowed_signers
                       else check_signature(result.path))
        if ok:
            signed = message
        else:
            result.problems.append(message)
    return result, signed


def sign_command(where: str, key: str) -> int:
    """Sign the ledger's head line; exit 0 signed, 1 ssh-keygen refused, 4 nothing to sign."""
    path = ledger.ledger_path(where)
    if not path.is_file():
        print(f"opsproof: no ledger at {path}", file=sys.stderr)
        return 4
    try:
        target = sign(path, Path(key))
    except SignError as exc:
        print(f"opsproof: {exc}", file=sys.stderr)
        return 1
    print(f"{target}: the head line signed with {key} (namespace {NAMESPACE})")
    return 0


def status(args: argparse.Namespace) -> int:
    """Each cadence's last run and last full pass per host, and what is overdue, with the periods and grace of the
    config in effect (the pytest run's: --maint-config, else $OPSPROOF_CONFIG, else ./maintenance.yaml when there is
    one; else the defaults). Exit 0 nothing overdue, 1 something is, 4 not a ledger (or a bad config)."""
    cadences, origin = Cadences(), "the defaults"
    given = config_in_effect(args.maint_config)
    if given:
        maint = load_maint(args.maint_config)
        if maint is None:
            return 4
        cadences, origin = maint.cadences, str(given[0])
    periods = ", ".join(f"{name} {cadence.span(value)}" for name, value in cadences.periods().items())
    print(f"periods {periods}; grace {cadence.span(cadences.grace)} (from {origin})")
    return status_command(args.path, datetime.now(timezone.utc), cadences.grace, cadences.periods())


def status_command(where: str, now: datetime, grace: timedelta = timedelta(0),
                 periods: Optional[Mapping[str, timedelta]] = None) -> int:
    """The cadence table of the ledger at `where` as of `now` (`periods`: cadence.PERIODS by default), and the exit
    status it makes."""
    found = ledger.verify(where)
    if found.not_ledger:
        print(found.text(), file=sys.stderr)
        return 4
    if found.problems:
        print(f"{found.path}: {len(found.problems)} problem(s) in the ledger (opsproof verify-ledger names them); "
              "the table reads the lines as they are", file=sys.stderr)
    table = cadence.states(found.entries, grace, periods)
    print(cadence.status_text(table, now))
    return 1 if any(s.overdue(now) for s in table) else 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    verify = sub.add_parser("verify-ledger", help="check the ledger's chain and every report it lists")
    verify.add_argument("path", nargs="?", default="reports", help="the report directory or ledger file (reports/)")
    verify.add_argument("--allowed-signers", help="verify ledger.jsonl.sig against this allowed-signers file "
                        "(without it, a .sig is still checked over the head line, whoever's key made it)")
    verify.add_argument("--maint-config", help="config whose state_dir holds the head this machine last wrote "
                        f"(default: {CONFIG_DEFAULT} when there is one)")
    verify.add_argument("--state-dir", help="the state_dir itself (default: the config's)")
    verify.set_defaults(func=verify_ledger)
    signing = sub.add_parser("sign-ledger", help="sign the ledger's head line with an SSH key (ssh-keygen -Y sign)")
    signing.add_argument("path", nargs="?", default="reports", help="the report directory or ledger file (reports/)")
    signing.add_argument("--key", required=True, help="private key (or public key of one in ssh-agent)")
    signing.set_defaults(func=lambda a: sign_command(a.path, a.key))
    state = sub.add_parser("status", help="each cadence's last run, last full pass and what is overdue")
    state.add_argument("path", nargs="?", default="reports", help="the report directory or ledger file (reports/)")
    state.add_argument("--maint-config", help="config whose cadences: section sets periods and grace "
                       f"(default: {CONFIG_DEFAULT} when there is one)")
    state.set_defaults(func=status)
