"""One way onto a host: what is shipped is derived from imports, refused when it cannot travel, and runs for real."""
from __future__ import annotations

import base64
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import testinfra

from opsproof.hosts import procfd
from opsproof.hosts import ship as shipped
from opsproof.hosts.procfd import Holders
from opsproof.hosts.target import Target


class _Elsewhere(Target):
    """This machine, reached as if it were remote: the shipped path, run by the target's own `python3`."""

    @property
    def is_local(self) -> bool:
        return False


@pytest.fixture(scope="module")
def local() -> Target:
    return Target(testinfra.get_host("local://"), 30)


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_bundle_is_the_closure_of_the_entry_module():
    expected = ["opsproof", "opsproof.hosts", "opsproof.hosts.procfd", "opsproof.temp", "opsproof.temp.walk"]
    assert shipped.modules("opsproof.temp.walk") == expected
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(shipped.bundle("opsproof.temp.walk")))) as zf:
        assert sorted(zf.namelist()) == ["__main__.py", "opsproof/__init__.py", "opsproof/hosts/__init__.py",
                                         "opsproof/hosts/procfd.py", "opsproof/temp/__init__.py",
                                         "opsproof/temp/walk.py"]
    assert shipped.bundle("opsproof.temp.walk") is shipped.bundle("opsproof.temp.walk")  # built once per entry


def test_every_import_form_is_followed_and_nothing_else_is_taken(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "ROOT", str(tmp_path))
    _tree(tmp_path, {
        "opsproof/__init__.py": '"""top"""\n', "opsproof/a/__init__.py": '"""a"""\n',
        "opsproof/a/entry.py": "from __future__ import annotations\nimport json, os.path\nfrom .sib import x\n"
                               "from . import mod\nfrom ..b import c\nfrom ..b.deep import y\n"
                               "import opsproof.d.absolute\n"
                               "try:\n    import isal_like\nexcept (OSError, ImportError):\n    isal_like = None\n"
                               "def later():\n    from .lazy import z\n",
        "opsproof/a/sib.py": "x = 1\n", "opsproof/a/mod.py": "", "opsproof/a/lazy.py": "z = 1\n",
        "opsproof/a/unused.py": "import numpy\n",
        "opsproof/b/__init__.py": '"""b: c is an attribute here, not a module"""\nc = 1\n',
        "opsproof/b/deep.py": "from .. import b\ny = 1\n",
        "opsproof/d/__init__.py": "", "opsproof/d/absolute.py": "",
    })
    assert shipped.modules("opsproof.a.entry") == [
        "opsproof", "opsproof.a", "opsproof.a.entry", "opsproof.a.lazy", "opsproof.a.mod", "opsproof.a.sib",
        "opsproof.b", "opsproof.b.deep", "opsproof.d", "opsproof.d.absolute"]


def test_a_module_importing_outside_the_standard_library_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "ROOT", str(tmp_path))
    _tree(tmp_path, {"opsproof/__init__.py": "", "opsproof/entry.py": "from . import helper\n",
                     "opsproof/helper.py": "import os\nfrom yaml import safe_load\n"})
    with pytest.raises(shipped.BundleError) as refused:
        shipped.modules("opsproof.entry")
    assert str(refused.value).startswith("opsproof.helper imports yaml (line 2), outside the standard library")
    assert "needed by opsproof.helper <- opsproof.entry" in str(refused.value)
    monkeypatch.undo()
    # The real library: the access-log aggregates need numpy, so they can never be shipped.
    with pytest.raises(shipped.BundleError, match=r"opsproof.slo.(accesslog.parse|aggregates) imports numpy .*needed by opsproof.slo.(accesslog.parse|aggregates) <- opsproof.slo.accesslog.buckets"):
        shipped.modules("opsproof.slo.accesslog.buckets")


def test_package_inits_on_the_way_stay_import_free():
    """An import in a package's __init__ would travel with every bundle below it."""
    for package in ("opsproof", "opsproof.hosts", "opsproof.temp", "opsproof.backups", "opsproof.logs"):
        assert shipped.imports(package) == (set(), []), package


def test_the_shipped_holder_scan_matches_in_process(local, tmp_path, monkeypatch):
    held, free = tmp_path / "held.log", tmp_path / "free.log"
    held.write_text("in use\n")
    free.write_text("nobody\n")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; f = open(sys.argv[1]); print('ok', flush=True); "
                               "time.sleep(60)", str(held)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        args = {"paths": [str(held), str(free), str(tmp_path / "missing.log")]}
        here = shipped.call(local, "opsproof.hosts.procfd:holders", args, 30, Holders)
        monkeypatch.setattr(procfd, "holders", lambda **kw: pytest.fail("ran in-process"))
        there = shipped.call(local, "opsproof.hosts.procfd:holders", args, 30, Holders, ship=True)
        elsewhere = shipped.call(_Elsewhere(local.host, 30), "opsproof.hosts.procfd:holders", args, 30, Holders)
    finally:
        holder.kill()
        holder.wait()
    assert here.pids == {str(held): [holder.pid], str(free): []}
    assert there == here and elsewhere == here


def test_a_target_without_python3_is_told_so(local, monkeypatch):
    monkeypatch.setattr(shipped, "PYTHON", "opsproof-no-such-python3")
    with pytest.raises(shipped.NoPython, match="opsproof-no-such-python3 is not installed on local"):
        shipped.call(_Elsewhere(local.host, 30), "opsproof.hosts.procfd:holders", {"paths": ["/"]}, 30, Holders)
