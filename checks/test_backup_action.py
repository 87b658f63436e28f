"""The daily database backup (with --apply): taken, verified before it gets its name, old ones pruned."""
import fnmatch
import os

import pytest

pytestmark = [pytest.mark.daily]


def test_backup_taken(backup_run, maint, evidence):
    """Today's database backup was taken: a complete, verified archive under its final name."""
    run = backup_run  # taken: without --apply the fixture skips with the plan
    assert run.error is None, f"the backup failed: {run.error}"
    assert run.verified and run.path, f"the backup reported no verified archive: {run}"
    evidence.compare(f"size of {run.path}", run.size, ">=", maint.backups.setting("min_size_bytes"),
                     unit=" B", hint="an almost empty archive: check what the dump step wrote")


def test_backup_retention(backup_run, archives_after_backup, maint, evidence):
    """Retention keeps backups.keep archives, deletes only files matching backups.pattern, never the newest verified one."""
    run = backup_run  # taken: without --apply the fixture skips with the plan
    assert run.error is None, f"the backup failed, so retention did not run: {run.error}"
    outside = [p for p in run.removed if os.path.dirname(p) != maint.backups.dir
               or not fnmatch.fnmatchcase(os.path.basename(p), maint.backups.pattern)]
    assert not outside, f"retention removed files outside backups.dir or not matching backups.pattern: {outside}"
    on_disk = [a.path for a in archives_after_backup]
    assert run.path in on_disk, f"the newest verified archive {run.path} is gone after retention: {on_disk}"
    evidence.compare("archives kept", len(on_disk), "<=", maint.backups.setting("keep"),
                     hint="retention did not delete the oldest archives: see the backup evidence")
