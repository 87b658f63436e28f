"""`opsproof init`: a commented starting maintenance.yaml, discovered from the running system (opsproof/discover/).

The survey runs on the target through the same shipped call the checks use (hosts/ship.py: in this process for the
local machine, its python3 over SSH for a remote one); the text is composed here, written without replacing a file
unless --force, and read back through the config loader before the command says it is done.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import config as cfg
from ..files import write_atomic
from ..hosts import reach, ship
from ..hosts.target import TargetError

SURVEY_TIMEOUT_S = 120.0


def _refusal(out: Path, force: bool) -> str:
    """Why `out` cannot be written, or "" when it can."""
    if out.is_dir():
        return f"{out} is a directory: give the file to write with --out"
    if out.exists() and not force:
        return f"{out} exists: not overwritten (give --force to replace it, or --out for another file)"
    if not out.parent.is_dir():
        return f"{out.parent} does not exist: create it, or give another --out"
    return ""


def _write(out: Path, text: str, force: bool) -> None:
    """Write `text` to `out`: created exclusively (a file that appeared meanwhile is not replaced), or with --force
    put in place by a rename."""
    if not force:
        with open(out, "x", encoding="utf-8") as fh:
            fh.write(text)
        return
    write_atomic(out, text)


def init(args: argparse.Namespace) -> int:
    """0 written and valid; 1 the target could not be surveyed, or what was written did not load; 4 bad input."""
    out = Path(args.out)
    refused = _refusal(out, args.force)
    if refused:
        print(f"opsproof: {refused}", file=sys.stderr)
        return 4
    target = reach.at(args.host, SURVEY_TIMEOUT_S)
    try:
        survey = ship.call(target, "opsproof.discover.survey:survey", {"service": args.service, "root": args.root},
                           SURVEY_TIMEOUT_S, dict)
    except TargetError as exc:
        print(f"opsproof: nothing written: could not survey {target.name}: {exc}", file=sys.stderr)
        return 1
    if survey.get("instances"):
        found = "; ".join(f"{item['root'] or '(folder not found)'} (pids {', '.join(map(str, item['pids']))})"
                          for item in survey["instances"])
        which = f"none of them uses {args.root}" if args.root else "choose one with --root DIR"
        print(f"opsproof: nothing written: {survey['service']} runs on {target.name} from more than one folder "
              f"({found}): {which}", file=sys.stderr)
        return 4
    if not survey.get("service"):
        listening = ", ".join(survey.get("candidates") or []) or "none"
        if args.service:
            print(f"opsproof: nothing written: no process on {target.name} is named {args.service!r} (process name, "
                  f"systemd unit or program); programs listening on TCP there: {listening}", file=sys.stderr)
        else:
            print(f"opsproof: nothing written: name the service with --service NAME (programs listening on TCP on "
                  f"{target.name}, besides common infrastructure: {listening})", file=sys.stderr)
        return 4
    if not survey.get("root"):
        print(f"opsproof: nothing written: could not tell where {survey['service']} keeps its files; give --root DIR",
              file=sys.stderr)
        return 4
    from ..discover.compose import compose  # here: the other commands start without the drafting code

    draft = compose(survey, None if target.is_local else args.host, str(out), not target.is_local)
    try:
        _write(out, draft.text, args.force)
    except FileExistsError:
        print(f"opsproof: {out} appeared meanwhile: not overwritten (give --force to replace it)", file=sys.stderr)
        return 4
    except OSError as exc:
        print(f"opsproof: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 4
    try:
        cfg.load(out)
    except cfg.ConfigError as exc:
        print(f"opsproof: {out} was written but does not load (a bug in opsproof init; please report it): {exc}",
              file=sys.stderr)
        return 1
    print(f"{out}: written for {survey['service']} on {target.name} "
          f"({len(draft.found) - 2} section(s) live, {len(draft.left_out)} left commented)")
    print("found:")
    for line in draft.found:
        print(f"  {line}")
    print("left out (commented in the file, with what to add):")
    for line in draft.left_out:
        print(f"  {line}")
    hosts = f" --hosts={args.host}" if args.host and not target.is_local else ""
    print(f"next: opsproof check-config {out} && pytest -m daily --maint-config={out.resolve()}{hosts}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    made = sub.add_parser("init", help="write a commented starting maintenance.yaml from the running system")
    made.add_argument("--host", help="testinfra host spec to discover on, e.g. ssh://web1 (default: this machine)")
    made.add_argument("--service", help="the service: its process name, systemd unit or program (default: the one "
                                        "program listening on TCP besides common infrastructure)")
    made.add_argument("--root", help="the service's folder on the target (default: discovered)")
    made.add_argument("--out", default=cfg.DEFAULT_NAME, help=f"file to write (default: ./{cfg.DEFAULT_NAME})")
    made.add_argument("--force", action="store_true", help="replace the file when it exists")
    made.set_defaults(func=init)
