"""--textfile: the run in Prometheus' text format, validated by the real promtool; a failing check is 0."""
from __future__ import annotations

import subprocess
from datetime import datetime, timezone

import pytest

from opsproof.report import cadence, textfile

from helpers import require_tool

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)
ENTRIES = [
    {"started": "2026-12-01T00:00:00Z", "ended": "2026-12-01T00:01:00Z", "selection": "daily", "hosts": "local",
     "exit_status": 0, "outcome": {"passed": 2}, "failed": []},
    {"started": "2026-12-02T00:00:00Z", "ended": "2026-12-02T00:01:00Z", "selection": "daily or weekly",
     "hosts": "local", "exit_status": 1, "outcome": {"passed": 2, "failed": 1}, "failed": ["x"]},
]
TESTS = [
    {"id": "checks/test_disk.py::test_space[/]", "outcome": "passed", "duration_s": 0.25,
     "markers": ["daily", "premaintenance"],
     "comparisons": [{"what": 'space "used" on /', "measured": 40.5, "threshold": 85, "key": "disk.max_used_percent"}]},
    {"id": "checks/test_backups.py::test_fresh", "outcome": "failed", "duration_s": 0.5, "markers": ["daily"]},
    {"id": "checks/test_backups.py::test_reads", "outcome": "skipped", "duration_s": 0.0, "markers": ["weekly"]},
]


def _promtool(text: str) -> subprocess.CompletedProcess:
    require_tool("promtool")
    return subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)


def test_the_textfile_passes_promtool_and_a_failing_check_is_0(tmp_path):
    text = textfile.build(TESTS, ["local"], "daily or weekly", cadence.states(ENTRIES))
    checked = _promtool(text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = text.splitlines()
    assert 'opsproof_check_success{check="checks/test_disk.py::test_space[/]",host="local",cadence="daily"} 1' in lines
    assert 'opsproof_check_success{check="checks/test_backups.py::test_fresh",host="local",cadence="daily"} 0' in lines
    assert not any(line.startswith("opsproof_check_success") and "test_reads" in line for line in lines)  # skipped
    assert 'opsproof_check_duration_seconds{check="checks/test_backups.py::test_fresh",host="local",cadence="daily"} 0.5' \
        in lines
    assert any(line.startswith("opsproof_check_measured_value") and r'what="space \"used\" on /"' in line
               and line.endswith(" 40.5") for line in lines)
    daily_pass = datetime(2026, 12, 1, 0, 1, tzinfo=timezone.utc).timestamp()
    assert f'opsproof_last_success_timestamp_seconds{{cadence="daily",host="local"}} {float(daily_pass)!r}' in lines
    assert not any(line.startswith('opsproof_last_success_timestamp_seconds{cadence="weekly"') for line in lines)
    assert any(line.startswith('opsproof_last_run_timestamp_seconds{cadence="weekly"') for line in lines)


def test_promtool_refuses_what_is_broken():
    """The validator is real: a malformed exposition fails it (so a pass above means something)."""
    assert _promtool("# TYPE x gauge\nx{a=\"1\" 1\n").returncode != 0


def test_write_replaces_the_file_whole_and_leaves_no_temp(tmp_path):
    target = tmp_path / "node" / "opsproof.prom"
    textfile.write(target, "a 1\n")
    textfile.write(target, "b 2\n")
    assert target.read_text() == "b 2\n" and [p.name for p in target.parent.iterdir()] == ["opsproof.prom"]


@pytest.mark.parametrize("test_id, host", [
    ("checks/test_disk.py::test_space[ssh://web2-/]", "ssh://web2"),
    ("checks/test_disk.py::test_space[/]", "ssh://web1,ssh://web2"),
])
def test_a_check_is_labelled_with_the_host_its_id_names(test_id, host):
    assert textfile.host_of(test_id, ["ssh://web1", "ssh://web2"]) == host
    assert textfile.host_of(test_id, ["local"]) == "local"


def test_a_run_writes_the_textfile_promtool_accepts(suite, tmp_path):
    target = tmp_path / "textfile" / "opsproof.prom"
    suite.config({"service": "shop", "disk": {"paths": ["/"], "max_used_percent": 0.0001,
                                              "max_inodes_used_percent": 100}})
    result = suite.run("-m", "daily", f"--textfile={target}")
    assert result.ret == 1, result.stdout.str()
    text = target.read_text()
    checked = _promtool(text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    success = {line.split("{")[1].split(",")[0]: line.rsplit(" ", 1)[1] for line in text.splitlines()
               if line.startswith("opsproof_check_success{")}
    assert set(success.values()) == {"0", "1"}, success
    assert any(line.startswith('opsproof_last_run_timestamp_seconds{cadence="daily",host="local"}')
               for line in text.splitlines())
    assert not any(line.startswith("opsproof_last_success_timestamp_seconds") for line in text.splitlines())
    assert [p.name for p in target.parent.iterdir()] == ["opsproof.prom"]
