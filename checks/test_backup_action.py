"""The daily database backup (with --apply): taken, verified before it gets its name, old ones pruned."""
import fnmatch
import os

import pytest

from opsproof.backups.work import unfinished

pytestmark = [pytest.mark.daily]


def test_backup_taken(backup_run, maint, evidence):
    """Today's database backup was taken: a complete, verified archive under its final name."""
    run = backup_run  # taken: without --apply the fixture skips with the plan
    evidence.require(run.error is None and run.verified and run.path, unfinished(run) + " — read the steps in the "
                     "evidence, fix the failing one, then take the backup again (pytest -m daily --apply)")
    evidence.compare(f"size of {run.path}", run.size, ">=", maint.backups.setting("min_size_bytes"),
                     unit=" B", hint="an almost empty archive: check what the dump step wrote")


def test_backup_retention(backup_run, archives_after_backup, maint, evidence):
    """Retention keeps backups.keep archives, deletes only files matching backups.pattern, never the newest verified one."""
    run = backup_run  # taken: without --apply the fixture skips with the plan
    evidence.require(run.error is None, f"{unfinished(run)}, so retention did not run — fix the backup first")
    outside = [p for p in run.removed if os.path.dirname(p) != maint.backups.dir
               or not fnmatch.fnmatchcase(os.path.basename(p), maint.backups.pattern)]
    evidence.require(not outside, "retention removed files outside backups.dir or not matching backups.pattern: "
                     + ", ".join(outside) + " — restore them from elsewhere and report this as a bug in opsproof")
    on_disk = [a.path for a in archives_after_backup]
    evidence.require(run.path in on_disk, f"the newest verified archive {run.path} is gone after retention (left in "
                     f"{maint.backups.dir}: {', '.join(on_disk) or 'nothing'}) — take a backup now and report this "
                     "as a bug in opsproof")
    evidence.compare("archives kept", len(on_disk), "<=", maint.backups.setting("keep"),
                     hint="retention did not delete the oldest archives: see the backup evidence")
