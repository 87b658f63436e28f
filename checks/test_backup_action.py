"""The daily database backup (with --apply): taken, verified before it gets its name, old ones pruned."""
import fnmatch
import os

import pytest

pytestmark = [pytest.mark.daily]


def _applied(backup_run):
    if hasattr(backup_run, "would_write"):  # a BackupPlan: the run had no --apply
        if backup_run.error:
            pytest.fail(f"the backup could not run as configured: {backup_run.error}", pytrace=False)
        removes = ", ".join(os.path.basename(p) for p in backup_run.would_remove) or "nothing"
        pytest.skip(f"plan only (no --apply): would dump {backup_run.engine} {backup_run.source} into "
                    f"{backup_run.would_write}; retention (backups.keep = {backup_run.keep}) would remove {removes}")
    return backup_run


def test_backup_taken(backup_run, maint, evidence):
    """Today's database backup was taken: a complete, verified archive under its final name."""
    run = _applied(backup_run)
    assert run.error is None, f"the backup failed: {run.error}"
    assert run.verified and run.path, f"the backup reported no verified archive: {run}"
    evidence.compare(f"size of {run.path}", run.size, ">=", "backups.min_size_bytes",
                     unit=" B", hint="an almost empty archive: check what the dump step wrote")


def test_backup_retention(backup_run, archives_after_backup, maint, evidence):
    """Retention keeps backups.keep archives, deletes only files matching backups.pattern, never the newest verified one."""
    run = _applied(backup_run)
    assert run.error is None, f"the backup failed, so retention did not run: {run.error}"
    outside = [p for p in run.removed if os.path.dirname(p) != maint.backups.dir
               or not fnmatch.fnmatchcase(os.path.basename(p), maint.backups.pattern)]
    assert not outside, f"retention removed files outside backups.dir or not matching backups.pattern: {outside}"
    on_disk = [a.path for a in archives_after_backup]
    assert run.path in on_disk, f"the newest verified archive {run.path} is gone after retention: {on_disk}"
    evidence.compare("archives kept", len(on_disk), "<=", "backups.keep",
                     hint="retention did not delete the oldest archives: see the backup evidence")
