"""Capacity: the monthly capacity report and the guide's quarterly planning review, from the disk use every run records."""
import pytest

pytestmark = [pytest.mark.monthly, pytest.mark.quarterly]


def test_capacity_forecast(disk_forecast, maint, evidence):
    """At the growth fitted over disk.forecast_window, each filesystem keeps space and inodes for at least disk.forecast_min_days."""
    fc = disk_forecast
    if fc.error:
        pytest.skip(fc.error)
    limit = maint.disk.setting("forecast_min_days")
    hint = "plan capacity: grow the volume, or find what grows (logs, backups, temp) and prune it"
    if fc.days_until_full is not None:
        evidence.compare(f"days until {fc.mount} is full (growing {fc.growth_bytes_per_day / 1048576:.1f} MiB a day, "
                         f"full by {fc.full_by_utc})", fc.days_until_full, ">=", limit,
                         unit=" days", hint=hint)
    if fc.inode_days_until_full is not None:
        evidence.compare(f"days until {fc.mount} runs out of inodes (growing {fc.inode_growth_per_day:.0f} a day)",
                         fc.inode_days_until_full, ">=", limit, unit=" days", hint=hint)
    # Flat or shrinking over the window: no date on which it fills; the growth is in the evidence.
