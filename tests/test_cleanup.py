"""Temp cleanup: old files go, nothing outside the root changes — links, `..`, open files, swapped dirs, mounts."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import testinfra

from helpers import unavailable
from opsproof.hosts import ship as shipped
from opsproof.temp import walk as tempwalk
from opsproof.temp.cleanup import clean_dir, clean_dirs
from opsproof.hosts.target import Target

OLD = (datetime.now(timezone.utc) - timedelta(days=30)).timestamp()


@pytest.fixture(scope="module")
def local() -> Target:
    return Target(testinfra.get_host("local://"), 60)


def _age(path: Path, when: float = OLD) -> Path:
    os.utime(path, (when, when), follow_symlinks=False)
    return path


def _file(path: Path, data: bytes = b"data\n", old: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return _age(path) if old else path


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything observable about a tree: names, kinds, sizes, times, link counts, contents."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
            out[str(p)] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_nlink, digest)
    st = root.lstat()
    out[str(root)] = (st.st_mode, st.st_mtime_ns, st.st_ctime_ns)
    return out


@pytest.fixture
def world(tmp_path):
    """A temp root and, beside it, an outside tree full of old files that must never change."""
    root, outside = tmp_path / "tmp", tmp_path / "outside"
    for i in range(3):
        _file(outside / f"keep{i}.dat", b"precious %d\n" % i)
    _file(outside / "deep" / "nested.dat", b"precious nested\n")
    _age(outside / "deep")
    root.mkdir()
    return root, outside


def test_old_files_and_empty_dirs_go_young_ones_stay(local, world):
    root, outside = world
    before = snapshot(outside)
    _file(root / "old.log", b"x" * 5000)
    _file(root / "a" / "b" / "old.bin", b"y" * 3000)
    _age(root / "a" / "b")
    _age(root / "a")
    young = _file(root / "young.txt", old=False)
    (root / "fresh-empty").mkdir()
    keep = _file(root / ".gitkeep")
    plan = clean_dir(local, str(root), 7, apply=False, exclude=[".gitkeep"])
    assert (root / "old.log").exists() and plan.mode == "plan"
    assert plan.removed_count == 2 and plan.bytes_freed == 8000 and plan.oldest_left_days >= 29
    assert set(plan.dirs_removed) == {"a/b/", "a/"}
    done = clean_dir(local, str(root), 7, apply=True, exclude=[".gitkeep"])
    assert done.removed_count == 2 and done.bytes_freed == 8000 and done.disk_bytes_freed > 0
    assert sorted(done.removed) == ["a/b/old.bin", "old.log"]
    assert not (root / "a").exists() and (root / "fresh-empty").is_dir()
    assert young.exists() and keep.exists() and done.oldest_left_days < 1
    assert snapshot(outside) == before


def test_links_to_outside_are_never_followed(local, world):
    root, outside = world
    os.symlink(outside / "keep0.dat", root / "file-link")
    os.symlink(outside, root / "dir-link")
    os.symlink(outside / "deep", root / "sub-link")
    (root / "d").mkdir()
    os.symlink("../../outside", root / "d" / "up-link")
    os.link(outside / "keep1.dat", root / "hard-link")  # same inode as a file outside
    for link in ("file-link", "dir-link", "sub-link", "d/up-link"):
        _age(root / link)
    _age(root / "d")
    before = snapshot(outside)
    result = clean_dir(local, str(root), 7, apply=True)
    assert result.removed_count == 0, result.removed
    assert set(result.skipped["symlink"]) == {"file-link", "dir-link", "sub-link", "d/up-link"}
    assert result.skipped["hardlink"] == ["hard-link"]
    assert snapshot(outside) == before
    assert (root / "dir-link").is_symlink() and (root / "hard-link").exists()


def test_the_root_itself_being_a_link_is_refused(local, world):
    root, outside = world
    before = snapshot(outside)
    link = root.parent / "tmp-link"
    os.symlink(outside, link)
    result = clean_dir(local, str(link), 7, apply=True)
    assert result.error and "symbolic link" in result.error
    assert snapshot(outside) == before


def test_dotdot_in_the_config_is_refused(suite, world):
    root, outside = world
    suite.config({"service": "svc", "root": str(root), "temp": {"dirs": ["logs/../../outside"]}})
    result = suite.run("-m", "daily", "--apply")
    assert result.ret == 4
    assert "temp.dirs" in result.stderr.str() and "'..' is not allowed" in result.stderr.str()
    assert all(p.exists() for p in (outside / "keep0.dat", outside / "deep" / "nested.dat"))


def test_a_file_held_open_is_kept(local, world):
    root, outside = world
    held = _file(root / "held.log", b"in use\n")
    _file(root / "free.log")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; f = open(sys.argv[1]); print('ok', flush=True); "
                               "time.sleep(60)", str(held)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        result = clean_dir(local, str(root), 7, apply=True)
    finally:
        holder.kill()
        holder.wait()
    assert held.exists() and not (root / "free.log").exists()
    assert result.skipped["open"] == ["held.log"] and result.removed == ["free.log"]


def test_a_dir_swapped_for_a_link_during_the_walk_is_not_entered(local, world, monkeypatch):
    """Deterministic race: the directory becomes a link to outside between listing and opening it."""
    root, outside = world
    before = snapshot(outside)
    _file(root / "victim" / "old.dat")
    _age(root / "victim")
    real_open = os.open

    def swapping_open(path, flags, mode=0o777, *, dir_fd=None):
        if path == "victim" and dir_fd is not None:
            shutil.rmtree(root / "victim")
            os.symlink(outside, root / "victim")
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(tempwalk.os, "open", swapping_open)
    result = tempwalk.clean(str(root), 7 * 86400, apply=True)
    monkeypatch.undo()
    assert result["skipped"]["swapped"] == ["victim"]
    assert snapshot(outside) == before


def test_a_file_swapped_for_a_link_before_unlink_is_kept(local, world, monkeypatch):
    root, outside = world
    before = snapshot(outside)
    _file(root / "target.dat")
    real_stat, calls = os.stat, []

    def swapping_stat(path, *args, **kwargs):
        calls.append(path)
        if path == "target.dat" and calls.count("target.dat") == 2:  # the last look before unlink
            os.unlink(root / "target.dat")
            os.symlink(outside / "keep2.dat", root / "target.dat")
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(tempwalk.os, "stat", swapping_stat)
    result = tempwalk.clean(str(root), 7 * 86400, apply=True)
    monkeypatch.undo()
    assert result["skipped"]["swapped"] == ["target.dat"] and result["removed_count"] == 0
    assert (root / "target.dat").is_symlink() and snapshot(outside) == before


def test_racing_swaps_never_reach_outside(local, world):
    """A real race: a thread keeps swapping a subdirectory and a link to outside while cleanups run."""
    root, outside = world
    before = snapshot(outside)
    stop = threading.Event()

    def swapper() -> None:
        spot = root / "spot"
        while not stop.is_set():
            try:
                spot.mkdir()
                _file(spot / "old.dat")
                _age(spot)
                shutil.rmtree(spot)
                os.symlink(outside, spot)
                os.unlink(spot)
            except OSError:
                try:
                    shutil.rmtree(spot) if spot.is_dir() and not spot.is_symlink() else spot.unlink()
                except OSError:
                    pass

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    try:
        for _ in range(150):
            tempwalk.clean(str(root), 7 * 86400, apply=True)
    finally:
        stop.set()
        thread.join(10)
    assert snapshot(outside) == before


def test_another_filesystem_inside_the_root_is_not_entered(local, world):
    root, outside = world
    mnt = root / "mnt"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "opsproof-test", str(mnt)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        unavailable(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        inner = _file(mnt / "old-on-tmpfs.dat")
        bind = root / "bind"
        bind.mkdir()
        subprocess.run(["mount", "--bind", str(outside), str(bind)], check=True)
        try:
            before = snapshot(outside)
            result = clean_dir(local, str(root), 7, apply=True)
            assert inner.exists() and snapshot(outside) == before
            assert set(result.skipped["other_fs"]) == {"mnt", "bind"}
        finally:
            subprocess.run(["umount", str(bind)], check=False)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_the_shipped_walker_matches_in_process(local, world):
    """Over SSH the same walk is shipped to the target's python3 (ship=True proves that path here): same result."""
    root, outside = world
    _file(root / "x" / "old.dat", b"z" * 10)
    _age(root / "x")
    _file(root / "young.txt", old=False)
    os.symlink(outside, root / "link")
    here = clean_dir(local, str(root), 7, apply=False)
    planned = clean_dir(local, str(root), 7, apply=False, ship=True)
    assert planned.walker == "python3 on the target" and here.walker == "in-process" and planned.error is None
    timing = {"walker": "", "duration_s": 0, "cutoff_utc": "", "oldest_left_days": 0}  # differ by the moment
    assert {**asdict(planned), **timing} == {**asdict(here), **timing}
    assert abs(planned.oldest_left_days - here.oldest_left_days) < 0.01
    assert planned.removed == ["x/old.dat"] and planned.dirs_removed == ["x/"] and planned.skipped == {"symlink": ["link"]}
    done = clean_dir(local, str(root), 7, apply=True, ship=True)
    assert done.removed == ["x/old.dat"] and not (root / "x").exists() and (root / "link").is_symlink()


class _Elsewhere(Target):
    """This machine, reached as if it were remote: the shipped path with the target's own `python3`."""

    @property
    def is_local(self) -> bool:
        return False


def test_a_target_without_python3_is_told_so_and_nothing_is_removed(world, monkeypatch):
    root, _ = world
    stale = _file(root / "old.dat")
    monkeypatch.setattr(shipped, "PYTHON", "opsproof-no-such-python3")
    result = clean_dir(_Elsewhere(testinfra.get_host("local://"), 30), str(root), 7, apply=True)
    assert result.error and result.error.startswith("python3 is not installed on local")
    assert "nothing was removed" in result.error and stale.exists() and result.removed_count == 0


def test_work_dir_inside_a_temp_dir_is_kept(local, world):
    root, _ = world
    state = _file(root / ".opsproof" / "logrotate.state")
    clean_dir(local, str(root), 7, apply=True, work_dir=str(root / ".opsproof"))
    assert state.exists()


def test_temp_checks_plan_then_apply(suite, tmp_path):
    root = tmp_path / "svc"
    stale = _file(root / "scratch" / "old.bin", b"q" * 2048)
    suite.config({"service": "svc", "root": str(root), "temp": {"dirs": ["scratch"], "max_age_days": 7}})
    planned = suite.run("-m", "daily")
    assert planned.ret == 1 and stale.exists()
    planned.stdout.fnmatch_lines(["*oldest file left in*would remove 1 files, 2.0 KiB*temp.max_age_days allows <= 7.0 days*"])
    assert suite.run("-m", "daily", "--apply").ret == 0
    assert not stale.exists()
    record = next(e["data"] for t in suite.summary()["tests"] for e in t["evidence"] if e["label"].startswith("clean-temp"))
    assert record["removed_count"] == 1 and record["bytes_freed"] == 2048 and record["removed"] == ["old.bin"]


def test_a_missing_temp_dir_fails(suite, tmp_path):
    suite.config({"service": "svc", "root": str(tmp_path), "temp": {"dirs": ["nope"]}})
    result = suite.run("-m", "daily")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*nope: No such file or directory*"])


def test_clean_dirs_cleans_every_configured_dir_by_name(local, tmp_path):
    from opsproof.config import Maint

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        old = tmp_path / name / "old.tmp"
        old.write_text("x")
        os.utime(old, (0, 0))
    temp = Maint.model_validate({"service": "s", "temp": {"dirs": [str(tmp_path / "a"), str(tmp_path / "b")],
                                                          "max_age_days": 1}}).temp
    planned = clean_dirs(local, temp, apply=False)
    assert list(planned) == temp.dirs and all(r.mode == "plan" and r.removed_count == 1 for r in planned.values())
    assert (tmp_path / "a" / "old.tmp").exists()
    done = clean_dirs(local, temp, apply=True)
    assert all(r.mode == "apply" and r.removed == ["old.tmp"] for r in done.values())
    assert not (tmp_path / "a" / "old.tmp").exists() and not (tmp_path / "b" / "old.tmp").exists()
