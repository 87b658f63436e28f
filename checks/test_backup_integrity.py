"""Backup verification: each archive reads end to end (the guide's weekly `tar -tzf`, done thoroughly)."""
import pytest


def _intact(check, size, maint, evidence) -> None:
    __tracebackhide__ = True
    assert check.ok, f"{check.path} is damaged: {check.reason}"
    if size.previous is not None:
        evidence.compare(f"size of {size.path} against {size.previous}", size.ratio, ">=", "backups.min_size_ratio",
                         hint=f"{size.size} B after {size.previous_size} B: was the dump cut short, or did a table "
                              "lose its rows?")


@pytest.mark.daily
@pytest.mark.premaintenance
def test_newest_archive_is_intact(newest_archive_check, newest_archive_size, maint, evidence):
    """The newest backup reads end to end (gzip CRC and length, safe names, MANIFEST checksums) and did not shrink."""
    _intact(newest_archive_check, newest_archive_size, maint, evidence)


@pytest.mark.weekly
def test_kept_archive_is_intact(kept_archive_check, kept_archive_size, maint, evidence):
    """Every kept backup reads end to end (gzip CRC and length, safe names, MANIFEST checksums) and did not shrink."""
    _intact(kept_archive_check, kept_archive_size, maint, evidence)
