"""Temp cleanup (daily): the guide's "temporary file cleanup", inside each temp dir only, checked after the action."""
import pytest

from opsproof.temp.cleanup import human

pytestmark = [pytest.mark.daily]


def test_temp_cleanup_ran(cleanup):
    """The cleanup of each temp.dirs directory ran without an error (files it may not remove are listed)."""
    assert cleanup.error is None, cleanup.error
    assert not cleanup.errors, f"{cleanup.dir}: " + "; ".join(cleanup.errors[:10])


def test_no_stale_temp_files(cleanup, maint, evidence):
    """No file in a temp dir is older than temp.max_age_days, except those kept for safety (open, linked, other filesystem)."""
    if cleanup.error:
        pytest.fail(cleanup.error, pytrace=False)
    verb = "removed" if cleanup.mode == "apply" else "would remove"
    evidence.compare(f"oldest file left in {cleanup.dir} ({verb} {cleanup.removed_count} files, "
                     f"{human(cleanup.bytes_freed)})", cleanup.oldest_left_days, "<=",
                     maint.temp.setting("max_age_days"), unit=" days", hint="run pytest -m daily --apply to remove them")
