"""Sections of when and who: the maintenance window, notifications, docs review, attestations."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional

from pydantic import Field, field_validator

from .base import ACTIONS, Duration, http_url
from .section import Section
from .when import WindowError, anchor, parse_rule, zone


class Window(Section):
    rrule: str                                   # iCalendar RRULE, e.g. FREQ=MONTHLY;BYDAY=1SU
    start: str = "00:00"                         # HH:MM, or YYYY-MM-DD HH:MM to anchor INTERVAL rules
    duration: Duration = timedelta(hours=2)
    timezone: str = "UTC"
    horizon: Duration = timedelta(days=7)        # premaintenance: the next window opens within this
    gate: list[str] = []                         # more actions that may run only inside the window
    emergency_approval_max_age: Duration = timedelta(days=1)  # --ignore-window: an emergency-approval attestation this new

    @field_validator("gate")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in ACTIONS:
                raise ValueError(f"unknown action {name!r}; actions are {', '.join(ACTIONS)}")
        return value

    @field_validator("rrule", "start", "timezone", "duration", "emergency_approval_max_age")
    @classmethod
    def _usable(cls, value: Any, info: Any) -> Any:
        try:
            if info.field_name == "rrule":
                parse_rule(value, "00:00")
            elif info.field_name == "start":
                anchor(value)
            elif info.field_name == "timezone":
                zone(value)
            elif value <= timedelta(0):
                raise WindowError("must be positive")
        except WindowError as exc:
            raise ValueError(str(exc))
        return value


class Webhook(Section):
    webhook: str
    timeout_s: float = Field(5, gt=0, le=60)
    headers: dict[str, str] = {}                 # e.g. Authorization; their values are secrets

    @field_validator("webhook")
    @classmethod
    def _http(cls, value: str) -> str:
        return http_url(value)


class Notify(Webhook):
    selections: list[str] = ["premaintenance", "postmaintenance"]  # runs whose -m names one of these notify
    users: Optional[Webhook] = None              # user_facing: true — a second hook (a status page) gets start and end


class Docs(Section):
    dir: str
    max_age_days: float = Field(31, gt=0)
    task: str = "documentation-review"           # an attestation of this task also counts as reviewed
    require_update: bool = False                 # postmaintenance: docs changed since maintenance started


class Attestations(Section):
    file: str
    tasks: dict[str, Duration] = Field(min_length=1)  # task -> period, e.g. team-training: 31d
