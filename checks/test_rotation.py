"""Log rotation (daily): the guide's "log rotation", done by logrotate without losing a line, checked on disk."""
import pytest

from opsproof.temp.cleanup import human

pytestmark = [pytest.mark.daily]


def test_rotation_ran_cleanly(rotation, evidence):
    """logrotate planned or rotated the logs in logs.rotate.files without an error (its stderr is read: it exits 0 after skipping a config)."""
    evidence.require(rotation.ok, "log rotation (logs.rotate) reported errors: " + "; ".join(rotation.errors)
                     + " — fix them and rotate again (pytest -m daily --apply); its evidence has the whole output")


def test_active_logs_under_max_size(rotation_outcome, maint, evidence):
    """Every active log in logs.rotate.files is smaller than logs.rotate.max_size_mb."""
    biggest = max(rotation_outcome, key=lambda o: o.size or 0)
    evidence.compare(f"largest active log ({biggest.path}, {human(biggest.size or 0)})",
                     round((biggest.size or 0) / 1048576, 3), "<=",
                     maint.logs.rotate.setting("max_size_mb"), unit=" MiB", hint="rotation is not running or not keeping up: "
                     "run pytest -m daily --apply and look at its rotate-logs evidence")


def test_rotated_files_within_keep(rotation_outcome, maint, evidence):
    """No active log has more rotated files (NAME.1, NAME.2.gz, ...) than logs.rotate.keep."""
    most = max(rotation_outcome, key=lambda o: o.rotated_count)
    evidence.compare(f"rotated files of {most.path}", most.rotated_count, "<=",
                     maint.logs.rotate.setting("keep"), hint="old rotations are not being removed: "
                     + ", ".join(r.path for r in most.rotated[maint.logs.rotate.keep:][:5]))


def test_rotated_files_compressed(rotation_outcome, maint, evidence):
    """With logs.rotate.compress, every rotated file but the newest (kept plain one cycle, for its writer) is gzip-compressed and starts like gzip."""
    if not maint.logs.rotate.compress:
        pytest.skip("logs.rotate.compress is false")
    plain = [p for o in rotation_outcome for p in o.not_compressed()]
    broken = [r.path for o in rotation_outcome for r in o.rotated if r.compressed and not r.gzip_ok]
    evidence.require(not plain, f"rotated but not compressed: {', '.join(plain)} (logs.rotate.compress is true) — "
                     "rotation is not finishing its cycle: look at its rotate-logs evidence")
    evidence.require(not broken, f"named .gz but not gzip data: {', '.join(broken)} — something other than the "
                     "rotation writes these files: find it; the lines in them may be lost")
