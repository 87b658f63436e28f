"""`opsproof schedule`: print, write or install the schedule's files; `--list` the next runs beside the window.

The files come from opsproof.process.timers (pure); this module resolves the defaults (this checkout, this
interpreter, this user), asks `systemd-analyze calendar` when the timers elapse, and does the writing.
Exit status: 0 done, 4 a bad config, a refused request (--install without root) or a calendar cron cannot hold.
"""
from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from .. import config as cfg
from .timers import CronError, Plan, crontab, plan_of, systemd_files
from .window import Occurrence, schedule_of

CHECKOUT = Path(__file__).resolve().parents[2]       # the folder holding pytest.ini, checks/ and opsproof/
UNIT_DIR = Path("/etc/systemd/system")
CRON_FILE = Path("/etc/cron.d/opsproof")
_ELAPSE = re.compile(r"^\s*(Next elapse|Iter\. #\d+|\(in UTC\)):\s+(.+?)\s*$")
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")


class Refused(Exception):
    """What the command will not do, in one line."""


def elapses(expression: str, count: int = 5, base: Optional[str] = None,
            timeout_s: float = 10) -> list[tuple[str, datetime]]:
    """The next `count` elapses of a calendar expression as systemd computes them: (as systemd prints it, the
    UTC instant). Raises Refused when systemd-analyze is missing or refuses the expression."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        raise Refused("systemd-analyze is not installed (Debian: apt-get install systemd): next runs not computed")
    argv = [tool, "calendar", f"--iterations={count}", expression] + ([f"--base-time={base}"] if base else [])
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise Refused(f"systemd-analyze calendar gave no answer within {timeout_s:g} s") from None
    if done.returncode != 0:
        raise Refused(f"systemd-analyze calendar refused {expression!r}: {done.stderr.strip() or done.stdout.strip()}")
    found: list[tuple[str, datetime]] = []
    for line in done.stdout.splitlines():
        match = _ELAPSE.match(line)
        stamp = _STAMP.search(match.group(2)) if match else None
        if not match or not stamp:
            continue
        instant = datetime.fromisoformat(stamp.group(1)).replace(tzinfo=timezone.utc)
        if match.group(1) == "(in UTC)" and found:
            found[-1] = (found[-1][0], instant)
        elif match.group(1) != "(in UTC)":
            found.append((match.group(2), instant))    # printed in UTC unless an "(in UTC)" line follows
    return found


def windows(window: cfg.Window, now: datetime, count: int = 5) -> list[Occurrence]:
    """The next `count` maintenance windows (the one open now first, when one is)."""
    sched = schedule_of(window)
    found = [occ for occ in [sched.current(now)] if occ]
    while len(found) < count:
        nxt = sched.next(found[-1].start if found else now)
        if nxt is None:
            break
        found.append(nxt)
    return found


def listing(plan: Plan, window: Optional[cfg.Window], now: datetime) -> str:
    """The next five runs of each timer (local and UTC), and beside them the next five windows."""
    sched = schedule_of(window) if window else None
    lines = [f"timers for {plan.service} (next 5 runs from systemd-analyze calendar; local time, then UTC):"]
    for cadence, expression in plan.timers.cadences().items():
        lines.append(f"  {cadence:<10} OnCalendar={expression}   {plan.what(cadence)}")
        try:
            runs = elapses(expression)
        except Refused as exc:
            lines.append(f"    {exc}")
            continue
        for shown, instant in runs:
            inside = sched is not None and sched.current(instant) is not None
            lines.append(f"    {shown:<32} {instant:%Y-%m-%d %H:%M}Z{'   inside the window' if inside else ''}")
    if window is None or sched is None:
        lines.append("maintenance window: no window: section in the config")
    else:
        lines.append(f"maintenance window RRULE {window.rrule}, {window.start} for {window.duration}, "
                     f"{window.timezone} (next 5; local, then UTC):")
        lines += [f"    {o.local(sched.tz)}   {o.utc()}" for o in windows(window, now)] or ["    the rule has no future window"]
    if plan.timers.randomized_delay.total_seconds():
        lines.append(f"each timer run may start up to {plan.timers.randomized_delay} later (randomized_delay)")
    return "\n".join(lines)


def _plan(args: argparse.Namespace) -> tuple[Plan, cfg.Maint]:
    path, source = cfg.find(args.maint_config, str(Path.cwd()))
    maint = cfg.load(path, source)
    checkout = maint.schedule.checkout or str(CHECKOUT)
    if not (Path(checkout, "pytest.ini").is_file() and Path(checkout, "checks").is_dir()):
        raise Refused(f"{checkout} is not an opsproof checkout (no pytest.ini and checks/): set schedule.checkout")
    user = pwd.getpwuid(os.geteuid()).pw_name
    return plan_of(maint.schedule, maint.service, maint.path, checkout, sys.executable, user), maint


def _files(plan: Plan, cron: bool) -> dict[str, str]:
    return {"opsproof": crontab(plan)} if cron else systemd_files(plan)


def _write(files: dict[str, str], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        temp = directory / f".{name}.tmp"
        temp.write_text(text, encoding="utf-8")
        temp.chmod(0o644)
        os.replace(temp, directory / name)


def _install(plan: Plan, files: dict[str, str], cron: bool) -> None:
    if os.geteuid() != 0:
        raise Refused("--install writes to /etc and enables timers: run it as root, or use --target-dir DIR")
    if cron:
        _write({CRON_FILE.name: files["opsproof"]}, CRON_FILE.parent)
        print(f"wrote {CRON_FILE}")
        return
    _write(files, UNIT_DIR)
    timers = [name for name in files if name.endswith(".timer")]
    for argv in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", *timers]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise Refused(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    print(f"wrote {len(files)} units to {UNIT_DIR}; enabled {', '.join(timers)}")


def run(args: argparse.Namespace) -> int:
    try:
        plan, maint = _plan(args)
        if args.list:
            print(listing(plan, maint.window, datetime.now(timezone.utc)))
            return 0
        files = _files(plan, args.cron)
        if args.dry_run:
            for name, text in files.items():
                print(f"# --- {name} (not written: --dry-run)\n{text}")
        elif args.install:
            _install(plan, files, args.cron)
        else:
            _write(files, Path(args.target_dir))
            print("\n".join(str(Path(args.target_dir, name)) for name in files))
        return 0
    except cfg.ConfigError as exc:
        print(f"opsproof: bad maintenance config: {exc}", file=sys.stderr)
    except CronError as exc:
        print(f"opsproof: schedule: {exc}: write a simpler calendar or use systemd timers", file=sys.stderr)
    except (Refused, OSError) as exc:
        print(f"opsproof: schedule: {exc}", file=sys.stderr)
    return 4


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `schedule` subcommand's options (cli.py adds it with one line)."""
    p = sub.add_parser("schedule", help="systemd timers (or --cron lines) for the cadences; --list the next runs")
    p.add_argument("--maint-config", help=f"config file (default: ${cfg.ENV_VAR}, else ./{cfg.DEFAULT_NAME})")
    p.add_argument("--cron", action="store_true", help="an /etc/cron.d file instead of systemd units")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--dry-run", action="store_true", help="print what would be written; write nothing")
    what.add_argument("--target-dir", metavar="DIR", help="write the files into DIR")
    what.add_argument("--install", action="store_true", help="as root: write to /etc, reload systemd, enable the timers")
    what.add_argument("--list", action="store_true", help="the next five runs of each timer beside the next windows")
    p.set_defaults(func=run)
