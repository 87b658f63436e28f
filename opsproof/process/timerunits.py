"""The schedule's timers on this machine: when they elapse (`systemd-analyze calendar`), the next runs beside the
maintenance window, and writing or installing the units (or the cron file).

The files come from opsproof.process.timers (pure); this module resolves the defaults (this checkout, this
interpreter, this user) and does the asking and the writing. It prints nothing: `opsproof schedule`
(opsproof/cli/schedule.py) says what was done and decides the exit status.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from .. import config as cfg
from ..files import write_atomic
from .timers import Plan, crontab, plan_of, systemd_files
from .window import Occurrence, window_rule

CHECKOUT = Path(__file__).resolve().parents[2]       # the folder holding pytest.ini, checks/ and opsproof/
UNIT_DIR = Path("/etc/systemd/system")
CRON_FILE = Path("/etc/cron.d/opsproof")
_ELAPSE = re.compile(r"^\s*(Next elapse|Iter\. #\d+|\(in UTC\)):\s+(.+?)\s*$")
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")


class Refused(Exception):
    """What will not be done, in one line."""


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
    sched = window_rule(window)
    found = [occ for occ in [sched.current(now)] if occ]
    while len(found) < count:
        nxt = sched.next(found[-1].start if found else now)
        if nxt is None:
            break
        found.append(nxt)
    return found


def listing(plan: Plan, window: Optional[cfg.Window], now: datetime) -> str:
    """The next five runs of each timer (local and UTC), and beside them the next five windows."""
    sched = window_rule(window) if window else None
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


def plan_for(maint: cfg.Maint) -> Plan:
    """The timers of `maint` for this checkout (schedule.checkout, else the one this module is in), this
    interpreter and this user; Refused when the checkout is not one."""
    checkout = maint.schedule.checkout or str(CHECKOUT)
    if not (Path(checkout, "pytest.ini").is_file() and Path(checkout, "checks").is_dir()):
        raise Refused(f"{checkout} is not an opsproof checkout (no pytest.ini and checks/): set schedule.checkout")
    user = pwd.getpwuid(os.geteuid()).pw_name
    return plan_of(maint.schedule, maint.service, maint.path, checkout, sys.executable, user)


def files_of(plan: Plan, cron: bool) -> dict[str, str]:
    """The files to write, by name: one /etc/cron.d file, or a service and a timer per cadence."""
    return {"opsproof": crontab(plan)} if cron else systemd_files(plan)


def write(files: dict[str, str], directory: Path) -> list[Path]:
    """Write each file into `directory`, whole or not at all; the paths written, in order."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        write_atomic(directory / name, text, mode=0o644)
    return [directory / name for name in files]


@dataclass(frozen=True)
class Installed:
    """What `install` did: the files written and the timers enabled (none for cron)."""

    paths: list[Path]
    directory: Path
    enabled: list[str]


def install(files: dict[str, str], cron: bool) -> Installed:
    """As root: the cron file into /etc/cron.d, or the units into /etc/systemd/system, reloaded and enabled.
    Refused without root, or when systemctl refuses."""
    if os.geteuid() != 0:
        raise Refused("--install writes to /etc and enables timers: run it as root, or use --target-dir DIR")
    if cron:
        return Installed(write({CRON_FILE.name: files["opsproof"]}, CRON_FILE.parent), CRON_FILE.parent, [])
    written = write(files, UNIT_DIR)
    timers = [name for name in files if name.endswith(".timer")]
    for argv in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", *timers]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise Refused(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return Installed(written, UNIT_DIR, timers)
