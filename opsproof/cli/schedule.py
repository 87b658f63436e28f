"""`opsproof schedule`: print, write or install the schedule's files; `--list` the next runs beside the window.

What is written and when it runs is opsproof.process.timerunits' (and timers', pure); here the options are read,
what was done is said, and the exit status decided: 0 done, 4 a bad config, a refused request (--install without
root) or a calendar cron cannot hold.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from ..process import timerunits
from ..process.timers import CronError
from .common import CONFIG_DEFAULT, load_maint


def schedule(args: argparse.Namespace) -> int:
    maint = load_maint(args.maint_config)
    if maint is None:
        return 4
    try:
        plan = timerunits.plan_for(maint)
        if args.list:
            print(timerunits.listing(plan, maint.window, datetime.now(timezone.utc)))
            return 0
        files = timerunits.files_of(plan, args.cron)
        if args.dry_run:
            for name, text in files.items():
                print(f"# --- {name} (not written: --dry-run)\n{text}")
        elif args.install:
            done = timerunits.install(files, args.cron)
            print(f"wrote {done.paths[0]}" if args.cron else
                  f"wrote {len(done.paths)} units to {done.directory}; enabled {', '.join(done.enabled)}")
        else:
            print("\n".join(map(str, timerunits.write(files, Path(args.target_dir)))))
        return 0
    except CronError as exc:
        print(f"opsproof: schedule: {exc}: write a simpler calendar or use systemd timers", file=sys.stderr)
    except (timerunits.Refused, OSError) as exc:
        print(f"opsproof: schedule: {exc}", file=sys.stderr)
    return 4


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedule", help="systemd timers (or --cron lines) for the cadences; --list the next runs")
    p.add_argument("--maint-config", help=f"config file (default: {CONFIG_DEFAULT})")
    p.add_argument("--cron", action="store_true", help="an /etc/cron.d file instead of systemd units")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--dry-run", action="store_true", help="print what would be written; write nothing")
    what.add_argument("--target-dir", metavar="DIR", help="write the files into DIR")
    what.add_argument("--install", action="store_true", help="as root: write to /etc, reload systemd, enable the timers")
    what.add_argument("--list", action="store_true", help="the next five runs of each timer beside the next windows")
    p.set_defaults(func=schedule)
