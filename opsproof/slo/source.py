"""The SLO source a config names, brought up to date for one host, and what its checks are evaluated over.

Prometheus is asked at each evaluation; an access log is read from where the last recorded run stopped, its
per-minute aggregates kept in the host's state store (saved only once the run is recorded: the caller's part).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

from ..config import Objective
from ..hosts.state import StateStore
from . import status
from .accesslog import buckets
from .math import alert_windows

DAY = 86400
STATE = "slo"          # the state file of the access-log aggregates
SETTINGS = ("format", "time_field", "status_field", "duration_field", "duration_unit")


@dataclass(frozen=True)
class BurnAlert:
    """One page alert of one objective (SRE Workbook windows scaled to its window); alert "" when none fits."""

    objective: Objective
    alert: str

    @property
    def id(self) -> str:
        return f"{self.objective.name}-{self.alert.replace(' ', '-').replace('/', '-') or 'none'}"


def page_alerts(objective: Objective) -> list[BurnAlert]:
    windows = alert_windows(objective.window.total_seconds(), "page")
    return [BurnAlert(objective, status.alert_name(w)) for w, _ in windows] or [BurnAlert(objective, "")]


@dataclass
class SloRun:
    """The source, the moment its checks are evaluated at, and (for an access log) what reading it found."""

    source: status.Source
    now: float
    min_requests: int
    read: Optional[buckets.LogRead] = None

    @property
    def error(self) -> Optional[str]:
        return self.read.error if self.read else None


def open_source(target: Any, slo: Any, state: StateStore) -> tuple[SloRun, Optional[dict]]:
    """The `slo:` section's source for `target`, and the state entries to save once the run is recorded (None:
    nothing to save — Prometheus, or an access log that could not be read)."""
    cfg = slo.source
    if cfg.prometheus:
        from .prometheus import Prometheus, PromSource  # requests only when Prometheus is asked

        client = Prometheus(cfg.prometheus, cfg.timeout_s, cfg.headers)
        return SloRun(PromSource(client, cfg), time.time(), slo.min_requests), None
    settings = {k: getattr(cfg, k) for k in SETTINGS}
    thresholds = sorted({o.threshold_ms for o in slo.objectives if o.threshold_ms})
    keep = max([o.window.total_seconds() for o in slo.objectives] + [buckets.QUARTER_S]) + DAY
    saved = state.load(STATE)
    now = target.now()
    agg, read, kept = buckets.update(target, cfg.access_log, settings, thresholds, saved.get(cfg.access_log, {}),
                                     now, keep)
    run = SloRun(status.LogSource(agg, read), now, slo.min_requests, read)
    return run, ({cfg.access_log: kept} if read.error is None else None)


def budget_title(objective: Objective, st: status.ObjectiveStatus) -> str:
    return (f"{objective.name}: {st.sli_percent:.3f} % good over {st.window} (target {objective.target:g} %), "
            f"{st.budget_remaining_percent:.0f} % of the error budget left")


def quarter_title(objective: Objective, review: status.Review) -> str:
    return (f"{objective.name}: {review.attained_percent:.3f} % good over the last quarter "
            f"(target {objective.target:g} %), {review.budget_used_percent:.0f} % of the budget used")
