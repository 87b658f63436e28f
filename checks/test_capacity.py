"""Capacity planning: the guide's quarterly review, from the disk usage every run records."""
import pytest

pytestmark = [pytest.mark.quarterly]


def test_capacity_forecast(disk_forecast, evidence):
    """At the growth fitted over recorded history, each filesystem stays below full for at least disk.forecast_min_days."""
    fc = disk_forecast
    if fc.error:
        pytest.skip(fc.error)
    if fc.days_until_full is None:
        return  # flat or shrinking over the fitted period: no date on which it fills (growth in the evidence)
    evidence.compare(f"days until {fc.mount} is full (growing {fc.growth_bytes_per_day / 1048576:.1f} MiB a day, "
                     f"full by {fc.full_by_utc})", fc.days_until_full, ">=", "disk.forecast_min_days", unit=" days",
                     hint="plan capacity: grow the volume, or find what grows (logs, backups, temp) and prune it")
