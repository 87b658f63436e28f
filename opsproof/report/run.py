"""The run record: who ran which checks, against which config, on which hosts, when, in which mode.

One record per run, built from plain values; every report, summary, notice and lock names the run
through it. `current_operator` and `suite_version` find two of those values on this machine.
"""
from __future__ import annotations

import getpass
import os
import re
import subprocess
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Optional

from .. import __version__
from .redact import Redactor, one_line

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc(moment: datetime) -> str:
    """A moment as the reports write it: 2026-12-06T02:00:00Z."""
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=timezone.utc)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def current_operator(environ: Mapping[str, str] = os.environ) -> str:
    """Who runs the checks: $OPSPROOF_OPERATOR, else the login name (one line, control characters escaped)."""
    return one_line(environ.get("OPSPROOF_OPERATOR") or getpass.getuser())


def suite_version(rootdir: Path) -> str:
    """opsproof's version, with the git commit of the suite where there is one."""
    try:
        commit = subprocess.run(["git", "-C", str(rootdir), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(rootdir), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return __version__ + (f" (git {commit}{', modified' if dirty else ''})" if commit else "")


@dataclass(frozen=True)
class RunRecord:
    """The identity of one run. `started`/`ended` are UTC; `worker` is the xdist worker id (None elsewhere)."""

    run_id: str
    started: datetime
    service: str
    operator: str
    hosts: str                  # as given (--hosts), secrets masked; "local" without one
    selection: str              # the -m expression; "" when every check is selected
    apply: bool
    ignore_window: bool
    config_path: str
    config_sha256: str
    suite_version: str
    ended: Optional[datetime] = None
    worker: Optional[str] = None
    approval: Optional[dict[str, str]] = None  # --ignore-window's approval: by, reason, at, source

    def __post_init__(self) -> None:
        for name in ("started", "ended"):
            moment = getattr(self, name)
            if moment is None:
                continue
            if moment.tzinfo is None:
                raise ValueError(f"run record: {name} must carry its time zone, got {moment.isoformat()}")
            object.__setattr__(self, name, moment.astimezone(timezone.utc))

    @classmethod
    def begin(cls, maint: Any, hosts: str, selection: str, apply: bool, ignore_window: bool,
              rootdir: Path) -> "RunRecord":
        """A run starting now on this machine, by whoever runs it, against `maint` (the loaded config); the hosts as
        given, secrets masked ("local" without any)."""
        return cls(run_id=new_run_id(), started=datetime.now(timezone.utc), service=maint.service,
                   operator=current_operator(), hosts=Redactor().text(hosts) if hosts else "local",
                   selection=selection, apply=apply, ignore_window=ignore_window, config_path=maint.path,
                   config_sha256=maint.sha256, suite_version=suite_version(rootdir))

    def header(self, source: str, state_dir: str) -> list[str]:
        """The run as the terminal's header shows it (`source`: where the config path came from)."""
        mode = "apply" if self.apply else "plan only (no --apply)"
        return [f"opsproof: service {self.service}; config {self.config_path} (from {source})",
                f"opsproof: config sha256 {self.config_sha256}",
                f"opsproof: hosts {self.hosts}; actions: {mode}; state {state_dir}",
                ] + ([f"opsproof: {self.metadata()['Emergency approval']}"] if self.approval else [])

    def finished(self, ended: datetime) -> "RunRecord":
        return replace(self, ended=ended)

    def on_worker(self, worker: str) -> "RunRecord":
        return replace(self, worker=worker)

    def approved(self, approval: Optional[dict[str, str]]) -> "RunRecord":
        return replace(self, approval=approval)

    def selects(self, marker: str) -> bool:
        """Whether the -m expression names `marker` as a word ("daily or postmaintenance" names both)."""
        return bool(re.search(rf"\b{re.escape(marker)}\b", self.selection))

    @property
    def report_stem(self) -> str:
        """The report's file name without suffix: the selection as a slug, then the start time."""
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.selection).strip("-")[:60] or "all"
        return f"{slug}_{self.started.strftime('%Y%m%dT%H%M%SZ')}"

    def metadata(self) -> dict[str, str]:
        """The run as the report's environment table shows it (and `opsproof summary` prints it)."""
        meta = {
            "Service": self.service,
            "Hosts": self.hosts,
            "Marker expression": self.selection or "(all checks)",
            "Config": self.config_path,
            "Config SHA-256": self.config_sha256,
            "Suite version": self.suite_version,
            "Operator": self.operator,
            "Actions": "apply" if self.apply else "plan only",
            **({"Emergency approval": f"--ignore-window approved by {self.approval['by']} at {self.approval['at']}: "
                                      f"{self.approval['reason']} ({self.approval['source']})"} if self.approval else {}),
            "Started (UTC)": utc(self.started),
        }
        if self.ended is not None:
            meta["Ended (UTC)"] = utc(self.ended)
        return meta

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (times as text): what xdist can hand a worker, what JSON can hold."""
        data = asdict(self)
        data["started"] = utc(self.started)
        data["ended"] = utc(self.ended) if self.ended else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunRecord":
        values = dict(data)
        values["started"] = parse_utc(values["started"])
        values["ended"] = parse_utc(values["ended"]) if values.get("ended") else None
        return cls(**values)

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> "RunRecord":
        """The run a JSON summary describes. A summary does not carry --ignore-window (it comes back False), nor,
        before format 2, the run id (it comes back "")."""
        return cls(run_id=str(summary.get("run_id") or ""), started=parse_utc(summary["started"]), service=summary["service"],
                   operator=summary["operator"], hosts=summary["hosts"], selection=summary["selection"],
                   apply=bool(summary["apply"]), ignore_window=False, config_path=summary["config"]["path"],
                   config_sha256=summary["config"]["sha256"], suite_version=summary["suite_version"],
                   ended=parse_utc(summary["ended"]) if summary.get("ended") else None,
                   approval=summary.get("approval"))
