"""The one atomic write (opsproof/files.py) and the library pieces moved out of fixtures/: the RPO search, the JSON
summary beside its report."""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass

import pytest

from opsproof.backups.work import Archive, newest_restorable
from opsproof.files import stage, write_atomic
from opsproof.report.summary import write_summary


def test_a_write_is_whole_or_not_at_all_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "deep" / "x.json"
    write_atomic(path, "old")
    staged = stage(path, b"new")
    assert path.read_text() == "old"                      # not in effect before commit
    staged.commit()
    assert path.read_text() == "new" and os.listdir(path.parent) == ["x.json"]
    stage(path, "dropped").discard()
    assert path.read_text() == "new" and os.listdir(path.parent) == ["x.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "x.txt"
    write_atomic(path, "old")
    with pytest.raises(TypeError):
        write_atomic(path, 42)  # type: ignore[arg-type]
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["x.txt"]


def test_mode_is_set_exactly_else_a_new_files_default(tmp_path):
    assert stat.S_IMODE(write_atomic(tmp_path / "unit", "x", mode=0o644).stat().st_mode) == 0o644
    assert stat.S_IMODE(write_atomic(tmp_path / "state", "x", mode=0o600).stat().st_mode) == 0o600
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(write_atomic(tmp_path / "plain", "x").stat().st_mode) == 0o666 & ~umask


@dataclass
class _Drill:
    ok: bool
    reason: str = ""
    created_at: str = "2026-01-01T00:00:00Z"
    age_hours: float = 5.0


def test_the_rpo_search_drills_newest_first_until_one_restores_within_keep():
    archives = [Archive(f"/b/{n}", 0.0, 1) for n in ("3", "2", "1")]
    results = {"/b/3": _Drill(False, "damaged"), "/b/2": _Drill(True), "/b/1": _Drill(True)}
    asked = []
    rpo = newest_restorable(archives, 14, lambda a: asked.append(a.path) or results[a.path])
    assert rpo.newest_restorable == "/b/2" and asked == ["/b/3", "/b/2"]
    assert rpo.tried == [{"archive": "/b/3", "ok": False, "reason": "damaged"}, {"archive": "/b/2", "ok": True,
                                                                                   "reason": ""}]
    none = newest_restorable(archives, 1, lambda a: results[a.path])
    assert none.newest_restorable is None and none.age_hours is None and len(none.tried) == 1


def test_the_summary_is_written_beside_its_report(tmp_path):
    path = write_summary(tmp_path / "reports" / "daily_x.html", {"verdict": "passed"})
    assert path == tmp_path / "reports" / "daily_x.json" and json.loads(path.read_text()) == {"verdict": "passed"}


def test_one_atomic_write_helper():
    """Every whole-or-nothing write goes through opsproof/files.py; backups/take.py renames a streamed archive it
    wrote itself (on the target, under a partial name) when it is complete, which is not a file-from-text write."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    allowed = {root / "opsproof" / "files.py", root / "opsproof" / "backups" / "take.py"}
    writers = [str(p.relative_to(root)) for d in ("opsproof", "engine", "fixtures") for p in (root / d).rglob("*.py")
               if p not in allowed and any(call in p.read_text(encoding="utf-8")
                                           for call in ("os.replace(", "mkstemp(", "os.rename("))]
    assert writers == [], f"write through opsproof.files.write_atomic/stage instead: {writers}"
