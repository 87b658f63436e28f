"""The schedule as files: systemd service/timer pairs, or crontab lines, from the config's `schedule:` section.

Pure: a Plan (the section with every default resolved to an absolute path, a user, an interpreter) in, file
names and text out. Writing, installing and asking systemd-analyze are opsproof.process.timerunits' (the
`opsproof schedule` command, opsproof/cli/schedule.py, says what they did).

- daily and weekly (the guide's Automated cadences) run `pytest -m <cadence> --apply` with the report dir and
  the textfile; monthly and quarterly (people's work) run a reminder: `pytest -m <cadence>` without --apply,
  into `<report_dir>/reminders` (a plan-only run must never count as the cadence's pass in the real ledger),
  then `opsproof status <report_dir>`, which exits 1 when a cadence is overdue, so the unit fails and says so.
- No overlap: a oneshot service is "activating" for its whole run and a timer that fires meanwhile starts
  nothing new; cron lines hold `flock -n` on a lock file per cadence. Beside that, the suite's own lock keeps
  two acting runs off one target. The limit is TimeoutStartSec= (RuntimeMaxSec= does not apply to oneshot
  services: they are never "active"); cron uses `timeout`.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from urllib.parse import quote
from dataclasses import dataclass
from typing import Optional

from ..config.timers import AUTOMATED, Timers

_SAFE = re.compile(r"^[A-Za-z0-9_./:=@+,-]+$")
_DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_SHORT = {"hourly": "0 * * * *", "daily": "0 0 * * *", "weekly": "0 0 * * 1", "monthly": "0 0 1 * *",
          "yearly": "0 0 1 1 *", "annually": "0 0 1 1 *"}


class CronError(ValueError):
    """A calendar expression cron cannot express (a time zone, seconds, a year, last days of the month)."""


@dataclass(frozen=True)
class Plan:
    """What the units run, everything resolved: absolute paths, a user, an interpreter."""

    service: str                # the config's service name, as unit descriptions may show it (% doubled)
    config: str
    checkout: str
    python: str
    user: str
    report_dir: str
    textfile: Optional[str]
    lock_dir: str
    timers: Timers

    def automated(self, cadence: str) -> bool:
        return cadence in AUTOMATED

    def commands(self, cadence: str) -> list[list[str]]:
        """The command lines of one cadence's run, in order (a reminder has two)."""
        run = [self.python, "-m", "pytest", "-m", cadence, f"--maint-config={self.config}"]
        if self.automated(cadence):
            run += ["--apply", f"--report-dir={self.report_dir}"]
            if self.textfile:
                run.append(f"--textfile={self.textfile}")
            return [run + ["-p", "no:cacheprovider"]]
        run += [f"--report-dir={posixpath.join(self.report_dir, 'reminders')}", "-p", "no:cacheprovider"]
        return [run, [self.python, "-m", "opsproof.cli", "status", self.report_dir, f"--maint-config={self.config}"]]

    def what(self, cadence: str) -> str:
        """One phrase: what the cadence's run does."""
        if self.automated(cadence):
            return f"pytest -m {cadence} --apply"
        return f"reminder: pytest -m {cadence} (no --apply), then opsproof status"


def plan_of(timers: Timers, service: str, config: str, checkout: str, python: str, user: str) -> Plan:
    """The Plan for a section; `checkout`, `python` and `user` are the defaults where the section names none.
    Relative report and textfile folders resolve against the checkout (the units' working directory)."""
    home = posixpath.normpath(timers.checkout or checkout)
    where = lambda p: posixpath.normpath(posixpath.join(home, p))  # noqa: E731
    return Plan(service=service.replace("%", "%%"), config=config, checkout=home, python=timers.python or python,
                user=timers.user or user, report_dir=where(timers.report_dir),
                textfile=where(timers.textfile) if timers.textfile else None,
                lock_dir=where(timers.lock_dir), timers=timers)


def _seconds(plan: Plan, name: str) -> int:
    return int(getattr(plan.timers, name).total_seconds())


def unit_arg(arg: str) -> str:
    """One argument as systemd's ExecStart= reads it: specifiers (%) and variables ($) doubled, quoted when needed."""
    text = arg.replace("%", "%%").replace("$", "$$")
    if _SAFE.match(arg):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def service_unit(plan: Plan, cadence: str) -> str:
    execs = "\n".join("ExecStart=" + " ".join(unit_arg(a) for a in cmd) for cmd in plan.commands(cadence))
    return (f"# Written by `opsproof schedule` for {plan.service}: {plan.what(cadence)}.\n"
            "# No overlap: a oneshot service stays activating while it runs, so its timer cannot start a second\n"
            "# one meanwhile; the suite's own lock keeps two acting runs off one target.\n"
            "[Unit]\n"
            f"Description=opsproof {cadence} for {plan.service} ({plan.what(cadence)})\n"
            f"Documentation=file://{quote(posixpath.join(plan.checkout, 'README.md'))}\n"
            "Wants=network-online.target\nAfter=network-online.target\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            f"User={plan.user}\n"
            f"WorkingDirectory={plan.checkout}\n"
            "Environment=PYTHONUNBUFFERED=1\n"
            f"{execs}\n"
            f"TimeoutStartSec={_seconds(plan, 'runtime_limit')}\n")


def timer_unit(plan: Plan, cadence: str) -> str:
    return (f"# Written by `opsproof schedule` for {plan.service}.\n"
            "[Unit]\n"
            f"Description=opsproof {cadence} for {plan.service} at {plan.timers.cadences()[cadence]}\n\n"
            "[Timer]\n"
            f"OnCalendar={plan.timers.cadences()[cadence]}\n"
            f"Persistent={'true' if plan.timers.persistent else 'false'}\n"
            f"RandomizedDelaySec={_seconds(plan, 'randomized_delay')}\n"
            f"Unit=opsproof-{cadence}.service\n\n"
            "[Install]\n"
            "WantedBy=timers.target\n")


def systemd_files(plan: Plan) -> dict[str, str]:
    """`opsproof-<cadence>.service` and `.timer` for each scheduled cadence, in cadence order."""
    files: dict[str, str] = {}
    for cadence in plan.timers.cadences():
        files[f"opsproof-{cadence}.service"] = service_unit(plan, cadence)
        files[f"opsproof-{cadence}.timer"] = timer_unit(plan, cadence)
    return files


def _field(text: str, low: int, high: int, what: str) -> str:
    """One systemd calendar component (`*`, `5`, `1..7`, `01,04`, `0/15`) as a cron field."""
    out = []
    for item in text.split(","):
        base, _, step = item.partition("/")
        if "~" in base or not re.fullmatch(r"\*|\d+(\.\.\d+)?", base) or (step and not step.isdigit()):
            raise CronError(f"{what} {text!r} has no cron form")
        if base == "*":
            piece = "*"
        else:
            first, _, last = base.partition("..")
            if not low <= int(first) <= high or (last and not int(first) <= int(last) <= high):
                raise CronError(f"{what} {text!r} is out of range {low}..{high}")
            piece = f"{int(first)}-{int(last)}" if last else str(int(first))
            if step and not last:
                piece = f"{int(first)}-{high}"
        out.append(piece + (f"/{int(step)}" if step else ""))
    return ",".join(out)


def _weekdays(text: str) -> list[int]:
    """`Sun`, `Mon..Fri`, `Sat,Sun` as ISO weekday numbers (Mon 1 .. Sun 7)."""
    found: set[int] = set()
    for item in text.lower().split(","):
        first, _, last = item.partition("..")
        try:
            a, b = _DAYS[first[:3]], _DAYS[(last or first)[:3]]
        except KeyError:
            raise CronError(f"weekday {text!r} has no cron form") from None
        if a > b:
            raise CronError(f"weekday range {item!r} runs backwards (systemd refuses it too)")
        found.update(range(a, b + 1))
    return sorted(found)


def cron_schedule(expression: str) -> tuple[str, list[int]]:
    """The five cron fields for a calendar expression, and the weekdays a guard must test (ISO numbers; empty:
    none). systemd ANDs a weekday with a day of month ("Sun *-*-01..07": the first Sunday) where cron ORs
    them, so then the fields keep the days and the guard (`date +%u`) keeps the weekday."""
    text = " ".join(expression.split())
    if text.lower() in _SHORT:
        return _SHORT[text.lower()], []
    parts = text.split(" ")
    days: list[int] = []
    if parts and re.match(r"^[A-Za-z]", parts[0]):
        days = _weekdays(parts.pop(0))
    if len(parts) == 2 and "-" in parts[0]:
        date, clock = parts
    elif len(parts) == 1:
        date, clock = "*-*-*", parts[0]
    else:
        raise CronError(f"{expression!r}: cron has no time zone and no other form than [weekday] [date] time")
    ymd = date.split("-")
    if len(ymd) == 2:
        ymd = ["*", *ymd]
    if len(ymd) != 3 or ymd[0] != "*":
        raise CronError(f"{expression!r}: cron has no year")
    hms = clock.split(":")
    if len(hms) not in (2, 3) or (len(hms) == 3 and not re.fullmatch(r"0+", hms[2])):
        raise CronError(f"{expression!r}: cron runs on whole minutes (HH:MM)")
    minute, hour = _field(hms[1], 0, 59, "minute"), _field(hms[0], 0, 23, "hour")
    dom, month = _field(ymd[2], 1, 31, "day"), _field(ymd[1], 1, 12, "month")
    weekday = ",".join(str(d % 7) for d in days) if days and len(days) < 7 else "*"
    if weekday != "*" and dom != "*":
        return f"{minute} {hour} {dom} {month} *", days
    return f"{minute} {hour} {dom} {month} {weekday}", []


def _shell(cmd: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in cmd).replace("%", "\\%")


def cron_line(plan: Plan, cadence: str) -> str:
    """One /etc/cron.d line: the guard when needed, flock -n on the cadence's lock, timeout, the run."""
    fields, days = cron_schedule(plan.timers.cadences()[cadence])
    first, *after = plan.commands(cadence)
    limit = _seconds(plan, "runtime_limit")
    lock = posixpath.join(plan.lock_dir, f"opsproof-{cadence}.lock")
    run = (f"cd {shlex.quote(plan.checkout)} && flock -n {shlex.quote(lock)} timeout -k 60 {limit} "
           + _shell(first) + "".join(" && " + _shell(c) for c in after))
    guard = f"date +\\%u | grep -qx '[{''.join(map(str, days))}]' && " if days else ""
    return f"{fields} {plan.user} {guard}{run}"


def crontab(plan: Plan) -> str:
    """The /etc/cron.d/opsproof file: one line per scheduled cadence (cron's own time zone, no catch-up)."""
    lines = [f"# Written by `opsproof schedule --cron` for {plan.service}. Fields: minute hour day month weekday",
             "# user command; times are cron's local time. No catch-up after downtime and no randomized delay",
             "# (systemd timers have both). flock -n skips a run while the previous one of its cadence holds the lock.",
             "PYTHONUNBUFFERED=1"]
    lines += [f"# {c}: {plan.timers.cadences()[c]} — {plan.what(c)}\n{cron_line(plan, c)}" for c in plan.timers.cadences()]
    return "\n".join(lines) + "\n"
