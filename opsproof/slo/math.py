"""SLO arithmetic as Sloth and Pyrra compute it, on plain numbers.

SLI = good / total over the window. Error budget = 1 - target. Budget remaining =
1 - bad / ((1 - target) * total), negative when overspent. Burn rate = error ratio / error budget.
Multi-window burn alerts use the SRE Workbook's parameters for a 30-day window, expressed as the
share of the budget an alert allows to burn in its long window (page: 2 % in 1 h, 5 % in 6 h;
ticket: 10 % in 1 d, 10 % in 3 d); for another period the factor is share * period / long window,
so 14.4 for 30 days becomes 3.36 for 7 days. No traffic means no SLI: None, never 100 %.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


def format_duration(seconds: float) -> str:
    """30d, 6h, 5m, 90s: the largest unit that divides the duration."""
    seconds = int(round(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def error_budget(target_percent: float) -> float:
    """The share of requests allowed to be bad: 1 - target (0.001 for 99.9 %)."""
    return 1.0 - target_percent / 100.0


def sli(good: float, total: float) -> Optional[float]:
    """good / total, or None when there was no traffic."""
    return good / total if total > 0 else None


def budget_remaining(bad: float, total: float, target_percent: float) -> Optional[float]:
    """1 - bad / ((1 - target) * total): 1 untouched, 0 exactly spent, negative overspent; None without traffic."""
    if total <= 0:
        return None
    return 1.0 - bad / (error_budget(target_percent) * total)


def burn_rate(bad: float, total: float, target_percent: float) -> Optional[float]:
    """Error ratio / error budget: 1 spends the budget exactly over the period."""
    if total <= 0:
        return None
    return (bad / total) / error_budget(target_percent)


@dataclass(frozen=True)
class BurnWindow:
    severity: str          # page | ticket
    long_s: int
    short_s: int
    budget_share: float    # of the period's error budget burnt in the long window when the alert fires

    def factor(self, period_s: float) -> float:
        """The burn-rate threshold for a period: 14.4 for page/1h on 30 days."""
        return self.budget_share * period_s / self.long_s


WORKBOOK = (
    BurnWindow("page", 3600, 300, 0.02),
    BurnWindow("page", 6 * 3600, 1800, 0.05),
    BurnWindow("ticket", 86400, 2 * 3600, 0.10),
    BurnWindow("ticket", 3 * 86400, 6 * 3600, 0.10),
)


def alert_windows(period_s: float, severity: Optional[str] = None) -> list[tuple[BurnWindow, float]]:
    """(window, factor) for the alerts that fit in the period (a long window longer than it is left out)."""
    return [(w, w.factor(period_s)) for w in WORKBOOK
            if (severity is None or w.severity == severity) and w.long_s <= period_s]


def firing(long_burn: Optional[float], short_burn: Optional[float], factor: float) -> bool:
    """Both windows burn at least `factor` (the short one confirms it is still happening)."""
    return long_burn is not None and short_burn is not None and long_burn >= factor and short_burn >= factor


def percentile(counts: list[int], edges: list[float], q: float) -> Optional[float]:
    """The q-quantile of a histogram (counts[i] in (edges[i-1], edges[i]], a last bin above the last edge),
    interpolated linearly inside its bin as Prometheus's histogram_quantile does. None when empty."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    seen = 0.0
    for i, count in enumerate(counts):
        if count and seen + count >= rank:
            if i >= len(edges):
                return float(edges[-1])          # above the last edge: the highest bound known
            lower = 0.0 if i == 0 else float(edges[i - 1])
            return lower + (float(edges[i]) - lower) * (rank - seen) / count
        seen += count
    return float(edges[-1])


_STEPS = (90.0, 95.0, 98.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999)
LOOSE_BELOW = 0.10   # a quarter that used less than this share of its budget: the target says little
TIGHT_ABOVE = 0.75   # most of the budget used: right at the edge


def review_hint(name: str, target_percent: float, good: float, total: float) -> str:
    """A plain-words reading of a quarter: is the target too loose, too tight, or about right?"""
    if total <= 0:
        return f"{name}: no traffic this quarter, so nothing to review — check that the source is the right one."
    bad = total - good
    used = 1.0 - (budget_remaining(bad, total, target_percent) or 0.0)
    achieved = 100.0 * good / total
    if used > 1.0:
        return (f"{name}: the objective was missed — {achieved:.3f} % against {target_percent:g} %, "
                f"{used:.0%} of the error budget spent. Either the service needs reliability work before new "
                f"features, or {target_percent:g} % is stricter than users need; decide which and write it down.")
    if used > TIGHT_ABOVE:
        return (f"{name}: met, but {used:.0%} of the error budget was spent: the target is tight; "
                "keep it if users notice failures at this level, and plan reliability work.")
    if used < LOOSE_BELOW:
        better = [s for s in _STEPS if s > target_percent and bad <= 0.5 * (1 - s / 100) * total]
        suggestion = (f" The service did {achieved:.3f} %; {better[-1]:g} % would still leave at least half its budget."
                      if better else "")
        return (f"{name}: only {used:.0%} of the error budget was used: {target_percent:g} % looks loose, "
                f"so the budget gives no signal.{suggestion}")
    return f"{name}: the target looks about right: {used:.0%} of the error budget was used this quarter."
