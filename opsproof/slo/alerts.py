"""The page alerts an objective has (SRE Workbook windows scaled to its window), by name: what the SLO checks are
parametrized over at collection. Standard library and the config only: collecting SLO items imports no numpy (the
reading and evaluating modules import it when a check reads)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..config import Objective
from . import math as slomath


def alert_name(window: slomath.BurnWindow) -> str:
    """`page 1h/5m`: an alert by its severity and its long and short windows."""
    return f"{window.severity} {slomath.format_duration(window.long_s)}/{slomath.format_duration(window.short_s)}"


@dataclass(frozen=True)
class BurnAlert:
    """One page alert of one objective (SRE Workbook windows scaled to its window); alert "" when none fits."""

    objective: Objective
    alert: str

    @property
    def id(self) -> str:
        return f"{self.objective.name}-{self.alert.replace(' ', '-').replace('/', '-') or 'none'}"


def page_alerts(objective: Objective) -> list[BurnAlert]:
    windows = slomath.alert_windows(objective.window.total_seconds(), "page")
    return [BurnAlert(objective, alert_name(w)) for w, _ in windows] or [BurnAlert(objective, "")]


def no_page_alert(alert: BurnAlert) -> Optional[str]:
    """Why `alert` has nothing to evaluate (its objective's window is shorter than any page window), or None."""
    if alert.alert:
        return None
    return f"{alert.objective.name}: a window of {alert.objective.window} is shorter than the 1h page alert window"
