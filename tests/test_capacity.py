"""Capacity planning: days until full, fitted over the disk usage each run records."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from opsproof.system.capacity import DAY, EVERY_S, FIT_S, KEEP_S, add_sample, forecast, from_sizes

from helpers import require_tool, unavailable

GB = 1 << 30


def _history(days: list[float], used_gb: list[float], size_gb: float = 100, now: float = 1e9):
    return [[now - d * DAY, u * GB, size_gb * GB] for d, u in zip(days, used_gb)]


def test_steady_growth_gives_days_until_full():
    fc = forecast(_history([20, 10, 0], [40, 45, 50]), "/", 1e9)        # 0.5 GB a day, 50 GB free
    assert fc.error is None and fc.growth_bytes_per_day == pytest.approx(0.5 * GB, rel=1e-9)
    assert fc.days_until_full == pytest.approx(100.0) and fc.used_percent == 50.0 and fc.samples == 3


def test_flat_or_shrinking_has_no_fill_date():
    for used in ([50, 50, 50], [60, 55, 50]):
        fc = forecast(_history([20, 10, 0], used), "/", 1e9)
        assert fc.error is None and fc.days_until_full is None and fc.full_by_utc == ""


@pytest.mark.parametrize("days, used", [([0], [50]), ([1, 0], [49, 50]), ([1, 0.5, 0], [48, 49, 50])])
def test_too_little_history_is_could_not_forecast_not_a_pass(days, used):
    fc = forecast(_history(days, used), "/data", 1e9)
    assert fc.error and fc.error.startswith("could not forecast /data: ") and fc.days_until_full is None
    assert f"{len(days)} point(s) over {int(round((max(days) - min(days)) * 24))} hours" in fc.error


def test_samples_are_thinned_to_one_an_hour_and_old_ones_dropped():
    h = add_sample([], 1e9, 1, 10)
    h = add_sample(h, 1e9 + EVERY_S - 1, 2, 10)          # within the hour: not added
    assert len(h) == 1
    h = add_sample(h, 1e9 + EVERY_S, 3, 10)
    assert [s[1] for s in h] == [1.0, 3.0]
    h = add_sample(h, 1e9 + KEEP_S + 1, 4, 10)            # the first is now older than KEEP_S
    assert [s[1] for s in h] == [3.0, 4.0]


def test_only_the_window_is_fitted():
    old = _history([300, 200], [10, 90])                 # a past spike, long ago
    fc = forecast(old + _history([20, 10, 0], [40, 45, 50]), "/", 1e9)
    assert FIT_S == 30 * DAY and fc.samples == 3 and fc.days_until_full == pytest.approx(100.0)
    wide = forecast(old + _history([20, 10, 0], [40, 45, 50]), "/", 1e9, window_s=400 * DAY)
    assert wide.samples == 5


def test_inodes_are_forecast_beside_space():
    hist = [s + [i * 1000.0, 100_000.0] for s, i in zip(_history([20, 10, 0], [50, 50, 50]), (40, 60, 80))]
    fc = forecast(hist, "/", 1e9)
    assert fc.days_until_full is None                       # space is flat
    assert fc.inode_growth_per_day == pytest.approx(2000.0) and fc.inode_days_until_full == pytest.approx(10.0)


def test_the_quarterly_check_fails_below_forecast_min_days_and_passes_above(suite, tmp_path):
    # max_used_percent 100: this test is about the forecast, not about how full this machine's disk is today
    config = {"service": "capacity", "root": str(tmp_path), "disk": {"paths": [str(tmp_path)], "max_used_percent": 100}}
    suite.config(config)
    assert suite.run("-m", "daily", "checks/test_disk.py").ret == 0   # records the first sample
    state = next((suite.path / ".opsproof").glob("*/capacity.json"))
    saved = json.loads(state.read_text())
    (mount, [[t, used, usable, *_]]), = saved.items()
    per_day = (usable - used) / 50                      # full in 50 days at this rate
    saved[mount] = [[t - 10 * DAY, used - 10 * per_day, usable], [t - 5 * DAY, used - 5 * per_day, usable],
                    [t - 3600, used, usable]]
    state.write_text(json.dumps(saved))

    suite.config({**config, "disk": {**config["disk"], "forecast_min_days": 90}})
    assert suite.run("-m", "quarterly", "checks/test_capacity.py").ret == 1
    (test,) = [t for t in suite.summary()["tests"] if "test_capacity_forecast" in t["id"]]
    assert test["outcome"] == "failed" and "disk.forecast_min_days allows >= 90" in test["message"], test
    assert 45 <= test["comparisons"][0]["measured"] <= 55, test["comparisons"]
    assert suite.html().count("data:image/svg+xml;base64,") >= 1       # the history chart

    suite.config({**config, "disk": {**config["disk"], "forecast_min_days": 30}})
    assert suite.run("-m", "quarterly", "checks/test_capacity.py").ret == 0


def test_a_first_run_cannot_forecast_and_says_so(suite, tmp_path):
    suite.config({"service": "capacity", "root": str(tmp_path), "disk": {"paths": [str(tmp_path)]}})
    assert suite.run("-m", "quarterly", "checks/test_capacity.py").ret == 0
    (test,) = [t for t in suite.summary()["tests"] if "test_capacity_forecast" in t["id"]]
    assert test["outcome"] == "skipped" and "could not forecast" in test["message"], test


# --- a real filesystem whose size is not used + available (issue 20, item 6) ------------------------------

@pytest.fixture
def reserved_fs(tmp_path):
    """(path, what it is): a real filesystem where blocks reserved for root make size > used + available.

    First choice: a 64 MiB ext4 image made with `mkfs.ext4 -m 50` and loop-mounted (needs root and a loop
    device), 12 MiB written into it. Where the mount is refused, the root filesystem if it has reserved blocks."""
    require_tool("mkfs.ext4", "mount", "umount")
    image, mnt = tmp_path / "reserved.img", tmp_path / "mnt"
    with open(image, "wb") as fh:
        fh.truncate(64 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "50", str(image)], check=True)
    mnt.mkdir()
    if subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], capture_output=True).returncode == 0:
        try:
            (mnt / "data").write_bytes(b"\1" * (12 << 20))
            os.sync()
            yield str(mnt), "a loop-mounted ext4 image made with mkfs.ext4 -m 50"
        finally:
            subprocess.run(["umount", str(mnt)], check=True)
        return
    st = os.statvfs("/")
    if st.f_bfree - st.f_bavail < 0.1 * st.f_bavail:     # too few reserved blocks to tell the two forecasts apart
        unavailable("cannot loop-mount an ext4 image here, and / has too few reserved blocks: no filesystem whose "
                    "size differs enough from used + available")
    yield "/", f"the root filesystem ({100 * (st.f_bfree - st.f_bavail) / st.f_blocks:.0f} % of it reserved)"


def test_forecast_counts_what_a_writer_can_use_not_the_filesystem_size(suite, tmp_path, reserved_fs):
    """Days left = available / growth, as df's Avail: a filesystem's reserved blocks are no room to grow into.

    The old forecast divided size - used by the growth: on 270 GB with 26 GB used and 83 GB available it said
    48.9 days at 5 GB a day, where 16.6 are left, and forecast_min_days: 30 passed."""
    path, what = reserved_fs
    config = {"service": "capacity", "root": str(tmp_path), "disk": {"paths": [path]}}
    suite.config(config)
    assert suite.run("-m", "daily", "checks/test_disk.py").ret in (0, 1)      # records the first sample
    (disk,) = [t for t in suite.summary()["tests"] if "test_disk_space" in t["id"]]
    measured = disk["evidence"][0]["data"]
    st = os.statvfs(path)
    used, avail = (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_bavail * st.f_frsize
    size = st.f_blocks * st.f_frsize
    assert size - used > 1.1 * avail, (what, size, used, avail)             # the case at issue: reserved blocks

    (state,) = [p for p in (suite.path / ".opsproof").glob("*/*.json") if path in json.loads(p.read_text())]
    saved = json.loads(state.read_text())
    (sample,) = saved[path]
    per_day = avail / 20                                  # what a writer can still use runs out in 20 days
    saved[path] = [[sample[0] - d * DAY, sample[1] - d * per_day, *sample[2:]] for d in (4, 2, 3600 / DAY)]
    state.write_text(json.dumps(saved))

    suite.config({**config, "disk": {**config["disk"], "forecast_min_days": 30}})
    assert suite.run("-m", "quarterly", "checks/test_capacity.py").ret == 1, what
    (test,) = [t for t in suite.summary()["tests"] if "test_capacity_forecast" in t["id"]]
    assert test["outcome"] == "failed" and "disk.forecast_min_days allows >= 30" in test["message"], (what, test)
    days = test["comparisons"][0]["measured"]
    assert 19 <= days <= 21, (what, days, f"size - used would give {(size - used) / per_day:.1f}")
    forecast_record = next(e["data"] for e in test["evidence"] if e["label"] == "capacity forecast")
    assert forecast_record["used_percent"] == pytest.approx(measured["used_percent"], abs=0.5), (what, forecast_record)


def test_a_history_recorded_with_the_size_is_carried_over_without_the_reserve(suite, tmp_path, reserved_fs):
    """A history from before (state `disk`, the size where used + available belongs) keeps its growth, and its
    newest point is read against what a writer can use: the same 20 days as a history recorded that way."""
    path, what = reserved_fs
    config = {"service": "capacity", "root": str(tmp_path), "disk": {"paths": [path], "forecast_min_days": 30}}
    suite.config(config)
    suite.run("-m", "daily", "checks/test_disk.py")
    (state,) = (suite.path / ".opsproof").glob("*/capacity.json")
    ((t, used, _, *inodes),) = json.loads(state.read_text())[path]
    state.unlink()
    st = os.statvfs(path)
    size, per_day = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize / 20
    old = [[t - d * DAY, used - d * per_day, size, *inodes] for d in (4, 2, 3600 / DAY)]
    (state.parent / "disk.json").write_text(json.dumps({path: old}))

    assert suite.run("-m", "quarterly", "checks/test_capacity.py").ret == 1, what
    (test,) = [t for t in suite.summary()["tests"] if "test_capacity_forecast" in t["id"]]
    assert 19 <= test["comparisons"][0]["measured"] <= 21, (what, test["comparisons"])
    carried = json.loads(state.read_text())[path]
    assert [s[1] for s in carried[:3]] == [s[1] for s in old] and len(carried) == 4


def test_from_sizes_takes_the_reserve_off_and_keeps_used():
    old = [[1.0, 10.0, 100.0], [2.0, 20.0, 100.0, 5.0, 50.0], [3.0, 1.0]]      # the last is damaged: dropped
    assert from_sizes(old, size=100, usable=70) == [[1.0, 10.0, 70.0], [2.0, 20.0, 70.0, 5.0, 50.0]]


# --- the arithmetic, in process (mutation testing: tests/MUTANTS.md) --------------------------------------

def test_add_sample_keeps_inodes_only_when_both_are_known():
    assert add_sample([], 1e9, 1, 10, 5, 50) == [[1e9, 1.0, 10.0, 5.0, 50.0]]
    assert add_sample([], 1e9, 1, 10, None, 50) == [[1e9, 1.0, 10.0]]
    assert add_sample([], 1e9, 1, 10, 5, 0) == [[1e9, 1.0, 10.0]]   # no inode limit (btrfs reports 0): no inodes


def test_add_sample_keeps_whole_samples_up_to_keep_s_and_drops_damaged_ones():
    now = 1e9
    history = [[now - KEEP_S - 1, 1.0, 10.0], [now - KEEP_S, 2.0, 10.0, 5.0, 50.0], [now - DAY, 3.0],
               [now - 3 * EVERY_S, 4.0, 10.0, 5.0, 50.0, 9.0], [now - EVERY_S, 5.0, 10.0]]
    assert [s[1] for s in add_sample(history, now, 6, 10)] == [2.0, 5.0, 6.0]   # exactly KEEP_S old: kept
    assert add_sample([[now, 1.0, 10.0]], now, 2, 10) == [[now, 1.0, 10.0]]     # one taken this instant: kept


def test_the_forecast_record_says_what_it_fitted():
    hist = [[1e9 - d * DAY, u, 3.0 * GB] for d, u in ((20 + 8 / 24, GB), (10, 1.5 * GB), (0, 2 * GB))]
    fc = forecast(hist, "/srv", 1e9)
    assert fc.mount == "/srv" and fc.history == hist and fc.history[0] is not hist[0]
    assert fc.span_days == 20.33 and fc.used_percent == 66.67 and fc.available_bytes == 1.0 * GB
    fc = forecast(_history([20, 10, 0], [40, 45, 50.25]), "/", 1e9)
    assert fc.span_days == 20.0 and fc.used_percent == 50.25 and fc.available_bytes == 49.75 * GB
    assert fc.growth_bytes_per_day == round(0.5125 * GB, 1) and fc.days_until_full == 97.1   # 97.073...
    hist = [[1e9 - d * DAY, u, 1000.0] for d, u in ((20, 100.0), (10, 400.0), (0, 700.5))]
    fc = forecast(hist, "/", 1e9)
    assert fc.growth_bytes_per_day == 30.0 and fc.days_until_full == 10.0          # 30.025 a day, 299.5 left
    hist = [[1e9 - d * DAY, u, 1000.0] for d, u in ((3, 100.0), (1.5, 160.0), (0, 217.0))]
    fc = forecast(hist, "/", 1e9)
    assert fc.span_days == 3.0 and fc.growth_bytes_per_day == 39.0 and fc.days_until_full == 20.1   # 20.08


def test_the_window_and_the_span_are_inclusive_at_their_bounds():
    fc = forecast(_history([30, 10, 0], [40, 45, 50]), "/", 1e9)           # the first exactly FIT_S old
    assert fc.samples == 3 and fc.error is None
    fc = forecast(_history([2, 0.5, 0], [40, 45, 50]), "/", 1e9)            # exactly MIN_SPAN_S, the middle late
    assert fc.error is None and fc.days_until_full is not None
    fc = forecast(_history([2, 1.5, 1.4, 0.1], [40, 45, 46, 50]), "/", 1e9)  # 1.9 days between first and last
    assert fc.error and fc.days_until_full is None


def test_a_filesystem_with_nothing_usable_has_no_percentage():
    fc = forecast([[1e9 - d * DAY, 0.0, 0.0] for d in (20, 10, 0)], "/", 1e9)
    assert fc.used_percent is None and fc.available_bytes == 0.0 and fc.days_until_full is None


def test_could_not_forecast_says_hours_window_and_what_the_fit_needs():
    fc = forecast([], "/", 1e9)
    assert fc.samples == 0 and fc.span_days == 0.0 and fc.used_percent is None
    assert fc.error == ("could not forecast /: 0 point(s) over 0 hours in the last 30 days (disk.forecast_window); "
                        "the fit needs 3 over at least 48 hours — each run that measures the disk records one, at "
                        "most one an hour")
    fc = forecast([[1e9 - 5401, GB, 2.0 * GB], [1e9, GB, 2.0 * GB]], "/", 1e9, window_s=7 * DAY)
    assert "2 point(s) over 2 hours in the last 7 days" in fc.error                    # 1.5003 hours, rounded


def test_the_fill_date_is_in_utc_and_stops_at_9999(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "HST10")                     # ten hours behind UTC: the local date is a day earlier
    time.tzset()
    try:
        fc = forecast(_history([20, 10, 0], [40, 45, 50]), "/", 1e9)     # 1e9 + 100 days: 2001-12-18 01:46 UTC
        assert fc.days_until_full == 100.0 and fc.full_by_utc == "2001-12-18"
    finally:
        monkeypatch.undo()
        time.tzset()
    slow = forecast(_history([20, 10, 0], [40, 40 + 1e-9, 40 + 2e-9]), "/", 1e9)   # a few bytes a day
    assert slow.days_until_full > 3e6 and slow.full_by_utc == "after 9999"
    # datetime's last second, 9999-12-31T23:59:59Z, and after: "after 9999"; a second before it still a date
    for last, full_by in ((253402300799.0 - 100 * DAY, "after 9999"), (253402300798.0 - 100 * DAY, "9999-12-31")):
        fc = forecast(_history([20, 10, 0], [40, 45, 50], now=last), "/", last)
        assert fc.days_until_full == 100.0 and fc.full_by_utc == full_by, last


def test_inodes_are_forecast_from_their_own_samples_and_the_newest_limit():
    space = _history([10, 5], [50, 50])
    recent = [[1e9 - d * DAY, 50.0 * GB, 100.0 * GB, i, 100_000.0] for d, i in ((1, 40_000), (0.5, 41_000), (0, 42_000))]
    fc = forecast(space + recent, "/", 1e9)            # space spans 10 days, inodes only one: no inode forecast
    assert fc.error is None and fc.inode_growth_per_day is None and fc.inode_days_until_full is None
    hist = [[1e9 - d * DAY, 50.0 * GB, 100.0 * GB, i, limit]
            for d, i, limit in ((2, 40_000, 100_000), (0.5, 43_001, 100_000), (0, 44_000.5, 200_000))]
    fc = forecast(hist, "/", 1e9)                       # exactly MIN_SPAN_S; the filesystem grew its inode table
    assert fc.inode_growth_per_day == 2000.3              # least squares: 2000.346... a day
    assert fc.inode_days_until_full == 78.0               # the newest limit: (200 000 - 44 000.5) / 2000.3


def test_the_growth_is_exact_on_a_large_fast_filesystem():
    """500 TB used, growing about 1 TB a day, sampled at uneven times near today's clock: the fit centres times and
    values before multiplying, so the growth matches exact least squares to well under a byte a day."""
    from fractions import Fraction

    t0 = 1_780_000_000.0
    points = [(t0 + i * DAY + (i * i * 37.25) % 3600, 5e14 + round((i * DAY + (i * i * 37.25) % 3600) / DAY * 1e12)
               + (i % 7) * 1e6) for i in range(30)]
    exact = [(Fraction(t), Fraction(v)) for t, v in points]
    mean_t, mean_v = (sum(p[k] for p in exact) / len(exact) for k in (0, 1))
    slope = (sum((t - mean_t) * (v - mean_v) for t, v in exact) / sum((t - mean_t) ** 2 for t, _ in exact))
    fc = forecast([[t, v, 2e15] for t, v in points], "/", points[-1][0], window_s=40 * DAY)
    assert abs(fc.growth_bytes_per_day - float(slope * 86400)) < 1.0, (fc.growth_bytes_per_day, float(slope * 86400))
