"""Capacity planning: days until full, fitted over the disk usage each run records."""
from __future__ import annotations

import json

import pytest

from opsproof.system.capacity import DAY, EVERY_S, FIT_S, KEEP_S, add_sample, forecast

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
    config = {"service": "capacity", "root": str(tmp_path), "disk": {"paths": [str(tmp_path)]}}
    suite.config(config)
    assert suite.run("-m", "daily", "checks/test_disk.py").ret == 0   # records the first sample
    state = next((suite.path / ".opsproof").glob("*/disk.json"))
    saved = json.loads(state.read_text())
    (mount, [[t, used, size, *_]]), = saved.items()
    per_day = (size - used) / 50                        # full in 50 days at this rate
    saved[mount] = [[t - 10 * DAY, used - 10 * per_day, size], [t - 5 * DAY, used - 5 * per_day, size],
                    [t - 3600, used, size]]
    state.write_text(json.dumps(saved))

    suite.config({**config, "disk": {**config["disk"], "forecast_min_days": 90}})
    assert suite.run("-m", "quarterly", "checks/test_capacity.py").ret == 1
    (test,) = [t for t in suite.summary()["tests"] if "test_capacity_forecast" in t["id"]]
    assert test["outcome"] == "failed" and "disk.forecast_min_days allows >= 90" in test["message"], test
    assert 45 <= test["comparisons"][0]["measured"] <= 55, test["comparisons"]
    assert suite.html().count("data:image/png;base64,") >= 1       # the history chart

    suite.config({**config, "disk": {**config["disk"], "forecast_min_days": 30}})
    assert suite.run("-m", "quarterly", "checks/test_capacity.py").ret == 0


def test_a_first_run_cannot_forecast_and_says_so(suite, tmp_path):
    suite.config({"service": "capacity", "root": str(tmp_path), "disk": {"paths": [str(tmp_path)]}})
    assert suite.run("-m", "quarterly", "checks/test_capacity.py").ret == 0
    (test,) = [t for t in suite.summary()["tests"] if "test_capacity_forecast" in t["id"]]
    assert test["outcome"] == "skipped" and "could not forecast" in test["message"], test
