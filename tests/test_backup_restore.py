"""The SQLite restore drill (opsproof.backups.restore.drill): restores into scratch only, fails on bad queries or counts."""
from __future__ import annotations

import hashlib
import tarfile
import time
from pathlib import Path

import pytest

from helpers.backups import PATTERN, make_db
from opsproof.backups import restore
from opsproof.backups.take import take_backup, write_archive
from opsproof.backups.restore import DrillError, drill, expected_matches

QUERIES = ["SELECT count(*) FROM orders", {"sql": "SELECT count(*) FROM lines WHERE order_id < 10", "expect": 10}]


@pytest.fixture
def taken(tmp_path: Path):
    db = make_db(tmp_path / "app.db")
    (tmp_path / "backups").mkdir()
    result = take_backup(str(tmp_path / "backups"), PATTERN, 14, "sqlite", path=str(db))
    assert result.ok, result.error
    return db, Path(result.path)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scratch_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("opsproof-restore-"))


def test_a_good_backup_restores_into_a_scratch_file_that_is_removed(taken, tmp_path: Path):
    db, path = taken
    live = sha(db)
    scratch_root = tmp_path / "scratch"
    scratch_root.mkdir()
    result = drill(str(path), QUERIES, scratch_dir=str(scratch_root), live_path=str(db))
    assert result.ok, result.reason
    assert result.engine == "sqlite" and result.scratch.startswith(str(scratch_root)) and result.dropped
    assert [s["step"] for s in result.steps] == ["verify archive", "extract (data filter)", "integrity_check",
                                                 "smoke queries", "row counts"]
    assert all(s["ok"] for s in result.steps) and all(isinstance(s["seconds"], float) for s in result.steps)
    assert [q["result"] for q in result.queries] == ["1000", "10"] and all(q["ok"] for q in result.queries)
    assert {c["table"]: (c["manifest"], c["restored"]) for c in result.counts} == {"orders": (1000, 1000),
                                                                                 "lines": (1000, 1000)}
    assert 0 < result.rto_seconds < 60 and result.age_hours is not None and result.age_hours < 1
    assert scratch_dirs(scratch_root) == [], "the scratch folder was left behind"
    assert sha(db) == live, "the live database changed during the drill"


@pytest.mark.parametrize("query, needle", [
    ("SELECT count(*) FROM no_such_table", "no such table"),
    ({"sql": "SELECT count(*) FROM orders", "expect": 999}, "expected 999"),
    ("SELECT * FROM orders WHERE id < 0", "returned no rows"),
], ids=["sql-error", "wrong-value", "no-rows"])
def test_a_failing_smoke_query_fails_the_drill(taken, tmp_path: Path, query, needle: str):
    _, path = taken
    result = drill(str(path), [QUERIES[0], query], scratch_dir=str(tmp_path))
    assert not result.ok and "smoke query failed" in result.reason and needle in result.reason, result.reason
    assert [q["ok"] for q in result.queries] == [True, False]
    assert result.rto_seconds is None, "an unanswered smoke query must not yield an RTO"
    assert scratch_dirs(tmp_path) == []


def _rearchive(tmp_path: Path, dump: Path, tables: dict) -> Path:
    """An archive whose checksums are right but whose MANIFEST counts are `tables`."""
    out = tmp_path / "daily_20261126T020000Z.tar.gz"
    manifest = {"format": 1, "engine": "sqlite", "source": "x", "created_at": "2026-11-26T02:00:00Z", "dump": dump.name,
                "members": [{"name": dump.name, "size": dump.stat().st_size, "sha256": sha(dump)}], "tables": tables}
    write_archive(str(out), str(dump), dump.name, manifest)
    return out


def test_counts_that_differ_from_the_manifest_fail_the_drill(taken, tmp_path: Path):
    db, _ = taken
    wrong = _rearchive(tmp_path, db, {"orders": 1000, "lines": 999})
    result = drill(str(wrong), [], scratch_dir=str(tmp_path))
    assert not result.ok and "row counts differ from MANIFEST" in result.reason and "lines: MANIFEST 999, restored 1000" \
        in result.reason, result.reason
    (tmp_path / "daily_20261126T020000Z.tar.gz").unlink()
    unlisted = _rearchive(tmp_path, db, {"orders": 1000})
    result = drill(str(unlisted), [], scratch_dir=str(tmp_path))
    assert not result.ok and "lines: MANIFEST does not list it, restored 1000" in result.reason, result.reason


def test_a_damaged_database_inside_a_sound_archive_fails_integrity_check(taken, tmp_path: Path):
    db, _ = taken
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(page, 3 * page):  # scribble over the pages after the schema (the tables' b-trees)
        data[offset] = 0xA5
    broken_dir = tmp_path / "broken"
    broken_dir.mkdir()
    (broken_dir / "app.db").write_bytes(bytes(data))
    path = _rearchive(tmp_path, broken_dir / "app.db", {"orders": 1000, "lines": 1000})
    result = drill(str(path), QUERIES, scratch_dir=str(tmp_path))
    assert not result.ok, result
    assert "integrity_check" in result.reason or "malformed" in result.reason, result.reason


def test_a_damaged_archive_fails_at_verification_before_anything_is_extracted(taken, tmp_path: Path):
    _, path = taken
    path.write_bytes(path.read_bytes()[:-4])
    result = drill(str(path), QUERIES, scratch_dir=str(tmp_path))
    assert not result.ok and result.reason.startswith("the archive does not verify: truncated"), result.reason
    assert [s["step"] for s in result.steps] == ["verify archive"] and result.steps[0]["ok"] is False
    assert scratch_dirs(tmp_path) == []


def test_extraction_applies_the_data_filter(tmp_path: Path):
    """Even an archive that slipped past verification cannot write outside the scratch folder."""
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("escape")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(DrillError, match="extraction refused a member"):
        restore._extract(str(path), str(into), None)


def test_the_drill_stops_at_its_deadline(taken, tmp_path: Path):
    _, path = taken
    result = drill(str(path), QUERIES, scratch_dir=str(tmp_path), deadline=time.monotonic() - 1)
    assert not result.ok and "timed out" in result.reason


def test_expected_values_compare_by_kind():
    assert expected_matches(1000, 1000) and expected_matches("1000", 1000.0) and not expected_matches("10", 1000)
    assert expected_matches("t", True) and expected_matches(1, True) and expected_matches("f", False)
    assert not expected_matches("t", False) and expected_matches("ok", "ok") and not expected_matches("no", "ok")


def test_age_comes_from_the_manifest_time():
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 36 * 3600))
    assert restore.age_hours(stamp, now) == pytest.approx(36, abs=0.01)
    assert restore.age_hours("not a time", now) is None and restore.age_hours(None, now) is None


def test_an_archive_in_designs_manifest_shape_without_a_dump_key_restores(taken, tmp_path: Path):
    """DESIGN's MANIFEST has no `dump` key: the single member is the dump (archives from other tools restore)."""
    db, _ = taken
    out = tmp_path / "daily_20261126T030000Z.tar.gz"
    manifest = {"format": 1, "engine": "sqlite", "source": "x", "created_at": "2026-11-26T03:00:00Z",
                "members": [{"name": db.name, "size": db.stat().st_size, "sha256": sha(db)}],
                "tables": {"orders": 1000, "lines": 1000}}
    write_archive(str(out), str(db), db.name, manifest)
    result = drill(str(out), QUERIES, scratch_dir=str(tmp_path))
    assert result.ok, result.reason
    two = tmp_path / "two.tar.gz"
    manifest["members"].append({"name": "notes.txt", "size": 0, "sha256": hashlib.sha256(b"").hexdigest()})
    with tarfile.open(two, "w:gz") as tar:
        import io, json

        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        tar.add(db, arcname=db.name)
        tar.addfile(tarfile.TarInfo("notes.txt"), io.BytesIO(b""))
    result = drill(str(two), [], scratch_dir=str(tmp_path))
    assert not result.ok and "names no dump member" in result.reason, result.reason
