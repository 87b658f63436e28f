"""Disk space: the guide's daily `df -h`, with limits from the disk section."""
import pytest

pytestmark = [pytest.mark.daily, pytest.mark.postmaintenance]


def test_disk_space(disk_usage, maint, evidence):
    """The filesystem holding each configured path has free space within disk.max_used_percent."""
    evidence.require(disk_usage.error is None, f"cannot measure {disk_usage.path} (disk.paths): {disk_usage.error}")
    evidence.compare(f"space used on {disk_usage.mount}", disk_usage.used_percent, "<=",
                     maint.disk.setting("max_used_percent"), unit="%",
                     hint="free space: rotate and compress logs, prune old backups, or grow the volume")


def test_disk_inodes(disk_usage, maint, evidence):
    """The filesystem holding each configured path has inodes left within disk.max_inodes_used_percent."""
    evidence.require(disk_usage.error is None, f"cannot measure {disk_usage.path} (disk.paths): {disk_usage.error}")
    if disk_usage.inodes_used_percent is None:
        pytest.skip(f"{disk_usage.mount} ({disk_usage.filesystem}) has no fixed inode table: nothing to run out of")
    evidence.compare(f"inodes used on {disk_usage.mount}", disk_usage.inodes_used_percent, "<=",
                     maint.disk.setting("max_inodes_used_percent"), unit="%",
                     hint="many small files: clean temp and cache folders (pytest -m daily --apply)")
