"""Temp cleanup (daily): the guide's "temporary file cleanup", inside each temp dir only, checked after the action."""
import pytest

from opsproof.temp.cleanup import human

pytestmark = [pytest.mark.daily]


def test_temp_cleanup_ran(cleanup, evidence):
    """The cleanup of each temp.dirs directory ran without an error (files it may not remove are listed)."""
    evidence.require(cleanup.error is None, f"{cleanup.error} (temp.dirs)")
    evidence.require(not cleanup.errors, f"the cleanup of {cleanup.dir} (temp.dirs) could not remove: "
                     + "; ".join(cleanup.errors[:10]) + " — check who owns these files and why they stay")


def test_no_stale_temp_files(cleanup, maint, evidence):
    """No file in a temp dir is older than temp.max_age_days, except those kept for safety (open, linked, other filesystem)."""
    evidence.require(not cleanup.error, f"{cleanup.error} (temp.dirs)")
    verb = "removed" if cleanup.mode == "apply" else "would remove"
    evidence.compare(f"oldest file left in {cleanup.dir} ({verb} {cleanup.removed_count} files, "
                     f"{human(cleanup.bytes_freed)})", cleanup.oldest_left_days, "<=",
                     maint.temp.setting("max_age_days"), unit=" days", hint="run pytest -m daily --apply to remove them")
