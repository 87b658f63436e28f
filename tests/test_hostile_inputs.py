"""Hostile files the suite reads (config, OpenSLO, attestations, state, summaries, inventories): each is refused in one
line naming the file and the key path, in bounded memory, and never blocks (issue 21, items 2, 3 and 6 in part).

Each input runs in a fresh process under an address-space limit (`ulimit -v`: what the process holds once its
modules are imported plus HEADROOM_MIB), so a regression fails fast on MemoryError instead of eating the machine;
the subprocess timeout bounds the time, and no assertion is timed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADROOM_MIB = 512

_LIMIT = f"""
import resource
_used = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:")) * 1024
resource.setrlimit(resource.RLIMIT_AS, (_used + {HEADROOM_MIB} * 2**20,) * 2)
"""


def _limited(imports: str, body: str, *args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    """`body` in a fresh Python under the memory limit, set once `imports` are done; this checkout's opsproof."""
    code = "import json, sys\n" + imports + "\n" + _LIMIT + body
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def _cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return _limited("from opsproof.cli import main", "sys.exit(main(sys.argv[1:]))", *args, timeout=timeout)


def _one_line(done: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-3000:]
    return lines[0]


def _refused(path: Path, timeout: float = 120) -> str:
    """The one line `opsproof check-config PATH` prints when it refuses the file (exit 4)."""
    done = _cli("check-config", path, timeout=timeout)
    assert done.returncode == 4, (done.returncode, done.stdout[-1000:], done.stderr[-3000:])
    return _one_line(done)


# ---- a very large config (item 3)

def test_a_56_mb_config_is_refused_unparsed_naming_its_long_list(tmp_path):
    """56 MB, 7 million `disk.paths` items: was 4.5 GB and 71 s, then valid (or a MemoryError traceback, exit 1)."""
    path = tmp_path / "maintenance.yaml"
    with open(path, "w") as fh:
        fh.write("service: svc\ndisk:\n  paths: [")
        fh.write("'/tmp', " * 7_000_000)
        fh.write("'/']\n")
    line = _refused(path)
    assert f"{path}: disk.paths: more than 10000 items, at most 10000 (and the file is 56000034 bytes, at most " \
           "1048576)" in line, line


@pytest.mark.parametrize("text, key, problem", [
    pytest.param("disk:\n  paths: [" + "'/', " * 10_001 + "]\n", "disk.paths", "10001 items, at most 10000", id="list"),
    pytest.param("runbooks:\n" + "".join(f"  test_{i}: https://wiki/{i}\n" for i in range(10_001)), "runbooks",
                 "10001 keys, at most 10000", id="mapping"),
])
def test_a_list_or_mapping_past_10000_entries_is_refused_naming_it(tmp_path, text, key, problem):
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: svc\n" + text)
    assert f"{path}: {key}: {problem} — " in _refused(path)


def test_a_config_past_1_mib_is_refused_unread(tmp_path):
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: svc\n" + "# a long comment\n" * 70_000)
    size = path.stat().st_size
    line = _refused(path)
    assert f"{path}: {size} bytes, at most 1048576 (1 MiB) — a maintenance config is written by hand" in line


# ---- aliases, nesting and values YAML cannot build, wherever they are

def _bomb_lines(levels: int = 12, width: int = 9) -> list[str]:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return lines


def test_an_alias_bomb_is_named_by_the_key_path_where_it_passes_the_bound(tmp_path):
    """Item 6: the message said where in no way; now the key path where the aliases passed 10 000 added nodes."""
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: svc\nhealth:\n  - url: 'http://127.0.0.1:1/'\n    json:\n"
                    + "".join(f"      {line}\n" for line in _bomb_lines()))
    line = _refused(path)
    assert f"{path}: health[0].json.a4[0]: YAML aliases expand to more than 10000 nodes beyond the file's own" in line


def test_nesting_100000_deep_is_refused_not_a_crash(tmp_path):
    """libyaml's composer recursed in C: 100 000 `[` (200 KB) killed the process with SIGSEGV."""
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: svc\nx: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "nested deeper than 64 lists and mappings" in _refused(path)


def test_a_date_yaml_cannot_build_is_named_not_a_traceback(tmp_path):
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: svc\ndocs: {dir: 2026-13-45}\n")
    assert f"{path}: docs.dir: line 2: '2026-13-45' is not a date YAML can read (month must be in 1..12)" \
        in _refused(path)


# ---- the attestations file (item 2)

_ATTEST = """
from datetime import datetime, timezone
import testinfra
from opsproof.hosts.target import Target
from opsproof.process import attest
"""
_READ_ATTEST = """
file = attest.read(Target(testinfra.get_host("local://"), 30), sys.argv[1], {"team-training"},
                   datetime.now(timezone.utc))
print(json.dumps({"error": file.error, "records": len(file.records), "bad": file.bad}))
"""


def _attestations(path: Path, timeout: float = 120) -> dict:
    done = _limited(_ATTEST, _READ_ATTEST, path, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_an_alias_bomb_in_an_attestation_record_is_refused_in_bounded_memory(tmp_path):
    """0.6 KB: was 3 GB and 39 s (every record's evidence turned into text), or MemoryError in each of 4 checks."""
    path = tmp_path / "attestations.yaml"
    path.write_text("- {task: team-training, date: 2026-12-01, by: ana}\n- task: team-training\n  date: 2026-12-01\n"
                    "  by: bob\n" + "".join(f"  x{line}\n" for line in _bomb_lines(9)) + "  evidence: *a8\n")
    assert len(path.read_bytes()) < 700
    found = _attestations(path)
    assert found["error"].startswith(f"{path}: [1].xa4[0]: YAML aliases expand to more than 10000 nodes"), found
    assert found["records"] == 0, "a file refused is no evidence"


def test_a_nul_byte_in_the_attestations_fails_its_checks_in_one_line_not_a_traceback(suite):
    suite.config({"service": "svc", "root": ".",
                  "attestations": {"file": "attestations.yaml",
                                   "tasks": {"team-training": "31d", "documentation-review": "31d"}}})
    raw = (b"- {task: team-training, date: 2026-12-01, by: ana}\n"
           b"- {task: team-\x00training, date: 2026-12-01, by: ana}\n")
    (suite.path / "attestations.yaml").write_bytes(raw)
    result = suite.run("-m", "monthly", "-k", "attest")
    assert result.ret == 1, result.stdout.str()
    outcomes = {k: v for k, v in suite.outcomes().items() if "attest" in k}
    assert len(outcomes) == 3 and "passed" not in outcomes.values(), outcomes  # each fails, as for a missing file
    out = result.stdout.str()
    assert f"attestations.yaml: line 2: byte {raw.index(0)} cannot be in YAML (control characters are not allowed, " \
           "#x00)" in out
    assert "ReaderError" not in out and "Traceback" not in out


# ---- files that are not regular files: a FIFO planted under the name never blocks a reader

_FIFO_TIMEOUT_S = 30      # the reader must return long before; the old ones waited for a writer for ever


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def test_a_fifo_as_the_config_is_refused(tmp_path):
    path = _fifo(tmp_path / "maintenance.yaml")
    line = _refused(path, timeout=_FIFO_TIMEOUT_S)
    assert line.endswith(f"{path}: is a FIFO, not a regular file: not read — give the path of a regular file"), line


def test_a_fifo_matched_by_an_openslo_glob_is_refused(tmp_path):
    (tmp_path / "slo").mkdir()
    fifo = _fifo(tmp_path / "slo" / "a.yaml")
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: svc\nslo: {source: {access_log: a.log}, openslo: ['slo/*.yaml']}\n")
    assert f"{fifo}: is a FIFO, not a regular file" in _refused(path, timeout=_FIFO_TIMEOUT_S)


def test_a_fifo_as_the_attestations_file_is_an_error_not_a_hang(tmp_path):
    path = _fifo(tmp_path / "attestations.yaml")
    found = _attestations(path, timeout=_FIFO_TIMEOUT_S)
    assert found["error"].startswith(f"{path}: is a FIFO, not a regular file"), found


def test_a_fifo_given_to_opsproof_summary_is_refused(tmp_path):
    path = _fifo(tmp_path / "daily.json")
    done = _cli("summary", path, timeout=_FIFO_TIMEOUT_S)
    assert done.returncode == 4 and _one_line(done).startswith(f"opsproof: {path}: is a FIFO, not a regular file")


def test_a_summary_past_32_mib_is_refused_unread(tmp_path):
    path = tmp_path / "daily.json"
    path.write_text(json.dumps({"pad": "x" * (33 << 20)}))
    done = _cli("summary", path)
    assert done.returncode == 4
    assert _one_line(done).startswith(f"opsproof: {path}: {path.stat().st_size} bytes, at most 33554432 (32 MiB)")


# ---- state files: a damaged one is the first run, never a hang nor gigabytes

_STATE = "from opsproof.hosts.state import StateStore\n"
_LOAD_STATE = "print(json.dumps(StateStore(sys.argv[1], 'local').load('capacity')))\n"


def _state(tmp_path: Path, make) -> dict:
    (tmp_path / "local").mkdir()
    make(tmp_path / "local" / "capacity.json")
    done = _limited(_STATE, _LOAD_STATE, tmp_path, timeout=_FIFO_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("make", [
    pytest.param(os.mkfifo, id="fifo"),
    pytest.param(lambda p: p.write_text(json.dumps({"/": [[0, 1, 2, 3, 4, 5]] * 1_000_000})), id="past-16-MiB"),
    pytest.param(lambda p: p.write_bytes(b'{"/": [' + b"[[[]]]," * (2 << 20) + b"0]}"), id="brackets"),
    pytest.param(lambda p: p.write_text("[[0, 1, 2]]"), id="not-an-object"),
])
def test_a_damaged_state_file_is_the_first_run(tmp_path, make):
    assert _state(tmp_path, make) == {}


def test_a_good_state_file_reads(tmp_path):
    assert _state(tmp_path, lambda p: p.write_text('{"/": [[0, 1, 2]]}')) == {"/": [[0, 1, 2]]}


# ---- `ansible-inventory --list`: its output is bounded too

_INVENTORY = "from opsproof.hosts import inventory\n"
_READ_INVENTORY = """
try:
    inventory.read_inventory(sys.argv[1], 60)
    print("read")
except inventory.InventoryError as exc:
    print(exc)
"""


def test_an_inventory_that_prints_without_end_is_cut_at_the_bound(tmp_path):
    tool = tmp_path / "bin" / "ansible-inventory"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\nexec yes '{\"all\": {\"hosts\": [\"web1\"]}}'\n")
    tool.chmod(0o755)
    (tmp_path / "inventory.ini").write_text("web1\n")
    env = dict(os.environ, PATH=f"{tool.parent}{os.pathsep}{os.environ['PATH']}")
    code = "import json, sys\n" + _INVENTORY + _LIMIT + _READ_INVENTORY
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "inventory.ini")], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == (f"ansible-inventory -i {tmp_path / 'inventory.ini'} --list printed more than "
                                   "33554432 bytes (32 MiB): not read (an inventory script gone wrong? its host vars "
                                   "are read whole)")
