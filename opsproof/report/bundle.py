"""`opsproof bundle`: one archive for an audit period, which an auditor unpacks, opens and verifies without us.

Inside `opsproof-bundle_FROM_TO/`: `index.html` (open it first: bundle_index.py), `history.html` (the period's runs
with trend charts), `verify-ledger.txt` (the verification when the bundle was made), `bundle.json` (the manifest:
period, what is inside, the verification's exit status) and `reports/` — the whole ledger (so its chain verifies),
its signature when there is one, and every report, JSON summary and JUnit file the ledger's lines of the period
name. `opsproof verify-ledger` on the unpacked folder checks it (bundle_check.py). Pure but for reading the report
directory: `plan` decides, `archive` returns the .tar.gz bytes (the caller writes them whole: files.write_atomic).
"""
from __future__ import annotations

import io
import os
import stat
import tarfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping, Optional

from .bundle_check import FORMAT, MANIFEST, REPORTS, Period, inside
from .cadence import full_pass, hosts_of, is_run, selects
from .ledger_file import NAME
from .ledger_sign import signature_path
from .run import parse_utc, utc


@dataclass
class Plan:
    """What a bundle of `period` holds from the report directory whose ledger is `ledger`."""

    ledger: Path
    period: Period
    entries: list[dict[str, Any]]                      # every line of the ledger that reads as one
    runs: list[dict[str, Any]] = field(default_factory=list)     # the period's runs, oldest first
    acks: list[dict[str, Any]] = field(default_factory=list)     # the period's acknowledgements
    files: list[str] = field(default_factory=list)               # names (in the report dir) going into reports/
    left_out: list[str] = field(default_factory=list)            # a period's file not carried, and why

    @property
    def top(self) -> str:
        return f"opsproof-bundle_{self.period.first.isoformat()}_{self.period.last.isoformat()}"

    @property
    def signature(self) -> Optional[Path]:
        sig = signature_path(self.ledger)
        return sig if sig.is_file() else None


def plan(ledger: Path, period: Period, entries: list[dict[str, Any]]) -> Plan:
    """The period's runs and acknowledgements, and which of the files their lines name can go in: regular files
    inside the report directory (a name with `..`, an absolute one or a link is left out, and said)."""
    chosen = sorted((e for e in entries if e.get("started") and period.holds(e)), key=lambda e: e["started"])
    result = Plan(ledger, period, entries, [e for e in chosen if is_run(e)], [e for e in chosen if not is_run(e)])
    for entry in result.runs:
        for item in entry.get("files") or ():
            name = str(item["name"])
            path = ledger.parent / name
            if not inside(name):
                result.left_out.append(f"{name} (run {entry['run_id']}): outside the report directory, not carried")
            elif path.is_symlink() or not path.is_file():
                result.left_out.append(f"{name} (run {entry['run_id']}): not a regular file here, not carried")
            elif name not in result.files:
                result.files.append(name)
    return result


def lapses(entries: list[Mapping[str, Any]], period: Period, now: datetime, grace: timedelta,
           periods: Mapping[str, timedelta]) -> list[dict[str, str]]:
    """Each time a cadence went overdue on a host during the period: from when (its last full pass, or the host's
    first line, plus period and grace) until its next full pass, or "" when it still was at the period's end."""
    until = min(period.end, now)
    runs = [e for e in entries if is_run(e) and parse_utc(e["started"]) < until]
    found = []
    for host in sorted({h for e in runs for h in hosts_of(e)}):
        mine = [e for e in runs if host in hosts_of(e)]
        first = min(parse_utc(e["started"]) for e in mine)
        for cadence, span in periods.items():
            passes = sorted(parse_utc(e.get("ended") or e["started"]) for e in mine
                            if selects(str(e.get("selection") or ""), cadence) and full_pass(e))
            previous = first
            for moment in passes + [until]:
                due = previous + span + grace
                if due < moment and due < period.end and moment > period.start:
                    found.append({"cadence": cadence, "host": host, "since": utc(due),
                                  "until": utc(moment) if moment != until else ""})
                previous = max(previous, moment)
    return found


def waivers_in_force(runs: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The configured waivers in force in any of the period's runs, once each, with the runs they covered a
    failure in."""
    found: dict[str, dict[str, Any]] = {}
    for run in runs:
        covered = {w.get("id") for w in run.get("waived") or ()}
        for waiver in run.get("waivers") or ():
            if isinstance(waiver, Mapping) and waiver.get("in_force"):
                key = repr(sorted((k, str(v)) for k, v in waiver.items() if k != "in_force"))
                row = found.setdefault(key, {**{k: v for k, v in waiver.items() if k != "in_force"}, "covered": []})
                row["covered"] += [f"{run['run_id']}: {c}" for c in sorted(filter(None, covered))
                                   if str(waiver.get("check", "")).lower() in str(c).lower()]
    return list(found.values())


def manifest(result: Plan, made: datetime, exit_status: int) -> dict[str, Any]:
    return {"format": FORMAT, "from": result.period.first.isoformat(), "to": result.period.last.isoformat(),
            "made": utc(made), "runs": [e["run_id"] for e in result.runs], "acks": [e["run_id"] for e in result.acks],
            "files": [f"{REPORTS}/{name}" for name in result.files], "left_out": result.left_out,
            "verify_ledger_exit_status": exit_status, "signed": result.signature is not None}


def _info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = size, int(mtime), 0o644, 0, 0, "", ""
    return info


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    """One file of the report directory, opened without following a link and taken only when regular."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path}: not a regular file")
        tar.addfile(_info(name, st.st_size, st.st_mtime), handle)


def archive(result: Plan, pages: Mapping[str, str | bytes], made: datetime) -> bytes:
    """The .tar.gz: the pages made for it at the top (index.html, history.html, verify-ledger.txt, bundle.json),
    then reports/ with the ledger, its signature and the period's files. Names only under the top folder."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, content in pages.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            tar.addfile(_info(f"{result.top}/{name}", len(data), made.timestamp()), io.BytesIO(data))
        _add_file(tar, f"{result.top}/{REPORTS}/{NAME}", result.ledger)
        if result.signature is not None:
            _add_file(tar, f"{result.top}/{REPORTS}/{result.signature.name}", result.signature)
        for name in result.files:
            _add_file(tar, f"{result.top}/{REPORTS}/{name}", result.ledger.parent / name)
    return out.getvalue()


__all__ = ["MANIFEST", "Plan", "archive", "lapses", "manifest", "plan", "waivers_in_force"]
