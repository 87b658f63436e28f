"""Backup recency: the newest archive exists, is fresh and is not trivially small (checks/test_backups.py)."""
from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import pytest
import testinfra

from opsproof.backups.recency import newest_backup
from opsproof.hosts.target import Target

CHECK = "checks/test_backups.py"  # run only this module: other checks sharing the marker are not under test here
FAST = ("-p", "no:hypothesispytest", "-p", "no:benchmark")  # unused third-party plugins: seconds of start-up

CHECKS = ("test_backup_exists", "test_newest_backup_is_fresh", "test_newest_backup_is_not_trivial")


def _archive(path: Path, payload: int = 8192, age_hours: float = 0) -> Path:
    """A real .tar.gz holding `payload` random bytes (incompressible, so the archive is at least that big)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("app.db")
        info.size = payload
        tar.addfile(info, io.BytesIO(os.urandom(payload)))
    if age_hours:
        then = time.time() - age_hours * 3600
        os.utime(path, (then, then))
    return path


def _config(tmp_path: Path, **backups) -> dict:
    return {"service": "backup-test", "root": str(tmp_path),
            "backups": {"dir": "backups", "pattern": "daily_*.tar.gz", "max_age_hours": 26, "min_size_bytes": 1024,
                        **backups}}


def _run(suite, tmp_path: Path, **backups) -> dict[str, dict]:
    suite.config(_config(tmp_path, **backups))
    result = suite.run("-m", "daily", CHECK, *FAST)   # the recency checks (premaintenance has its own backup check)
    out = {}
    for test in suite.summary()["tests"]:
        if "test_backups.py::" in test["id"]:
            out[test["id"].split("::", 1)[1].split("[", 1)[0]] = test
    assert set(out) >= set(CHECKS), result.stdout.str()
    failed = any(out[c]["outcome"] in ("failed", "error") for c in CHECKS)
    assert result.ret == (1 if failed else 0), result.stdout.str()
    return out


def test_fresh_archive_passes(suite, tmp_path):
    _archive(tmp_path / "backups" / "daily_20260101T000000Z.tar.gz", age_hours=40)
    newest = _archive(tmp_path / "backups" / "daily_20260102T000000Z.tar.gz")
    tests = _run(suite, tmp_path)
    assert {c: tests[c]["outcome"] for c in CHECKS} == dict.fromkeys(CHECKS, "passed")
    fresh = tests["test_newest_backup_is_fresh"]
    assert fresh["evidence"][0]["data"]["path"] == str(newest)
    assert fresh["evidence"][0]["data"]["matches"] == 2
    comp = fresh["comparisons"][0]
    assert comp["key"] == "backups.max_age_hours" and comp["threshold"] == 26 and 0 <= comp["measured"] < 0.1


def test_old_archive_fails_freshness(suite, tmp_path):
    _archive(tmp_path / "backups" / "daily_20260101T000000Z.tar.gz", age_hours=30)
    tests = _run(suite, tmp_path)
    assert tests["test_backup_exists"]["outcome"] == "passed"
    assert tests["test_newest_backup_is_not_trivial"]["outcome"] == "passed"
    fresh = tests["test_newest_backup_is_fresh"]
    assert fresh["outcome"] == "failed"
    assert fresh["comparisons"][0]["measured"] == pytest.approx(30, abs=0.05)
    assert "daily_20260101T000000Z.tar.gz is 30.0 h; backups.max_age_hours allows <= 26.0 h" in fresh["message"]


def test_tiny_archive_fails_min_size(suite, tmp_path):
    tiny = tmp_path / "backups" / "daily_20260102T000000Z.tar.gz"
    tiny.parent.mkdir()
    tiny.write_bytes(b"\x1f\x8b" + b"\0" * 18)
    tests = _run(suite, tmp_path)
    assert tests["test_newest_backup_is_fresh"]["outcome"] == "passed"
    small = tests["test_newest_backup_is_not_trivial"]
    assert small["outcome"] == "failed"
    assert f"size of {tiny} is 20 B; backups.min_size_bytes allows >= 1024 B" in small["message"]


def test_no_match_fails_existence_and_skips_properties(suite, tmp_path):
    backups = tmp_path / "backups"
    _archive(backups / ".daily_20260102T000000Z.tar.gz.part")     # in progress, hidden
    _archive(backups / "weekly_20260102T000000Z.tar.gz")          # another pattern
    (backups / "daily_20260102T000000Z.tar.gz.sha256").write_text("x\n")
    (backups / "daily_dir.tar.gz").mkdir()                        # not a regular file
    tests = _run(suite, tmp_path)
    exists = tests["test_backup_exists"]
    assert exists["outcome"] == "failed"
    assert f"no file matches backups.pattern daily_*.tar.gz in backups.dir {backups}" in exists["message"]
    for check in CHECKS[1:]:
        assert tests[check]["outcome"] == "skipped"
        assert tests[check]["message"] == "no backup found: see test_backup_exists"


def test_missing_backups_dir_fails(suite, tmp_path):
    tests = _run(suite, tmp_path)
    exists = tests["test_backup_exists"]
    assert exists["outcome"] == "failed"
    assert f"backup folder {tmp_path / 'backups'} does not exist" in exists["message"]
    assert all(tests[c]["outcome"] == "skipped" for c in CHECKS[1:])


def test_no_backups_section_skips_with_reason(suite, tmp_path):
    suite.config({"service": "backup-test", "root": str(tmp_path)})
    suite.run("-m", "daily", CHECK, *FAST)
    tests = [t for t in suite.summary()["tests"] if "test_backups.py::" in t["id"]]
    assert len(tests) == 3 and all(t["outcome"] == "skipped" for t in tests)
    assert {t["message"] for t in tests} == {"no backups section in maintenance.yaml"}


# --- the library, directly -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def local() -> Target:
    return Target(testinfra.get_host("local://"), 30)


def test_backups_dir_that_is_a_file_is_an_error(local, tmp_path):
    archive = _archive(tmp_path / "daily_x.tar.gz")
    recency = newest_backup(local, str(archive), "daily_*.tar.gz")
    assert recency.path is None and "is a file, not a folder" in recency.error


def test_names_with_spaces_and_newest_by_mtime(local, tmp_path):
    _archive(tmp_path / "daily_b later name.tar.gz", age_hours=5)
    newest = _archive(tmp_path / "daily_a with spaces.tar.gz", age_hours=1)
    recency = newest_backup(local, str(tmp_path), "daily_*.tar.gz")
    assert (recency.matches, recency.path) == (2, str(newest))
    assert recency.age_hours == pytest.approx(1, abs=0.05)
    assert recency.size == newest.stat().st_size


def test_archive_dated_in_the_future_is_not_fresh(local, tmp_path):
    future = _archive(tmp_path / "daily_x.tar.gz")
    then = time.time() + 48 * 3600
    os.utime(future, (then, then))
    recency = newest_backup(local, str(tmp_path), "daily_*.tar.gz")
    assert recency.age_hours is None and "in the future" in recency.error


# Each test below kills a mutant that survived scripts/mutation (tests/MUTANTS.md): whole results compared.

def test_a_missing_unreadable_or_file_folder_is_an_error_naming_it(local, tmp_path):
    from opsproof.backups.recency import Recency

    missing = str(tmp_path / "nope")
    assert newest_backup(local, missing, "d_*") == Recency(missing, "d_*", error=f"backup folder {missing} does not exist")
    (tmp_path / "plain").write_text("x")
    under_a_file = str(tmp_path / "plain" / "b")
    assert newest_backup(local, under_a_file, "d_*") == Recency(
        under_a_file, "d_*", error=f"cannot read backup folder {under_a_file}: Not a directory")
    a_file = str(tmp_path / "plain")
    assert newest_backup(local, a_file, "d_*") == Recency(a_file, "d_*",
                                                          error=f"backups.dir {a_file} is a file, not a folder")


def test_a_listing_that_fails_is_an_error_in_the_result(local, tmp_path, monkeypatch):
    """find refuses a folder named like an option (-weird): the result carries the error, nothing is raised."""
    from opsproof.backups.recency import Recency

    (tmp_path / "-weird").mkdir()
    monkeypatch.chdir(tmp_path)
    recency = newest_backup(local, "-weird", "d_*")
    assert recency == Recency("-weird", "d_*", error=recency.error) and "cannot list -weird" in recency.error


def test_no_match_is_zero_matches_and_no_error(local, tmp_path):
    from opsproof.backups.recency import Recency

    (tmp_path / "other.txt").write_text("x")
    assert newest_backup(local, str(tmp_path), "d_*") == Recency(str(tmp_path), "d_*", matches=0)


def test_age_is_in_hours_rounded_to_two_places(local, tmp_path):
    from opsproof.backups.recency import Recency

    path = _archive(tmp_path / "d_1.tar.gz", age_hours=100.0042)
    assert newest_backup(local, str(tmp_path), "d_*") == Recency(
        str(tmp_path), "d_*", matches=1, path=str(path), age_hours=100.0, size=path.stat().st_size)
    _archive(tmp_path / "d_2.tar.gz", age_hours=1.2345)
    assert newest_backup(local, str(tmp_path), "d_*").age_hours == 1.23


def test_a_future_date_names_the_file_and_how_far_ahead(local, tmp_path):
    from opsproof.backups.recency import Recency

    path = _archive(tmp_path / "d_1.tar.gz")
    then = time.time() + 1000 * 3600
    os.utime(path, (then, then))
    size = path.stat().st_size
    assert newest_backup(local, str(tmp_path), "d_*") == Recency(
        str(tmp_path), "d_*", matches=1, path=str(path), size=size,
        error=f"{path} is dated 1000.0 h in the future of the target's clock: its age cannot be judged (check the "
              "clocks of the host and of whatever wrote it)")


def test_equal_times_are_broken_by_the_later_name(local, tmp_path):
    """Copies that keep whole-second times can share one: the later name (a later timestamp in it) is newest.
    Each pair is made in both orders, so whatever order the folder lists them in, the name decides."""
    then = time.time() - 3600
    for i, names in enumerate((("d_a", "d_b"), ("d_b", "d_a"), ("d_c1", "d_c2"), ("d_c2", "d_c1"))):
        folder = tmp_path / str(i)
        for name in names:
            _archive(folder / name, payload=16)
            os.utime(folder / name, (then, then))
        assert newest_backup(local, str(folder), "d_*").path == str(folder / max(names)), names
