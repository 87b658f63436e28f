"""Disaster recovery drills: a backup restores into a scratch database, within the RTO, and is recent enough (RPO)."""
import pytest


def _restores(results, maint, evidence) -> None:
    __tracebackhide__ = True
    failed = [r.failure() for r in results if not r.ok]
    evidence.require(not failed, f"{len(failed)} of {len(results)} archive(s) drilled did not restore into a scratch "
                     "database: " + "; ".join(failed) + " — a backup that does not restore is no backup: read the "
                     "failed step in the evidence, fix the dump (backups.database) and drill again")
    for result in results:
        evidence.compare(f"RTO: {result.archive} to a restored database that answered the smoke queries",
                         result.rto_seconds / 60, "<=", maint.backups.restore.setting("rto_minutes"), unit=" min",
                         hint="the restore is slower than the recovery objective: see each step's time in the evidence")


@pytest.mark.monthly
def test_newest_backup_restores(newest_restore, maint, evidence):
    """The newest backup restores into a scratch database within the RTO: integrity, smoke queries, row counts."""
    _restores(newest_restore, maint, evidence)


@pytest.mark.quarterly
def test_kept_backup_restores(kept_restores, maint, evidence):
    """Every kept backup restores into a scratch database within the RTO: integrity, smoke queries, row counts."""
    _restores(kept_restores, maint, evidence)


@pytest.mark.monthly
@pytest.mark.quarterly
def test_rpo(newest_restorable, maint, evidence):
    """The newest backup that restores is younger than backups.restore.rpo_hours (the RPO)."""
    tried = "; ".join(f"{t['archive']}: {t['reason']}" for t in newest_restorable.tried)
    evidence.require(newest_restorable.newest_restorable, f"no kept backup restores, so nothing could be recovered "
                     f"(backups.restore.rpo_hours = {maint.backups.restore.rpo_hours}): {tried} — take a backup and "
                     "drill it now")
    evidence.compare(f"age of {newest_restorable.newest_restorable} (newest restorable)", newest_restorable.age_hours,
                     "<=", maint.backups.restore.setting("rpo_hours"), unit=" h",
                     hint="a disaster now would lose more data than the objective allows: take a backup and check the schedule")
