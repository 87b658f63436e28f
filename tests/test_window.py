"""The maintenance window: RRULE occurrences across DST, "first Sunday", inside/next, and actions refused outside it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from helpers import config_error

from opsproof.process.window import WindowRule, WindowError

UTC = timezone.utc


def _sched(rule="FREQ=MONTHLY;BYDAY=1SU", start="02:00", hours=2.0, tz="UTC") -> WindowRule:
    return WindowRule(rule, start, timedelta(hours=hours), tz)


def test_first_sunday_of_every_month():
    sched = _sched(tz="Europe/Berlin")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    seen = []
    for _ in range(12):
        occ = sched.next(now)
        local = occ.start.astimezone(ZoneInfo("Europe/Berlin"))
        seen.append(local.date())
        assert local.weekday() == 6 and local.day <= 7, local
        assert (local.hour, local.minute) == (2, 0)
        assert occ.end - occ.start == timedelta(hours=2)
        now = occ.end
    assert [d.month for d in seen] == list(range(1, 13))
    assert seen[0].isoformat() == "2026-01-04" and seen[2].isoformat() == "2026-03-01"


def test_local_start_keeps_its_wall_clock_across_dst():
    """02:00 Berlin is 01:00Z in winter and 00:00Z in summer: the window follows the local clock."""
    sched = _sched(tz="Europe/Berlin")
    january = sched.next(datetime(2026, 1, 1, tzinfo=UTC))
    july = sched.next(datetime(2026, 7, 1, tzinfo=UTC))
    assert january.start == datetime(2026, 1, 4, 1, 0, tzinfo=UTC)
    assert july.start == datetime(2026, 7, 5, 0, 0, tzinfo=UTC)


def test_start_in_the_spring_forward_gap_moves_forward():
    """02:30 does not exist on 2026-03-29 in Berlin: the window opens at 03:30 CEST (01:30Z) and lasts 2 h."""
    sched = _sched("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "02:30", tz="Europe/Berlin")
    occ = sched.next(datetime(2026, 3, 1, tzinfo=UTC))
    assert occ.start == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert occ.start.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") == "03:30 CEST"
    assert occ.end - occ.start == timedelta(hours=2)


def test_start_in_the_fall_back_repeat_is_the_first():
    """02:30 happens twice on 2026-10-25 in Berlin: the window opens at the first (CEST, 00:30Z)."""
    sched = _sched("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "02:30", tz="Europe/Berlin")
    occ = sched.next(datetime(2026, 10, 1, tzinfo=UTC))
    assert occ.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert occ.end == datetime(2026, 10, 25, 2, 30, tzinfo=UTC)  # elapsed time: 03:30 CET by the clock


def test_first_sunday_on_the_us_fall_back_day():
    """New York leaves DST on the first Sunday of November 2026 at 02:00: 02:00 EST is 07:00Z."""
    sched = _sched(tz="America/New_York")
    occ = sched.next(datetime(2026, 10, 20, tzinfo=UTC))
    assert occ.start == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    assert sched.next(datetime(2026, 9, 20, tzinfo=UTC)).start == datetime(2026, 10, 4, 6, 0, tzinfo=UTC)  # EDT


def test_inside_and_next_and_last_opened():
    sched = _sched()
    inside = sched.state(datetime(2026, 12, 6, 3, 0, tzinfo=UTC))
    assert inside.inside and inside.current_utc == "2026-12-06 02:00Z – 2026-12-06 04:00Z"
    assert inside.next_utc.startswith("2027-01-03 02:00Z")
    at_end = sched.state(datetime(2026, 12, 6, 4, 0, tzinfo=UTC))
    assert not at_end.inside  # the end is exclusive
    before = sched.state(datetime(2026, 12, 5, 2, 0, tzinfo=UTC))
    assert not before.inside and before.hours_until_next == 24.0
    assert before.last_opened_utc == "2026-11-01T02:00:00Z"
    assert "CET" in _sched(tz="Europe/Berlin").state(datetime(2026, 12, 5, tzinfo=UTC)).next_local


def test_interval_rules_keep_their_phase_with_an_anchor_date():
    sched = _sched("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU", "2026-01-04 02:00")
    starts = [sched.next(datetime(2026, 1, 1, tzinfo=UTC)).start]
    for _ in range(3):
        starts.append(sched.next(starts[-1]).start)
    assert [s.day for s in starts] == [4, 18, 1, 15]


@pytest.mark.parametrize("rule, start, tz, words", [
    ("FREQ=MONTHLY;BYDAY=1XX", "02:00", "UTC", "BYDAY"),
    ("FREQ=DAILY", "25:00", "UTC", "not a time of day"),
    ("FREQ=DAILY", "2am", "UTC", "HH:MM"),
    ("FREQ=DAILY", "02:00", "Mars/Olympus", "unknown time zone"),
    ("DTSTART:20260101T000000\nRRULE:FREQ=DAILY", "02:00", "UTC", "the rule alone"),
])
def test_bad_definitions_are_refused(rule, start, tz, words):
    with pytest.raises(WindowError, match=words):
        WindowRule(rule, start, timedelta(hours=1), tz)


# --- UNTIL, in UTC or in the window's own time (issue 21, item 6a) ----------------------------------------------

@pytest.mark.parametrize("until", ["20261210T010000Z", "20261210T020000", "20261210t010000z"])
def test_until_in_utc_and_in_the_windows_own_time_are_both_accepted(until):
    """RFC 5545 writes UNTIL either way: with Z an instant in UTC, without it wall-clock time in window.timezone.
    Berlin's 02:00 on 10 December is 01:00Z: both forms end the rule with that window, not before or after."""
    sched = _sched(f"FREQ=DAILY;UNTIL={until}", hours=1, tz="Europe/Berlin")
    last = sched.last_opened(datetime(2027, 1, 1, tzinfo=UTC))
    assert last.start == datetime(2026, 12, 10, 1, 0, tzinfo=UTC), last
    assert sched.next(datetime(2026, 12, 10, 1, 30, tzinfo=UTC)) is None


def test_a_utc_until_is_an_instant_not_a_wall_clock_time():
    """UNTIL=...T005959Z is 01:59:59 in Berlin: the 02:00 window of that day is past it (read as local time, the
    rule would end a day earlier; read as UTC wall time in the zone, it would keep it)."""
    sched = _sched("FREQ=DAILY;UNTIL=20261210T005959Z", hours=1, tz="Europe/Berlin")
    assert sched.last_opened(datetime(2027, 1, 1, tzinfo=UTC)).start == datetime(2026, 12, 9, 1, 0, tzinfo=UTC)
    late = _sched("FREQ=DAILY;UNTIL=20261210T010000Z", hours=1, tz="America/New_York")  # 20:00 the day before
    assert late.last_opened(datetime(2027, 1, 1, tzinfo=UTC)).start == datetime(2026, 12, 9, 7, 0, tzinfo=UTC)


def test_a_config_window_with_a_utc_until_loads(tmp_path):
    from opsproof import config as cfg

    path = tmp_path / "maintenance.yaml"
    path.write_text('service: svc\nwindow: {rrule: "FREQ=MONTHLY;BYDAY=1SU;UNTIL=20271231T235959Z", '
                    "timezone: Europe/Berlin}\n")
    assert cfg.load(path).window.rrule.endswith("UNTIL=20271231T235959Z")


@pytest.mark.parametrize("rule, said", [
    ("FREQ=SOMETIMES", "window.rrule: not an iCalendar RRULE: invalid 'FREQ': SOMETIMES"),
    ("FREQ=DAILY;UNTIL=2027", "window.rrule: UNTIL=2027 is not a date (YYYYMMDD) or a date-time (YYYYMMDDTHHMMSS, "
                              "with Z for UTC)"),
    ("FREQ=DAILY;UNTIL=20271301T000000Z", "window.rrule: UNTIL=20271301T000000Z is not a date"),
])
def test_a_bad_rule_stops_check_config_with_exit_4_naming_window_rrule(tmp_path, rule, said):
    import subprocess
    import sys

    path = tmp_path / "maintenance.yaml"
    path.write_text(f'service: svc\nwindow: {{rrule: "{rule}"}}\n')
    done = subprocess.run([sys.executable, "-m", "opsproof.cli", "check-config", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 4 and "Traceback" not in done.stderr, done
    (line,) = done.stderr.splitlines()
    assert said in line and str(path) in line, line


def _hhmm(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%H:%M")


def _config(tmp: dict, **window) -> dict:
    return {"service": "svc", "root": ".", "temp": tmp, "window": window}


def test_window_scheduled_check_follows_the_horizon(suite):
    (suite.path / "tmp").mkdir()
    soon = {"rrule": "FREQ=DAILY", "start": _hhmm(timedelta(hours=3)), "duration": "1h", "timezone": "UTC"}
    suite.config(_config({"dirs": ["tmp"]}, **soon, horizon="5h"))
    assert suite.run("-m", "premaintenance", "-k", "window").ret == 0
    evidence = suite.summary()["tests"][0]["evidence"][0]["data"]
    assert evidence["next_utc"] and evidence["next_local"] and not evidence["inside"]
    suite.config(_config({"dirs": ["tmp"]}, **soon, horizon="1h"))
    result = suite.run("-m", "premaintenance", "-k", "window")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*hours until the next window*window.horizon allows <= 1.0 h*"])
    inside = {"rrule": "FREQ=DAILY", "start": _hhmm(-timedelta(minutes=30)), "duration": "2h", "timezone": "UTC",
              "horizon": "1h"}
    suite.config(_config({"dirs": ["tmp"]}, **inside))
    assert suite.run("-m", "premaintenance", "-k", "window").ret == 0


def _old_file(root, name="old.tmp"):
    import os

    path = root / "tmp" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("stale\n")
    old = (datetime.now(UTC) - timedelta(days=30)).timestamp()
    os.utime(path, (old, old))
    return path


def test_gated_action_refused_outside_the_window(suite):
    """window.gate makes clean-temp disruptive: outside the window it refuses, says when the next opens, changes nothing."""
    stale = _old_file(suite.path)
    later = {"rrule": "FREQ=DAILY", "start": _hhmm(timedelta(hours=5)), "duration": "1h", "timezone": "Europe/Berlin",
             "gate": ["clean-temp"]}
    suite.config(_config({"dirs": ["tmp"], "max_age_days": 7}, **later))
    result = suite.run("-m", "daily", "--apply")
    assert result.ret == 1
    out = result.stdout.str()
    assert "action refused: clean-temp may run only inside the maintenance window" in out
    assert "the next window opens" in out and "--ignore-window" in out
    assert stale.exists(), "a refused action changed the target"
    outcomes = suite.outcomes()
    assert all(v == "failed" for k, v in outcomes.items() if "test_temp" in k), outcomes
    # The same run with --ignore-window acts.
    assert suite.run("-m", "daily", "--apply", "--ignore-window", "--approved-by", "cto", "--reason", "test").ret == 0
    assert not stale.exists()


def test_gated_action_runs_inside_the_window(suite):
    stale = _old_file(suite.path)
    now = {"rrule": "FREQ=DAILY", "start": _hhmm(-timedelta(minutes=10)), "duration": "1h", "timezone": "UTC",
           "gate": ["clean-temp"]}
    suite.config(_config({"dirs": ["tmp"]}, **now))
    assert suite.run("-m", "daily", "--apply").ret == 0
    assert not stale.exists()
    gate = next(e["data"] for t in suite.summary()["tests"] for e in t["evidence"] if e["label"].startswith("action gate"))
    assert gate["act"] and gate["disruptive"] and gate["window"].startswith("inside the window")


def test_plan_mode_outside_the_window_plans_and_says_it_would_refuse(suite):
    stale = _old_file(suite.path)
    later = {"rrule": "FREQ=DAILY", "start": _hhmm(timedelta(hours=5)), "duration": "1h", "gate": ["clean-temp"]}
    suite.config(_config({"dirs": ["tmp"]}, **later))
    result = suite.run("-m", "daily")
    assert stale.exists()
    assert result.ret == 1  # the stale file is still there: test_no_stale_temp_files says so
    gate = next(e["data"] for t in suite.summary()["tests"] for e in t["evidence"] if e["label"].startswith("action gate"))
    assert not gate["act"] and "would be refused" in gate["notes"][0]


DISRUPTIVE_CHECK = '''
import pytest
from engine.actions import gate

pytestmark = [pytest.mark.monthly]

@pytest.fixture
def update(request, target):
    return gate(request, "update-dependencies", target)

def test_update(update):
    """Dependencies updated."""
    assert update
'''


def test_disruptive_action_without_a_window_section_refuses(suite):
    (suite.path / "checks" / "test_update_probe.py").write_text(DISRUPTIVE_CHECK)
    suite.config({"service": "svc", "root": "."})
    result = suite.run("-m", "monthly", "--apply")
    assert result.ret == 1
    assert "update-dependencies is disruptive and maintenance.yaml has no window: section" in result.stdout.str()
    assert suite.run("-m", "monthly", "--apply", "--ignore-window", "--approved-by", "cto", "--reason", "test").ret == 0


@pytest.mark.parametrize("text, key, words", [
    ('window: {rrule: "FREQ=MONTHLY;BYDAY=1XX"}', "window.rrule", "not an iCalendar RRULE"),
    ('window: {rrule: "FREQ=DAILY", timezone: Mars/Base}', "window.timezone", "unknown time zone"),
    ('window: {rrule: "FREQ=DAILY", start: "25:00"}', "window.start", "not a time of day"),
    ('window: {rrule: "FREQ=DAILY", duration: 2}', "window.duration", "not a duration such as 90m"),
    ('window: {rrule: "FREQ=DAILY", horizon: soon}', "window.horizon", "not a duration"),
    ('window: {rrule: "FREQ=DAILY", gate: [rotate-log]}', "window.gate", "unknown action 'rotate-log'"),
    ('window: {start: "02:00"}', "window.rrule", "required key is missing"),
])
def test_window_config_errors_name_the_key(tmp_path, text, key, words):
    err = config_error(tmp_path, text)
    assert err.key == key and words in str(err)


def test_window_config_defaults():
    from opsproof.config import Window

    window = Window(rrule="FREQ=MONTHLY;BYDAY=1SU")
    assert (window.start, window.duration, window.timezone, window.horizon, window.gate) == (
        "00:00", timedelta(hours=2), "UTC", timedelta(days=7), [])


# Each test below kills a mutant that survived scripts/mutation (tests/MUTANTS.md).

def test_a_window_state_in_full_at_its_opening_instant():
    """At the very instant a window opens it is inside, and it is the last opened; the state reads back whole."""
    from opsproof.process.window import WindowState

    now = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    assert _sched().state(now) == WindowState(
        rule="FREQ=MONTHLY;BYDAY=1SU", timezone="UTC", now_utc="2026-12-06 02:00:00Z", inside=True,
        current_local="2026-12-06 02:00 UTC – 2026-12-06 04:00 UTC", current_utc="2026-12-06 02:00Z – 2026-12-06 04:00Z",
        next_local="2027-01-03 02:00 UTC – 2027-01-03 04:00 UTC", next_utc="2027-01-03 02:00Z – 2027-01-03 04:00Z",
        hours_until_next=672.0, last_opened_utc="2026-12-06T02:00:00Z")


def test_a_window_in_another_zone_on_a_machine_in_a_third(monkeypatch):
    """Berlin's 02:00-04:00 is 01:00-03:00Z in winter, whatever zone the machine itself is in (here Tokyo)."""
    import time as time_mod

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time_mod.tzset()
    try:
        state = _sched(tz="Europe/Berlin").state(datetime(2026, 12, 6, 1, 30, tzinfo=UTC))
    finally:
        monkeypatch.undo()
        time_mod.tzset()
    assert state.inside and state.now_utc == "2026-12-06 01:30:00Z"
    assert state.current_local == "2026-12-06 02:00 CET – 2026-12-06 04:00 CET"
    assert state.current_utc == "2026-12-06 01:00Z – 2026-12-06 03:00Z"
    assert state.next_local == "2027-01-03 02:00 CET – 2027-01-03 04:00 CET"
    assert state.last_opened_utc == "2026-12-06T01:00:00Z"


def test_a_long_window_is_found_late_in_its_course():
    """A 20 h window is still current 19 h after it opened; around() reaches as far ahead as asked."""
    sched = _sched(hours=20)
    now = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
    assert sched.current(now).start == datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    ahead = sched.around(datetime(2026, 12, 20, tzinfo=UTC), ahead=timedelta(days=20))
    assert datetime(2027, 1, 3, 2, 0, tzinfo=UTC) in [o.start for o in ahead]


def test_the_last_opened_window_is_the_one_open_now_with_its_end():
    sched = _sched()
    last = sched.last_opened(datetime(2026, 12, 6, 3, 0, tzinfo=UTC))
    assert (last.start, last.end) == (datetime(2026, 12, 6, 2, 0, tzinfo=UTC), datetime(2026, 12, 6, 4, 0, tzinfo=UTC))


def test_hours_until_next_are_rounded_to_two_places():
    state = _sched().state(datetime(2026, 12, 5, 2, 0, 20, tzinfo=UTC))
    assert state.hours_until_next == 23.99


def test_a_rule_that_ended_or_has_not_begun():
    from opsproof.process.window import describe_next

    once = _sched("FREQ=DAILY;COUNT=1", "2026-01-04 02:00")
    after = once.state(datetime(2026, 6, 1, tzinfo=UTC))
    assert (after.next_local, after.next_utc, after.hours_until_next) == (None, None, None)
    assert after.last_opened_utc == "2026-01-04T02:00:00Z"
    assert describe_next(after) == "the rule has no future window"
    before = once.state(datetime(2026, 1, 1, tzinfo=UTC))
    assert before.last_opened_utc is None and before.hours_until_next == 74.0
    assert describe_next(before) == "the next window opens 2026-01-04 02:00 UTC (2026-01-04 02:00Z)"


def test_a_zero_duration_is_refused():
    with pytest.raises(WindowError) as info:
        WindowRule("FREQ=DAILY", "02:00", timedelta(0), "UTC")
    assert str(info.value) == "duration must be positive"


def test_window_rule_of_a_config_window():
    from opsproof.config import Window
    from opsproof.process.window import window_rule

    sched = window_rule(Window(rrule="FREQ=WEEKLY;BYDAY=SU", start="03:15", duration="90m", timezone="Europe/Berlin"))
    assert (sched.text, sched.duration, sched.tz_name) == ("FREQ=WEEKLY;BYDAY=SU", timedelta(minutes=90), "Europe/Berlin")
    occ = sched.next(datetime(2026, 12, 1, tzinfo=UTC))
    assert (occ.start, occ.end) == (datetime(2026, 12, 6, 2, 15, tzinfo=UTC), datetime(2026, 12, 6, 3, 45, tzinfo=UTC))
