"""Which archives a backup check reads, the work done once per run, and the plan texts — without pytest's wiring
(opsproof/backups/chosen.py and work.py; the fixtures that call them are run in tests/test_backup_suite.py)."""
from __future__ import annotations

import os
import time
from pathlib import Path

import testinfra

from opsproof.backups import chosen
from opsproof.backups.archive import Verification
from opsproof.backups.restore import RestoreResult
from opsproof.backups.take import BackupPlan, BackupResult
from opsproof.backups.work import Archive, BackupWork, RunCache, drill_planned, planned
from opsproof.config import Maint
from opsproof.hosts.target import Target


def _backups(tmp_path: Path, **changes):
    section = {"dir": str(tmp_path), "pattern": "daily_*.tar.gz", "keep": 2, **changes}
    return Maint.model_validate({"service": "s", "backups": section}).backups


def _archives(tmp_path: Path, *ages_s: float) -> list[Path]:
    now, made = time.time(), []
    for n, age in enumerate(ages_s):
        path = tmp_path / f"daily_{n}.tar.gz"
        path.write_bytes(b"x" * (100 + n))
        os.utime(path, (now - age, now - age))
        made.append(path)
    return made


def _local() -> Target:
    return Target(testinfra.get_host("local://"), 10)


def test_kept_paths_are_the_newest_keep_or_every_when_none_can_be_listed(tmp_path):
    old, new, newest = _archives(tmp_path, 300, 200, 100)
    assert chosen.kept_paths(_local(), _backups(tmp_path)) == [str(newest), str(new)]
    assert chosen.kept_paths(_local(), _backups(tmp_path / "none")) == [chosen.EVERY]
    assert chosen.item_id(str(newest)) == "daily_2.tar.gz" and chosen.item_id(chosen.EVERY) == "every-kept"


def test_kept_names_the_positions_the_note_and_an_archive_gone_since_collection(tmp_path):
    backups = _backups(tmp_path, keep=2)
    archives = [Archive(f"/b/daily_{n}.tar.gz", 100.0 - n, 10) for n in range(3)]
    every = chosen.kept(archives, chosen.EVERY, backups)
    assert every.positions == [0, 1] and every.gone is None
    assert every.note == "backups: 2 archives kept, backups.keep = 2"
    assert chosen.kept(archives[:1], chosen.EVERY, backups).note == "backups: 1 archive kept, backups.keep = 2"
    assert chosen.kept(archives, "/b/daily_1.tar.gz", backups).positions == [1]
    gone = chosen.kept(archives, "/b/daily_9.tar.gz", backups)
    assert gone.positions == [] and gone.gone.startswith(f"daily_9.tar.gz is no longer in {tmp_path}: removed since")
    assert "backups.keep = 2" in gone.gone


def test_missing_says_what_to_do_only_when_there_is_no_archive(tmp_path):
    backups = _backups(tmp_path)
    assert chosen.missing([Archive("/b/a", 1.0, 1)], backups) is None
    assert chosen.missing([], backups) == (f"no file matches 'daily_*.tar.gz' in {tmp_path}: there is no backup "
                                           "to check — take one (pytest -m daily --apply) and find why the schedule "
                                           "stopped")


def test_the_run_cache_does_each_piece_once_per_host_and_archive_identity(tmp_path, monkeypatch):
    from opsproof.backups import work

    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(work, "verify", lambda t, path, b: calls.append(("verify", path)) or Verification(path, True))
    monkeypatch.setattr(work, "drill", lambda t, path, b: calls.append(("drill", path)) or RestoreResult(
        path.endswith("1"), path, created_at="2026-01-01T00:00:00Z", age_hours=float(len(calls))))
    monkeypatch.setattr(work, "take", lambda t, b: calls.append(("take", "")) or BackupResult(True, "sqlite", "", ""))
    cache, backups = RunCache(), _backups(tmp_path, keep=3)
    one = BackupWork(_local(), backups, cache)
    again = BackupWork(_local(), backups, cache)          # another module's fixture, the same run
    a0, a1 = Archive("/b/a0", 2.0, 5), Archive("/b/a1", 1.0, 5)
    assert one.take() is again.take() and one.verified(a0) is again.verified(a0)
    assert one.verified(Archive("/b/a0", 3.0, 5)) is not one.verified(a0)   # rewritten since: read again
    rpo = one.newest_restorable([a0, a1])
    assert rpo.newest_restorable == "/b/a1" and [t["ok"] for t in rpo.tried] == [False, True]
    assert again.drilled(a1) is one.drilled(a1)
    assert calls == [("take", ""), ("verify", "/b/a0"), ("verify", "/b/a0"), ("drill", "/b/a0"), ("drill", "/b/a1")]


def test_before_maintenance_reads_the_taken_or_the_newest_archive(tmp_path):
    _, newest = _archives(tmp_path, 600, 120)
    work = BackupWork(_local(), _backups(tmp_path), RunCache())
    found, check = chosen.before_maintenance(work, None)
    assert found.path == str(newest) and not found.taken_by_this_run and check.path == str(newest)
    assert 1.9 <= found.age_minutes <= 2.5 and found.verified == check.ok and found.reason == check.reason
    taken = BackupResult(True, "sqlite", "", str(tmp_path), path=str(tmp_path / "daily_0.tar.gz"))
    found, check = chosen.before_maintenance(work, taken)
    assert found.path == taken.path and found.taken_by_this_run and found.age_minutes >= 9.9
    failed = BackupResult(False, "sqlite", "", str(tmp_path), path=None, error="disk full")
    assert chosen.before_maintenance(work, failed) == (
        chosen.BackupBeforeMaintenance(None, True, error="the backup failed: disk full"), None)
    elsewhere = BackupResult(True, "sqlite", "", str(tmp_path), path="/elsewhere/x.tar.gz")
    found, check = chosen.before_maintenance(work, elsewhere)
    assert check is None and found.error.startswith("the backup action reported /elsewhere/x.tar.gz, which is not")
    empty = BackupWork(_local(), _backups(tmp_path, pattern="weekly_*.tar.gz"), RunCache())
    assert chosen.before_maintenance(empty, None)[0].error == f"no file matches 'weekly_*.tar.gz' in {tmp_path}"


def test_the_sizes_chart_shows_every_archive_against_the_minimum(tmp_path):
    archives = [Archive("/b/a1", 2.0, 2048), Archive("/b/a0", 1.0, 1024)]
    chart = chosen.sizes_chart(archives, _backups(tmp_path, min_size_bytes=1500), "web1")
    assert chart.function == "opsproof.charts.backups:sizes_chart" and chart.caption == "backup sizes over time"
    assert chart.args == ([(2.0, 2048), (1.0, 1024)], 1500, f"2 archive(s) matching daily_*.tar.gz in {tmp_path} "
                                                            "on web1")


def test_plan_texts_say_what_apply_would_do(tmp_path):
    plan = BackupPlan("sqlite", "data/app.db", "backups", "backups/daily_x.tar.gz", 14,
                      would_remove=["backups/daily_a.tar.gz", "backups/daily_b.tar.gz"])
    assert planned(plan) == ("plan only (no --apply): would dump sqlite data/app.db into backups/daily_x.tar.gz; "
                             "retention (backups.keep = 14) would remove daily_a.tar.gz, daily_b.tar.gz")
    assert planned(BackupPlan("sqlite", "db", "b", "b/x", 3)).endswith("would remove nothing")
    archives = [Archive("/b/a1", 2.0, 1), Archive("/b/a0", 1.0, 1)]
    sqlite = _backups(tmp_path, database={"engine": "sqlite", "path": "app.db"})
    assert drill_planned(sqlite, archives) == (
        "plan only (no --apply): would restore /b/a1, /b/a0 into a temporary SQLite file in the temp folder, run the "
        "smoke queries, compare row counts and drop it; the drill runs with --apply")
    pg = _backups(tmp_path, database={"engine": "postgresql", "dsn": "postgresql://app@db/shop"})
    assert "into a scratch database on the server of backups.database.dsn," in drill_planned(pg, archives)
    pg_elsewhere = _backups(tmp_path, database={"engine": "postgresql", "dsn": "postgresql://app@db/shop"},
                            restore={"dsn": "postgresql://drill@scratch/x"})
    assert "into a scratch database on postgresql://drill@scratch/x," in drill_planned(pg_elsewhere, archives)


def test_only_a_premaintenance_run_with_apply_takes_a_fresh_backup_and_only_with_a_database(tmp_path):
    from types import SimpleNamespace

    def run(apply, selection):
        return SimpleNamespace(apply=apply, selects=lambda marker: marker in selection.split(" or "))

    with_db = _backups(tmp_path, database={"engine": "sqlite", "path": "app.db"})
    assert chosen.takes_fresh(run(True, "premaintenance"), with_db)
    assert chosen.takes_fresh(run(True, "daily or premaintenance"), with_db)
    assert not chosen.takes_fresh(run(False, "premaintenance"), with_db)
    assert not chosen.takes_fresh(run(True, "daily"), with_db)
    assert not chosen.takes_fresh(run(True, "premaintenance"), _backups(tmp_path))
    assert not chosen.takes_fresh(run(True, "premaintenance"), None)
