"""The SLO source a config names, brought up to date for one host, and what its checks are evaluated over.

Prometheus is asked at each evaluation; an access log is read from where the last recorded run stopped, its
per-minute aggregates kept in the host's state store (saved only once the run is recorded: the caller's part).
Each evaluation returns its record and the chart that shows it (drawn by the caller's helper, opsproof/charts/).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

from ..charts.drawing import Chart
from ..config import Objective
from ..hosts.state import StateStore
from ..hosts.survey import quietly
from . import status
from .accesslog import buckets
from .alerts import BurnAlert

DAY = 86400
STATE = "slo"          # the state file of the access-log aggregates
BUDGET_CHART = "opsproof.charts.slo:budget_chart"
SETTINGS = ("format", "time_field", "status_field", "duration_field", "duration_unit")


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

    def status(self, objective: Objective) -> tuple[status.ObjectiveStatus, Optional[Chart]]:
        """One objective over its window, and its SLI and budget burn-down chart (None when it could not be judged)."""
        st = status.evaluate(self.source, objective, self.now, min_requests=self.min_requests)
        if st.error is not None:
            return st, None
        series = status.budget_series(self.source, objective, self.now)
        return st, Chart(BUDGET_CHART, (series, budget_title(objective, st)), f"{objective.name}: SLI and error budget")

    def burn(self, alert: BurnAlert) -> status.BurnStatus:
        """One page-level burn alert of one objective, evaluated now."""
        return status.burn(self.source, alert.objective, self.now, "page", self.min_requests, alert=alert.alert)

    def performance(self) -> tuple[status.Performance, Optional[Chart]]:
        """Requests, 5xx share and latency percentiles per day over the last week, and their chart."""
        perf = status.performance(self.source, self.now)
        if perf.error is not None or not perf.requests:
            return perf, None
        return perf, Chart("opsproof.charts.slo:performance_chart", (perf, f"last 7 days, {perf.source}"),
                           "requests, 5xx and latency per day")

    def review(self, objective: Objective) -> tuple[status.Review, status.ObjectiveStatus, Optional[Chart]]:
        """One objective over the last quarter (with a plain-words hint), its status, and the quarter's chart."""
        review, st = status.review(self.source, objective, self.now, self.min_requests)
        if review.error is not None:
            return review, st, None
        series = status.budget_series(self.source, objective, self.now, status.QUARTER_S, points=26)
        return review, st, Chart(BUDGET_CHART, (series, quarter_title(objective, review)),
                                 f"{objective.name}: the quarter")


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
    keep = kept_s(slo)
    saved = state.load(STATE)
    now = target.now()
    agg, read, kept = buckets.update(target, cfg.access_log, settings, thresholds, saved.get(cfg.access_log, {}),
                                     now, keep)
    run = SloRun(status.LogSource(agg, read), now, slo.min_requests, read)
    return run, ({cfg.access_log: kept} if read.error is None else None)


def kept_s(slo: Any) -> float:
    """How far back the aggregates are kept: the longest window, at least a quarter, and a day."""
    return max([o.window.total_seconds() for o in slo.objectives] + [buckets.QUARTER_S]) + DAY


def planned(target: Any, slo: Any, state: StateStore) -> None:
    """What open_source reads of an access log, measured for a survey (opsproof/hosts/survey.py): the target's clock
    and the files with their heads in one round, each file's reduction (from the state's offsets) in the next."""
    if slo.source.access_log:
        quietly(target.now, lambda: buckets.candidates(target, slo.source.access_log, kept_s(slo)),
                lambda: open_source(target, slo, state))


def budget_title(objective: Objective, st: status.ObjectiveStatus) -> str:
    return (f"{objective.name}: {st.sli_percent:.3f} % good over {st.window} (target {objective.target:g} %), "
            f"{st.budget_remaining_percent:.0f} % of the error budget left")


def quarter_title(objective: Objective, review: status.Review) -> str:
    return (f"{objective.name}: {review.attained_percent:.3f} % good over the last quarter "
            f"(target {objective.target:g} %), {review.budget_used_percent:.0f} % of the budget used")
