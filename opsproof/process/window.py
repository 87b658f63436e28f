"""The maintenance window: an iCalendar RRULE (python-dateutil), a wall-clock start, a duration, a time zone.

Occurrences are computed in the window's own time zone, on wall-clock time, then turned into
instants: "first Sunday of the month at 02:00 Europe/Berlin" stays at 02:00 local across daylight
saving changes. Two edge cases are resolved the way Python's zoneinfo (PEP 495, fold=0) resolves
them: a start the zone skips (spring forward) moves forward by the length of the gap (02:30 becomes
03:30), and a start that occurs twice (fall back) is the first of the two. The duration is elapsed
time: a 2 h window that opens at 01:00 on a fall-back night closes at 02:00 by the clock.
Parsing the rule, start and zone is config's (config.when, which Window's validation uses).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from ..config import Window
from ..config.when import WindowError, parse_rule, zone

__all__ = ["Occurrence", "WindowRule", "WindowError", "WindowState", "describe_next", "window_rule"]


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` as an aware UTC instant (a skipped time moves forward, a repeated one is the first)."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)


@dataclass(frozen=True)
class Occurrence:
    start: datetime  # aware, UTC
    end: datetime    # aware, UTC

    def local(self, tz: ZoneInfo) -> str:
        a, b = self.start.astimezone(tz), self.end.astimezone(tz)
        return f"{a:%Y-%m-%d %H:%M %Z} – {b:%Y-%m-%d %H:%M %Z}"

    def utc(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}Z – {self.end:%Y-%m-%d %H:%M}Z"


@dataclass(frozen=True)
class WindowState:
    """Where `now` stands against the window: inside one, and when the next opens. Local and UTC."""

    rule: str
    timezone: str
    now_utc: str
    inside: bool
    current_local: Optional[str] = None
    current_utc: Optional[str] = None
    next_local: Optional[str] = None
    next_utc: Optional[str] = None
    hours_until_next: Optional[float] = None
    last_opened_utc: Optional[str] = None
    error: Optional[str] = None


class WindowRule:
    """Occurrences of one window definition."""

    def __init__(self, rule: str, start: str, duration: timedelta, tz_name: str) -> None:
        if duration <= timedelta(0):
            raise WindowError("duration must be positive")
        self.text, self.duration, self.tz_name = rule, duration, tz_name
        self.tz = zone(tz_name)
        self.rule = parse_rule(rule, start, self.tz)

    def _wall(self, when: datetime) -> datetime:
        return when.astimezone(self.tz).replace(tzinfo=None)

    def around(self, now: datetime, ahead: timedelta = timedelta(0)) -> list[Occurrence]:
        """Occurrences that may contain `now` or start before now + ahead (a day of slack for offsets)."""
        slack = timedelta(days=1)
        wall_now = self._wall(now)
        starts = self.rule.between(wall_now - self.duration - slack, wall_now + ahead + slack, inc=True)
        return [Occurrence(s, s + self.duration) for s in (_instant(w, self.tz) for w in starts)]

    def current(self, now: datetime) -> Optional[Occurrence]:
        for occ in self.around(now):
            if occ.start <= now < occ.end:
                return occ
        return None

    def next(self, now: datetime) -> Optional[Occurrence]:
        """The first occurrence that opens after `now` (None when the rule has ended)."""
        wall = self._wall(now) - timedelta(days=1)
        while True:
            found = self.rule.after(wall, inc=False)
            if found is None:
                return None
            start = _instant(found, self.tz)
            if start > now:
                return Occurrence(start, start + self.duration)
            wall = found

    def last_opened(self, now: datetime) -> Optional[Occurrence]:
        """The newest occurrence that opened at or before `now`."""
        found = self.rule.before(self._wall(now) + timedelta(days=1), inc=True)
        while found is not None:
            start = _instant(found, self.tz)
            if start <= now:
                return Occurrence(start, start + self.duration)
            found = self.rule.before(found, inc=False)
        return None

    def state(self, now: datetime) -> WindowState:
        now = now.astimezone(timezone.utc)
        cur, nxt, last = self.current(now), self.next(now), self.last_opened(now)
        return WindowState(
            rule=self.text, timezone=self.tz_name, now_utc=f"{now:%Y-%m-%d %H:%M:%S}Z", inside=cur is not None,
            current_local=cur.local(self.tz) if cur else None, current_utc=cur.utc() if cur else None,
            next_local=nxt.local(self.tz) if nxt else None, next_utc=nxt.utc() if nxt else None,
            hours_until_next=round((nxt.start - now).total_seconds() / 3600, 2) if nxt else None,
            last_opened_utc=f"{last.start:%Y-%m-%dT%H:%M:%S}Z" if last else None)


def window_rule(window: Window) -> WindowRule:
    """The WindowRule for a validated config.Window."""
    return WindowRule(window.rrule, window.start, window.duration, window.timezone)


def describe_next(state: WindowState) -> str:
    """One phrase for messages: when the next window opens, local and UTC."""
    if state.next_local is None:
        return "the rule has no future window"
    return f"the next window opens {state.next_local.split(' – ')[0]} ({state.next_utc.split(' – ')[0]})"
