"""The page alerts an objective has (SRE Workbook windows scaled to its window), by name: what the SLO checks are
parametrized over at collection. Standard library only (the config's Objective is a type here, never imported at run
time): collecting SLO items imports no numpy (the reading and evaluating modules import it when a check reads), and
an SLO read, which names alerts through `alert_name`, imports neither pydantic nor the config (some 100 ms)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from . import math as slomath

if TYPE_CHECKING:
    from ..config import Objective


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
