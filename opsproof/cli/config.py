"""`opsproof check-config`, `opsproof summary` and `opsproof baseline`: a config validated, a run's JSON summary
printed, config_audit's baseline written."""
from __future__ import annotations

import argparse
import sys

from .. import config as cfg
from ..config import inputs
from ..hosts import reach
from ..hosts.target import TargetError
from ..report.summary import MAX_BYTES as SUMMARY_MAX_BYTES, NotASummary, read_summary, summary_text
from ..security.confaudit import write_baseline
from .common import CONFIG_DEFAULT, load_maint, load_with


def check_config(args: argparse.Namespace) -> int:
    maint = load_maint(args.path)
    if maint is None:
        return 4
    internal = ("service", "root", "path", "sha256", "state_dir", "work_dir", "groups", "settings")
    sections = [name for name in cfg.Maint.model_fields if name in maint.model_fields_set and name not in internal]
    print(f"{maint.path}: valid (sha256 {maint.sha256})")
    print(f"service {maint.service}; root {maint.root}; state {maint.state_dir}")
    print(f"sections: {', '.join(sections) or '(none)'}")
    return 0


def summary(args: argparse.Namespace) -> int:
    try:
        text = inputs.read_bytes(args.path, SUMMARY_MAX_BYTES, "give the JSON summary written beside a report")
    except inputs.InputError as exc:  # a FIFO, a device, a directory, too large: one line, nothing read
        print(f"opsproof: {exc}", file=sys.stderr)
        return 4
    except OSError as exc:
        print(f"opsproof: cannot read {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 4
    try:
        found = read_summary(text)
    except NotASummary as exc:
        print(f"opsproof: {args.path} is not an opsproof JSON summary: {exc}", file=sys.stderr)
        return 4
    print(summary_text(found))
    return 0


def baseline(args: argparse.Namespace) -> int:
    """Write the baseline on --host (a testinfra spec; default the local machine); 0 written, 1 failed, 4 a bad
    config or no config_audit section."""
    maint = load_with(args.path, "config_audit", "nothing to baseline")
    if maint is None:
        return 4
    target = reach.at(args.host, maint.command_timeout_s)
    try:
        written = write_baseline(target, maint.config_audit, maint.root)
    except TargetError as exc:
        print(f"opsproof: baseline not written: {exc}", file=sys.stderr)
        return 1
    if not written.written:
        for pattern in written.unmatched:
            print(f"opsproof: config_audit.files: {pattern} matches no file on {target.name}", file=sys.stderr)
        print(f"opsproof: baseline not written: fix config_audit.files in {maint.path} (globs relative to root)",
              file=sys.stderr)
        return 1
    print(f"{written.path}: {len(written.files)} file(s) recorded (check with: cd {maint.root} && sha256sum -c "
          f"{written.path})")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("check-config", help="validate a maintenance config (exit 4 when bad)")
    check.add_argument("path", nargs="?", help=f"config file (default: {CONFIG_DEFAULT})")
    check.set_defaults(func=check_config)
    read = sub.add_parser("summary", help="print a run's JSON summary (exit 4 when the file is not one)")
    read.add_argument("path", help="a JSON summary from reports/ (written beside each HTML report)")
    read.set_defaults(func=summary)
    base = sub.add_parser("baseline", help="write config_audit.baseline (sha256sum format) from the files as they are")
    base.add_argument("--maint-config", dest="path", help=f"config file (default: {CONFIG_DEFAULT})")
    base.add_argument("--host", help="testinfra host spec of the target (default: this machine)")
    base.set_defaults(func=baseline)
