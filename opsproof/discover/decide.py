"""Thresholds from what discovery measured: each function returns the value and the sentence that says why.

The rule throughout: the written config passes on the system as it is now (a starting point must not fail on a
healthy service), with a margin that still catches the change the check is there for; where the guide names a
value (85 % disk, 26 h backups, 30 days of TLS), it is kept unless today's state is already past it.
"""
from __future__ import annotations

import math
import os
import re
import statistics
from typing import Optional

DISK_DEFAULT, INODES_DEFAULT, DISK_MARGIN = 85.0, 90.0, 5.0
DISK_CEILING = 99.0
DAILY_AGE_H = 26.0               # the guide's daily backup: a day and two hours of slack
SCHEDULE_MIN_GAP_H = 1.0         # archives closer than this were taken by hand, not by a schedule
KEEP_DEFAULT = 14
SLO_STEPS = (99.9, 99.5, 99.0, 98.0, 95.0, 90.0)
MIN_BUDGET_REQUESTS = 2          # a target whose budget over the observed traffic is under this fails on one error
LATENCY_FLOOR_MS, LATENCY_FACTOR = 500.0, 10.0
_TIMESTAMP = re.compile(r"\d[\dT_.:-]*\dZ?|\d")


def disk_limit(current: Optional[float], default: float) -> tuple[float, str]:
    """The guide's limit, or today's use plus a margin when today is already near or past it."""
    if current is None:
        return default, "not measured: the guide's default"
    if current + DISK_MARGIN <= default:
        return default, f"{current:g} % used now: the guide's {default:g} % leaves {default - current:g} points"
    limit = min(DISK_CEILING, float(math.ceil(current + DISK_MARGIN)))
    return limit, (f"{current:g} % used now, past the guide's {default:g} % less {DISK_MARGIN:g}: set {DISK_MARGIN:g} "
                   f"points above today so growth still fails it — free space, then lower it")


def backup_pattern(names: list[str]) -> str:
    """A one-`*` glob the names share (newest first): the part that changes (the longest run of a timestamp's
    characters in the newest name, widened to what the names do not share) becomes `*`."""
    first = names[0]
    spans = [m.span() for m in _TIMESTAMP.finditer(first)]
    start, end = max(spans, key=lambda s: s[1] - s[0]) if spans else (len(first), len(first))
    head = os.path.commonprefix(names)[:start]
    tail = os.path.commonprefix([n[::-1] for n in names])[::-1]
    tail = tail[max(0, len(tail) - (len(first) - end)):] if spans else tail
    if len(head) + len(tail) > min(len(n) for n in names):
        tail = ""
    return f"{head}*{tail}"


def backup_age(mtimes: list[float], now: float) -> tuple[float, str]:
    """backups.max_age_hours: the schedule's interval (the median gap between archives) plus a margin; daily by default."""
    newest = (now - max(mtimes)) / 3600
    gaps = sorted((b - a) / 3600 for a, b in zip(sorted(mtimes), sorted(mtimes)[1:]))
    gaps = [g for g in gaps if g >= SCHEDULE_MIN_GAP_H]
    if not gaps:
        limit, why = DAILY_AGE_H, "no schedule to read from the archives' times: the guide's daily backup, 26 h"
    else:
        every = statistics.median(gaps)
        if 20 <= every <= 28:
            limit, why = DAILY_AGE_H, f"archives every {every:.1f} h: a daily schedule, the guide's 26 h"
        else:
            limit = float(math.ceil(every * 1.1 + 1))
            why = f"archives every {every:.1f} h (median gap): that plus 10 % and an hour"
    if newest > limit:
        why += f" — the newest is already {newest:.1f} h old: the backup job may have stopped"
    return limit, why


def min_size(sizes: list[int]) -> tuple[int, str]:
    """backups.min_size_bytes: a power of two at most half the smallest recent archive (an almost empty one fails)."""
    smallest = min(sizes)
    limit = 1 << max(0, (smallest // 2).bit_length() - 1) if smallest >= 2 else 0
    return limit, f"the smallest recent archive is {smallest} B: half of it, down to a power of two"


def keep(count: int) -> tuple[int, str]:
    """backups.keep: never fewer than are kept now (the backup action prunes to it)."""
    if count <= KEEP_DEFAULT:
        return KEEP_DEFAULT, f"{count} archive(s) there now: the guide's two weeks of dailies"
    return count, f"{count} archives there now: kept as they are (the backup action prunes beyond `keep`)"


def slo_target(total: int, bad: int) -> tuple[Optional[float], str]:
    """An availability target the log attains now with at least half its error budget left (the quarterly review's
    rule), and room for a few errors in the traffic seen; None when there is no traffic."""
    if total <= 0:
        return None, "no requests in the last 30 days: nothing to set a target from"
    attained = 100.0 * (total - bad) / total
    for step in SLO_STEPS:
        budget = (1 - step / 100) * total
        if bad <= 0.5 * budget and budget >= MIN_BUDGET_REQUESTS:
            return step, (f"{total} requests, {bad} answered 5xx ({attained:.3f} % good): {step:g} % is the highest "
                          f"usual target that leaves at least half its error budget ({budget:.0f} requests)")
    floor = math.floor(attained * 10) / 10 - 0.1
    return max(floor, 0.1), (f"{total} requests, {bad} answered 5xx ({attained:.3f} % good): below every usual target, "
                             f"set just under today's attainment — decide what users need")


def latency_limit(measured_ms: float) -> tuple[float, str]:
    """health[].max_latency_ms: ten times today's answer, rounded up to 100 ms, at least 500 ms."""
    limit = max(LATENCY_FLOOR_MS, math.ceil(measured_ms * LATENCY_FACTOR / 100) * 100)
    return float(limit), f"answered in {measured_ms:g} ms now: ten times that, at least {LATENCY_FLOOR_MS:g} ms"


def tls_days(days_left: Optional[float]) -> tuple[float, str]:
    """security.tls[].min_days: the guide's 30, or fewer when the certificate already has less (it then needs renewal)."""
    if days_left is None or days_left >= 30:
        return 30.0, "the guide's 30 days before expiry"
    return 30.0, f"only {days_left:g} days left now: renew it (the check fails until then)"
