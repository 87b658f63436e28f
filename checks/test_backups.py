"""Backups: the guide's `ls -lh backups/daily_*.tar.gz | tail -1`, as recency and size limits; and the
pre-maintenance checklist's "Backup created" (taken then with --apply, else a recent
one: backups.premaintenance_max_age_minutes)."""
import pytest


@pytest.mark.daily
@pytest.mark.premaintenance
def test_backup_exists(backup_recency, maint, evidence):
    """At least one file in backups.dir matches backups.pattern."""
    evidence.require(backup_recency.error is None, f"cannot list backups.dir {maint.backups.dir}: {backup_recency.error}"
                     " — check that the directory exists and the suite's user may read it")
    evidence.require(backup_recency.path, f"no file matches backups.pattern {maint.backups.pattern} in backups.dir "
                     f"{maint.backups.dir} — the backup job is not running or writes elsewhere "
                     "(pytest -m daily --apply takes one)")


def _newest(backup_recency):
    if not backup_recency.path:
        pytest.skip("no backup found: see test_backup_exists")
    return backup_recency


@pytest.mark.daily
def test_newest_backup_is_fresh(backup_recency, maint, evidence):
    """The newest backup is younger than backups.max_age_hours."""
    newest = _newest(backup_recency)
    evidence.compare(f"age of {newest.path}", newest.age_hours, "<=", maint.backups.setting("max_age_hours"), unit=" h",
                     hint="run the backup and find why the schedule stopped")


@pytest.mark.daily
@pytest.mark.premaintenance
def test_newest_backup_is_not_trivial(backup_recency, maint, evidence):
    """The newest backup is at least backups.min_size_bytes long."""
    newest = _newest(backup_recency)
    evidence.compare(f"size of {newest.path}", newest.size, ">=", maint.backups.setting("min_size_bytes"), unit=" B",
                     hint="an almost empty archive: check the dump step's errors")


@pytest.mark.premaintenance
def test_backup_created_before_maintenance(backup_before_maintenance, maint, evidence):
    """A backup younger than backups.premaintenance_max_age_minutes reads end to end (with --apply: taken now)."""
    backup = backup_before_maintenance
    evidence.require(backup.error is None, f"{backup.error} — take one before maintenance: "
                     "pytest -m premaintenance --apply")
    evidence.require(backup.verified, f"{backup.path} does not read end to end: {backup.reason} — a backup that does "
                     "not read cannot be restored: take a fresh one before maintenance (pytest -m premaintenance --apply)")
    evidence.compare(f"age of {backup.path}", backup.age_minutes, "<=",
                     maint.backups.setting("premaintenance_max_age_minutes"), unit=" min", hint="take a fresh backup before maintenance: pytest -m premaintenance --apply")
