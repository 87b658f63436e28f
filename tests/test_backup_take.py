"""Taking a backup (opsproof.backups.take): consistent under a live writer, atomic under kill -9, careful retention."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpers import ROOT, wait_for
from helpers.backups import PATTERN, make_db
from opsproof.backups import archive
from opsproof.backups import take as backup
from opsproof.backups.take import PARTIAL, plan_backup, take_backup
from opsproof.backups.recency import newest_backup
from opsproof.hosts.target import Target


@pytest.fixture
def site(tmp_path: Path):
    (tmp_path / "backups").mkdir()
    return tmp_path, make_db(tmp_path / "app.db"), tmp_path / "backups"


def local_target() -> Target:
    import testinfra
    return Target(testinfra.get_host("local://"), 30)


def test_a_backup_holds_manifest_first_then_the_dump(site):
    _, db, folder = site
    result = take_backup(str(folder), PATTERN, 14, "sqlite", path=str(db))
    assert result.ok, result.error
    path = Path(result.path)
    assert path.parent == folder and path.name.startswith("daily_") and path.name.endswith("Z.tar.gz")
    assert oct(path.stat().st_mode & 0o777) == "0o600"      # a backup holds the data: not world-readable
    with tarfile.open(path) as tar:
        assert tar.getnames() == ["MANIFEST.json", "app.db"]
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert manifest["format"] == 1 and manifest["engine"] == "sqlite" and manifest["source"] == str(db)
    assert manifest["tables"] == {"orders": 1000, "lines": 1000} and manifest["dump"] == "app.db"
    assert datetime.fromisoformat(manifest["created_at"].replace("Z", "+00:00")) <= datetime.now(timezone.utc)
    assert result.tables == manifest["tables"] and result.verified and result.size == path.stat().st_size
    assert [s["step"] for s in result.steps] == ["dump", "archive", "verify", "retention"]
    assert archive.verify(str(path)).ok
    assert not [p for p in folder.iterdir() if p.name.startswith(PARTIAL)], "the partial folder was left behind"


def test_a_live_writer_does_not_make_the_backup_inconsistent(tmp_path: Path):
    """Each writer transaction adds one order and its line: every snapshot must hold equal counts."""
    db = make_db(tmp_path / "app.db", rows=200, wal=True)
    folder = tmp_path / "backups"
    folder.mkdir()
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        conn = sqlite3.connect(db, timeout=30)
        i = 10_000
        while not stop.is_set():
            with conn:
                conn.execute("INSERT INTO orders(id, item) VALUES (?, ?)", (i, "x" * 200))
                conn.execute("INSERT INTO lines(id, order_id) VALUES (?, ?)", (i, i))
            i += 1
            written[0] += 1
        conn.close()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    results = []
    try:
        for n in range(3):
            wait_for(lambda: written[0] > 300 * (n + 1), timeout=60, what="the writer to make progress")
            results.append(take_backup(str(folder), PATTERN, 14, "sqlite", path=str(db),
                                       now=datetime.now(timezone.utc) + timedelta(seconds=n)))
    finally:
        stop.set()
        thread.join(10)
    assert all(r.ok for r in results), [r.error for r in results]
    counts = [r.tables["orders"] for r in results]
    assert counts == sorted(counts) and counts[0] < counts[-1], f"the writer was not writing during the backups: {counts}"
    for result in results:
        out = tmp_path / Path(result.path).name
        with tarfile.open(result.path) as tar:
            tar.extractall(out, filter="data")
        with sqlite3.connect(out / "app.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            orders, lines = (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("orders", "lines"))
        conn.close()
        assert orders == lines == result.tables["orders"] == result.tables["lines"], (orders, lines, result.tables)


def _big_db(path: Path, mib: int) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)")
        conn.execute(f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {mib * 256}) "
                     "INSERT INTO blobs(data) SELECT randomblob(4000) FROM c")
    conn.close()
    return path


_BACKUP = ("import sys; sys.path.insert(0, %r); from opsproof.backups.take import take_backup; "
           "r = take_backup(sys.argv[1], 'daily_*.tar.gz', 14, 'sqlite', path=sys.argv[2]); print(r.ok, r.error)")


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _big_db(tmp_path_factory.mktemp("big") / "big.db", 96)


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["dump", "archive"])
def test_kill_9_mid_backup_leaves_no_archive_the_recency_check_accepts(tmp_path: Path, big_db: Path, phase: str):
    db = big_db
    folder = tmp_path / "backups"
    folder.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", _BACKUP % str(ROOT), str(folder), str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def partials() -> list[Path]:
        return [p for p in folder.iterdir() if p.name.startswith(PARTIAL)]

    def reached() -> bool:
        found = partials()
        if phase == "dump":
            return bool(found)
        return any((p / "archive.tar.gz").exists() and (p / "archive.tar.gz").stat().st_size > 1 << 20 for p in found)

    try:
        wait_for(lambda: reached() or proc.poll() is not None, timeout=60, what=f"the backup's {phase} phase")
        assert proc.poll() is None, f"the backup finished before the kill: {proc.communicate()}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    left = sorted(str(p) for p in partials())
    assert left, "the kill came after the backup cleaned up: the test did not test anything"
    assert not list(folder.glob(PATTERN)), f"a final-named archive exists after kill -9: {list(folder.iterdir())}"
    recency = newest_backup(local_target(), str(folder), PATTERN)
    assert recency.path is None and recency.matches == 0, recency
    # The next backup removes what the killed one left and succeeds.
    result = take_backup(str(folder), PATTERN, 14, "sqlite", path=str(db))
    assert result.ok, result.error
    assert sorted(result.stale_partials_removed) == left
    assert not partials() and len(list(folder.glob(PATTERN))) == 1


def _archives(folder: Path, names_and_ages: list[tuple[str, float]]) -> None:
    now = time.time()
    for name, hours in names_and_ages:
        (folder / name).write_bytes(b"old archive " + name.encode())
        os.utime(folder / name, (now - hours * 3600, now - hours * 3600))


def test_retention_keeps_the_newest_and_touches_nothing_else(site, tmp_path: Path):
    _, db, folder = site
    _archives(folder, [(f"daily_2026110{i}T020000Z.tar.gz", 24 * (10 - i)) for i in range(1, 7)])
    outside = tmp_path / "outside.tar.gz"
    outside.write_bytes(b"not ours")
    (folder / "daily_link.tar.gz").symlink_to(outside)     # matches the pattern, but a link: never followed
    (folder / "daily_dir.tar.gz").mkdir()                  # matches, but a folder
    (folder / "notes.txt").write_text("keep me")
    (folder / "daily_x.tar.gz.sha256").write_text("keep me too")
    old = {p.name for p in folder.iterdir()}
    result = take_backup(str(folder), PATTERN, 3, "sqlite", path=str(db))
    assert result.ok, result.error
    removed = sorted(Path(p).name for p in result.removed)
    assert removed == [f"daily_2026110{i}T020000Z.tar.gz" for i in (1, 2, 3, 4)]
    left = {p.name for p in folder.iterdir()}
    assert left == (old - set(removed)) | {Path(result.path).name}
    assert outside.read_bytes() == b"not ours"
    assert [Path(p).name for p in result.kept] == [Path(result.path).name, "daily_20261106T020000Z.tar.gz",
                                                   "daily_20261105T020000Z.tar.gz"]


def test_retention_never_deletes_the_archive_it_just_verified(site):
    """Archives stamped in the future (a skewed clock) would push the new one out of `keep`: it stays."""
    _, db, folder = site
    _archives(folder, [("daily_20991231T000000Z.tar.gz", -24), ("daily_20991230T000000Z.tar.gz", -12)])
    result = take_backup(str(folder), PATTERN, 1, "sqlite", path=str(db))
    assert result.ok, result.error
    assert Path(result.path).exists() and result.path in result.kept
    assert [Path(p).name for p in result.removed] == ["daily_20991230T000000Z.tar.gz"]


def test_an_archive_failing_its_own_verification_is_never_published(site, monkeypatch):
    _, db, folder = site
    _archives(folder, [("daily_20261101T020000Z.tar.gz", 48)])
    monkeypatch.setattr(backup.archive, "verify",
                        lambda path, deadline=None: archive.Verification(path, False, "CRC-32 mismatch (simulated)"))
    result = take_backup(str(folder), PATTERN, 1, "sqlite", path=str(db))
    assert not result.ok and "failed its own verification: CRC-32 mismatch (simulated)" in result.error
    assert [p.name for p in folder.iterdir()] == ["daily_20261101T020000Z.tar.gz"], "published or pruned anyway"


def test_configuration_mistakes_fail_with_the_reason(site, tmp_path: Path):
    _, db, folder = site
    bad = take_backup(str(folder), "daily_??.tar.gz", 3, "sqlite", path=str(db))
    assert not bad.ok and "needs exactly one '*'" in bad.error
    assert "matches partial files" in take_backup(str(folder), "*", 3, "sqlite", path=str(db)).error
    missing = take_backup(str(folder), PATTERN, 3, "sqlite", path=str(tmp_path / "nope.db"))
    assert not missing.ok and "does not exist" in missing.error and not (tmp_path / "nope.db").exists()
    assert "backup folder" in take_backup(str(tmp_path / "none"), PATTERN, 3, "sqlite", path=str(db)).error
    assert not list(folder.iterdir())


def test_the_plan_names_the_archive_and_what_retention_would_remove():
    listing = [(f"daily_2026110{i}T020000Z.tar.gz", 1000.0 + i) for i in range(1, 5)]
    plan = plan_backup(listing, "/b", PATTERN, 2, "sqlite", "/d/app.db", now=datetime(2026, 11, 26, 2, tzinfo=timezone.utc))
    assert plan.would_write == "/b/daily_20261126T020000Z.tar.gz" and plan.error is None
    assert plan.would_remove == [f"/b/daily_2026110{i}T020000Z.tar.gz" for i in (3, 2, 1)]


def test_a_database_locked_for_good_meets_the_deadline(site):
    _, db, folder = site
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")   # rollback-journal mode: no reader gets in until it ends
    try:
        started = time.monotonic()
        result = take_backup(str(folder), PATTERN, 3, "sqlite", path=str(db), deadline=time.monotonic() + 2)
        assert not result.ok and "did not finish within backups.timeout_s" in result.error, result.error
        assert time.monotonic() - started < 30
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not list(folder.iterdir())


def test_a_retention_failure_is_reported_with_the_published_archive(site, monkeypatch):
    _, db, folder = site
    _archives(folder, [("daily_20261101T020000Z.tar.gz", 48)])
    real = os.unlink

    def unlink(path, *a, **kw):
        if str(path).endswith("daily_20261101T020000Z.tar.gz"):
            raise PermissionError(1, "Operation not permitted", str(path))
        return real(path, *a, **kw)

    monkeypatch.setattr(backup.os, "unlink", unlink)
    result = take_backup(str(folder), PATTERN, 1, "sqlite", path=str(db))
    assert not result.ok and result.path and Path(result.path).exists()
    assert "was published, but retention failed" in result.error and "Operation not permitted" in result.error
