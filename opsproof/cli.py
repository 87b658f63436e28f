"""The `opsproof` console command: what is not a test run.

    opsproof check-config [PATH]   validate a maintenance config; exit 4 when it is bad
    opsproof summary PATH.json     print a run's JSON summary: the run, its outcome, what failed;
                                   exit 4 when the file is not a summary
    opsproof baseline [--maint-config=PATH] [--host SPEC]
                                   write config_audit.baseline from the files as they are

(The ledger's `verify-ledger` joins here when it is built.)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from . import config as cfg
from .security import baseline as security_baseline
from .report.summary import NotASummary, read_summary, summary_text


def _check_config(args: argparse.Namespace) -> int:
    path, source = cfg.find(args.path, str(Path.cwd()))
    try:
        maint = cfg.load(path, source)
    except cfg.ConfigError as exc:
        print(f"opsproof: bad maintenance config: {exc}", file=sys.stderr)
        return 4
    sections = [name for name in cfg.Maint.model_fields if name not in ("service", "root", "path", "sha256",
                "state_dir", "command_timeout_s") and getattr(maint, name) is not None]
    print(f"{maint.path}: valid (sha256 {maint.sha256})")
    print(f"service {maint.service}; root {maint.root}; state {maint.state_dir}")
    print(f"sections: {', '.join(sections) or '(none)'}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    try:
        text = Path(args.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"opsproof: cannot read {args.path}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 4
    try:
        summary = read_summary(text)
    except NotASummary as exc:
        print(f"opsproof: {args.path} is not an opsproof JSON summary: {exc}", file=sys.stderr)
        return 4
    print(summary_text(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opsproof", description="opsproof: check, maintain, prove.")
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
    base.set_defaults(func=lambda a: security_baseline.run(a.path, a.host))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
