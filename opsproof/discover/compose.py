"""A survey (survey.py's answer) -> the commented maintenance.yaml text, and what was found and left out, in words."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from . import certs, draft_backups, draft_files, draft_guard, draft_net
from .yamltext import Block, comment, pair, render


@dataclass
class Draft:
    text: str
    found: list[str] = field(default_factory=list)      # one line per live section
    left_out: list[str] = field(default_factory=list)   # one line per section written commented out


def blocks(survey: dict, remote: bool, database: draft_backups.Database) -> list[Block]:
    """Every section, in the order of the configuration reference (`database`: draft_backups.database(survey)); the
    ports' certificates are read once, for health and security both."""
    tls = certs.of_ports(survey.get("ports", []))
    return [draft_files.disk(survey), draft_files.logs(survey), draft_files.temp(survey),
            draft_backups.backups(survey, database), draft_net.health(survey, remote, tls), draft_net.services(survey),
            draft_net.monitoring(survey, remote), draft_net.rollback(survey), draft_net.slo(survey),
            draft_guard.security(survey, remote, tls), draft_guard.dependencies(survey),
            draft_guard.config_audit(survey), *draft_guard.team()]


def header(survey: dict, spec: Optional[str], out: str) -> list[str]:
    stamp = datetime.fromtimestamp(survey.get("now", 0), timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    where = f"{spec} ({survey.get('hostname')})" if spec else f"this machine ({survey.get('hostname')})"
    run = f"pytest -m daily --maint-config={out}" + (f" --hosts={spec}" if spec else "")
    lines = comment(f"maintenance.yaml for {survey.get('service')}, written by `opsproof init` from what runs on "
                    f"{where} at {stamp}. Each section says what it checks, what was found and why its threshold is "
                    "what it is; a section written commented out could not be filled from what runs, and its comment "
                    "says what to add. Every key and its default: docs/configuration.md.")
    lines += comment(f"Check it: opsproof check-config {out}")
    lines += comment(f"Run it:   {run}")
    if spec:
        lines += comment(f"Paths are on {spec}. To make that host the default of every run, add: hosts: "
                         f"{{{survey.get('service')}: {{hosts: [\"{spec}\"]}}}}")
    lines.append(pair("service", survey.get("service"), "the process name it runs under", 0))
    lines.append(pair("root", survey.get("root"), f"from {survey.get('root_reason')}; relative paths below resolve "
                                                  "against it", 0))
    return lines


def compose(survey: dict, spec: Optional[str], out: str, remote: bool) -> Draft:
    database = draft_backups.database(survey)
    made = blocks(survey, remote, database)
    draft = Draft(render(header(survey, spec, out), made))
    draft.found.append(f"service: {survey.get('service')}, root {survey.get('root')} ({survey.get('root_reason')})")
    draft.found.append(draft_backups.database_summary(database))
    for block in made:
        (draft.found if block.active else draft.left_out).append(block.summary or block.key)
    if not survey.get("complete", True):
        draft.left_out.append("note: some processes' open files could not be read (run as root to see every "
                              "listening process)")
    return draft
