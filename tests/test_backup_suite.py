"""The backup checks run as the operator runs them, against the example service (SQLite):
`pytest -m daily --apply` takes a backup, `-m weekly` verifies it, `-m monthly --apply` restores it (RTO, RPO).
Locally, shipped to the target's python3 (the remote path), and over a real sshd.
"""
from __future__ import annotations

import os
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from helpers.sshd import ALIAS
from opsproof.backups.take import take_backup

PATTERN = "daily_*.tar.gz"
BACKUP_CHECKS = "backup"                      # -k: the action, integrity and recency modules
DRILL_CHECKS = "test_restore or test_rpo"


def by_id(suite) -> dict[str, dict]:
    return {t["id"]: t for t in suite.summary()["tests"]}


def items(suite, check: str) -> list[dict]:
    found = [t for i, t in by_id(suite).items() if f"::{check}[" in i or i.endswith(f"::{check}")]
    assert found, f"{check} did not run: {list(by_id(suite))}"
    return found


def one(suite, check: str, label: str = "") -> dict:
    found = [t for t in items(suite, check) if label in t["id"]]
    assert len(found) == 1, [t["id"] for t in found]
    return found[0]


def comparisons(test: dict) -> dict[str, dict]:
    return {c["key"]: c for c in test.get("comparisons", [])}


def archives(app) -> list[Path]:
    return sorted((app.root / "backups").glob(PATTERN), key=lambda p: p.stat().st_mtime)


def test_daily_apply_takes_a_backup_weekly_verifies_it_monthly_restores_it(suite, example_app):
    suite.config(example_app.config())
    before = archives(example_app)
    assert len(before) == 1, "ctl.py up takes the first backup (with the suite's own code)"

    planned = suite.run("-m", "daily", "-k", BACKUP_CHECKS)
    assert planned.ret == 0, planned.stdout.str()
    taken = one(suite, "test_backup_taken")
    assert taken["outcome"] == "skipped" and "plan only (no --apply)" in taken["message"], taken
    assert archives(example_app) == before, "a run without --apply changed the backup folder"

    applied = suite.run("-m", "daily", "--apply", "-k", BACKUP_CHECKS)
    assert applied.ret == 0, applied.stdout.str()
    now = archives(example_app)
    assert len(now) == 2 and now[0] == before[0]
    taken = one(suite, "test_backup_taken")
    assert taken["outcome"] == "passed" and "backups.min_size_bytes" in comparisons(taken)
    record = [e["data"] for e in taken["evidence"] if e["label"] == "backup"][0]
    assert record["path"] == str(now[1]) and record["tables"] == {"customers": 100, "orders": 1000}
    assert record["verified"] and record["size"] > 0 and record["seconds"] > 0 and record["removed"] == []
    assert one(suite, "test_backup_retention")["outcome"] == "passed"
    assert one(suite, "test_newest_archive_is_intact")["outcome"] == "passed"

    weekly = suite.run("-m", "weekly", "-k", BACKUP_CHECKS)
    assert weekly.ret == 0, weekly.stdout.str()
    # One item per archive that exists, named by its file; no item for the 12 positions backups.keep leaves empty.
    kept = items(suite, "test_kept_archive_is_intact")
    assert sorted(t["id"].split("[")[1] for t in kept) == sorted(f"{p.name}-local]" for p in now)
    assert all(t["outcome"] == "passed" for t in kept), kept
    row = [r for r in suite.summary()["coverage"] if r["task"] == "Full backup verification"][0]
    assert row["outcome"] == "passed" and "backups: 2 archives kept, backups.keep = 14" in row["why"], row

    monthly = suite.run("-m", "monthly", "--apply", "-k", DRILL_CHECKS)
    assert monthly.ret == 0, monthly.stdout.str()
    restored = one(suite, "test_newest_backup_restores")
    assert restored["outcome"] == "passed"
    rto = comparisons(restored)["backups.restore.rto_minutes"]
    assert rto["passed"] and 0 < rto["measured"] <= 30 and rto["threshold"] == 30
    drill = [e["data"] for e in restored["evidence"] if e["label"].startswith("restore drill")][0]
    assert drill["archive"] == str(now[1]) and drill["dropped"] and len(drill["queries"]) == 2
    rpo = comparisons(one(suite, "test_rpo"))["backups.restore.rpo_hours"]
    assert rpo["passed"] and rpo["measured"] < 1 and rpo["threshold"] == 24
    html = suite.html()
    assert "backups.restore.rto_minutes" in html and "backups.restore.rpo_hours" in html


def test_a_damaged_newest_archive_fails_daily_and_weekly_with_the_reason(suite, example_app):
    suite.config(example_app.config())
    taken = take_backup(str(example_app.root / "backups"), PATTERN, 14, "sqlite",
                        path=str(example_app.root / "data" / "app.db"), now=datetime.now(timezone.utc) + timedelta(seconds=1))
    assert taken.ok, taken.error
    newest = archives(example_app)[-1]
    assert str(newest) == taken.path
    newest.write_bytes(newest.read_bytes()[:-4])
    daily = suite.run("-m", "daily", "-k", "integrity")
    assert daily.ret == 1
    failed = one(suite, "test_newest_archive_is_intact")
    assert failed["outcome"] == "failed" and "truncated" in failed["message"] and newest.name in failed["message"]
    older = archives(example_app)[0]
    weekly = suite.run("-m", "weekly", "-k", "integrity")
    assert weekly.ret == 1
    assert one(suite, "test_kept_archive_is_intact", f"[{newest.name}-")["outcome"] == "failed"
    assert one(suite, "test_kept_archive_is_intact", f"[{older.name}-")["outcome"] == "passed"
    assert suite.summary()["verdict"] == "failed"
    # Quarterly: every kept archive is restored; the RPO falls back to the newest one that restores.
    quarterly = suite.run("-m", "quarterly", "--apply", "-k", DRILL_CHECKS)
    assert quarterly.ret == 1
    damaged = one(suite, "test_kept_backup_restores", f"[{newest.name}-")
    assert damaged["outcome"] == "failed" and "truncated" in damaged["message"], damaged
    assert one(suite, "test_kept_backup_restores", f"[{older.name}-")["outcome"] == "passed"
    rpo = one(suite, "test_rpo")
    assert rpo["outcome"] == "passed", rpo
    found = [e["data"] for e in rpo["evidence"] if e["label"] == "Rpo"][0]
    assert found["newest_restorable"] == str(archives(example_app)[0]) and not found["tried"][0]["ok"]


def test_an_archive_much_smaller_than_the_previous_one_fails(suite, example_app, tmp_path: Path):
    big = tmp_path / "big.db"
    with sqlite3.connect(big) as conn:
        conn.execute("CREATE TABLE t (data BLOB)")
        conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200) "
                     "INSERT INTO t SELECT randomblob(2000) FROM c")
    conn.close()
    older = take_backup(str(example_app.root / "backups"), PATTERN, 14, "sqlite", path=str(big),
                        now=datetime.now(timezone.utc) - timedelta(hours=20))
    assert older.ok, older.error
    stamp = time.time() - 20 * 3600
    os.utime(older.path, (stamp, stamp))
    suite.config(example_app.config())
    assert suite.run("-m", "daily", "-k", "integrity").ret == 1
    failed = one(suite, "test_newest_archive_is_intact")
    assert failed["outcome"] == "failed" and "backups.min_size_ratio" in failed["message"], failed


def test_rto_rpo_and_smoke_query_failures_name_their_limits(suite, example_app):
    folder = example_app.root / "backups"
    for path in archives(example_app):
        path.unlink()
    old = take_backup(str(folder), PATTERN, 14, "sqlite", path=str(example_app.root / "data" / "app.db"),
                      now=datetime.now(timezone.utc) - timedelta(days=3))
    assert old.ok, old.error
    config = example_app.config()
    config["backups"]["restore"]["rto_minutes"] = 1e-7
    suite.config(config)
    assert suite.run("-m", "monthly", "--apply", "-k", DRILL_CHECKS).ret == 1
    rto = one(suite, "test_newest_backup_restores")
    assert rto["outcome"] == "failed" and "backups.restore.rto_minutes allows <= 1e-07 min" in rto["message"], rto
    rpo = one(suite, "test_rpo")
    assert rpo["outcome"] == "failed" and "backups.restore.rpo_hours allows <= 24" in rpo["message"], rpo
    assert comparisons(rpo)["backups.restore.rpo_hours"]["measured"] >= 72

    config["backups"]["restore"] = {"smoke_queries": ["SELECT count(*) FROM no_such_table"]}
    suite.config(config)
    assert suite.run("-m", "monthly", "--apply", "-k", DRILL_CHECKS).ret == 1
    smoke = one(suite, "test_newest_backup_restores")
    assert "smoke query failed" in smoke["message"] and "no such table" in smoke["message"], smoke
    rpo = one(suite, "test_rpo")
    assert rpo["outcome"] == "failed" and "no kept backup restores" in rpo["message"], rpo


ALL = ("-m", "daily or weekly or monthly", "--apply", "-k", f"{BACKUP_CHECKS} or {DRILL_CHECKS}")


def _all_pass_in_one_run(suite, example_app, host: str, verified: int) -> None:
    """One run: the action module runs first, so the integrity and drill items see the new archive (a remote
    host's one item verifies both archives; a local target's items are the one archive listed at collection)."""
    __tracebackhide__ = True
    assert len(archives(example_app)) == 2, "no new archive"
    outcomes = {i: t["outcome"] for i, t in by_id(suite).items()}
    assert host in one(suite, "test_backup_taken")["id"] and one(suite, "test_backup_taken")["outcome"] == "passed"
    for check in ("test_newest_archive_is_intact", "test_newest_backup_restores", "test_rpo"):
        assert one(suite, check)["outcome"] == "passed", outcomes
    kept = one(suite, "test_kept_archive_is_intact")
    assert kept["outcome"] == "passed", outcomes
    assert len([e for e in kept["evidence"] if e["label"].startswith("verification of ")]) == verified, kept


def test_the_shipped_path_takes_verifies_and_restores(suite, example_app):
    """OPSPROOF_SHIP=1: the work runs in a python3 started from the shipped bundle, as on a remote host."""
    suite.config(example_app.config())
    result = suite.run(*ALL, env={"OPSPROOF_SHIP": "1"})
    assert result.ret == 0, result.stdout.str()
    _all_pass_in_one_run(suite, example_app, "local", 1)


def test_over_ssh_the_backup_verification_and_drill_run_on_the_remote_host(suite, example_app, sshd):
    suite.config(example_app.config())
    result = suite.run(*ALL, f"--hosts=ssh://{ALIAS}", f"--ssh-config={sshd.ssh_config}")
    assert result.ret == 0, result.stdout.str()
    _all_pass_in_one_run(suite, example_app, f"ssh://{ALIAS}", 2)
    assert "[every-kept-" in one(suite, "test_kept_archive_is_intact")["id"]
