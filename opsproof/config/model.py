"""The whole validated configuration: Maint."""
from __future__ import annotations

import posixpath
from typing import Any, Optional

from pydantic import Field, ValidationInfo, field_validator

from .base import unique_names
from .cadences import Cadences
from .hosts import Group
from .judgement import MAX_WAIVER_DAYS, Waiver, runbook_target, selections, waivers_within
from .process import Attestations, Docs, Notify, Window
from .section import Section
from .security import ConfigAudit, Dependencies, Security
from .sections import Backups, Disk, Endpoint, Logs, Monitoring, Services, Temp
from .slo import Slo
from .timers import Timers


class Maint(Section):
    """The validated configuration. `path`/`sha256` say where it came from."""

    service: str = Field(min_length=1)
    root: str = "."
    state_dir: Optional[str] = None
    command_timeout_s: float = Field(60, gt=0, le=3600)
    connect_timeout_s: float = Field(10, gt=0, le=600)   # SSH connection and banner: an unreachable host fails after it
    health_concurrency: int = Field(256, ge=1, le=1024)  # health endpoints probed at once (sockets, threads)
    disk: Optional[Disk] = None
    logs: Optional[Logs] = None
    temp: Optional[Temp] = None
    backups: Optional[Backups] = None
    health: Optional[list[Endpoint]] = None
    services: Optional[Services] = None
    monitoring: Optional[Monitoring] = None
    rollback_plan: Optional[str] = None
    user_facing: bool = False                    # premaintenance: users notified (notify.users) too
    work_dir: str = ".opsproof"                  # opsproof's files on the target: action lock, logrotate state
    docs: Optional[Docs] = None
    attestations: Optional[Attestations] = None
    window: Optional[Window] = None
    notify: Optional[Notify] = None
    slo: Optional[Slo] = None
    security: Optional[Security] = None
    dependencies: Optional[Dependencies] = None
    config_audit: Optional[ConfigAudit] = None
    cadences: Cadences = Cadences()             # periods and grace for overdue cadences (defaults apply when left out)
    schedule: Timers = Timers()                 # `opsproof schedule`: timers/cron for the cadences (defaults apply)
    max_waiver_days: int = Field(MAX_WAIVER_DAYS, ge=1)  # how far ahead a waiver may expire
    waivers: list[Waiver] = []                  # accepted failures: reported as waived, not passed, until they expire
    runbooks: dict[str, str] = {}               # check pattern (as waivers match) -> URL or path under root
    hosts: Optional[dict[str, Group]] = None    # the fleet: groups of hosts and the sections they override (hosts.py)

    # Filled by load(), not by the user.
    path: str = Field("", exclude=True)
    sha256: str = Field("", exclude=True)
    groups: dict[str, Any] = Field({}, exclude=True)     # each `hosts:` group's validated config (a Maint)
    settings: dict[str, Any] = Field({}, exclude=True)   # the file's settings as written: groups merge onto them

    @field_validator("health")
    @classmethod
    def _health_names(cls, value: Optional[list[Endpoint]]) -> Optional[list[Endpoint]]:
        unique_names(value or [], "health", lambda e: e.label, lambda e: "" if e.name else "from their URLs",
                     lambda e: bool(e.name))
        return value

    @field_validator("waivers")
    @classmethod
    def _waivers_reviewed(cls, value: list[Waiver], info: ValidationInfo) -> list[Waiver]:
        return waivers_within(value, info.data.get("max_waiver_days", MAX_WAIVER_DAYS))

    @field_validator("runbooks")
    @classmethod
    def _runbooks(cls, value: dict[str, str]) -> dict[str, str]:
        return {pattern: runbook_target(target) for pattern, target in selections(value).items()}

    def resolve(self, relative: str) -> str:
        """An absolute path on the target: relative paths resolve against `root`."""
        return posixpath.normpath(posixpath.join(self.root, relative))
