"""Disk space and inodes: the check agrees with an independent measurement (statvfs) and catches what it should.

Suite tests run checks/test_disk.py on this machine's real filesystems; unit tests pin down how
opsproof.system.disk reads `df -P` output (device names and mount points with spaces, "-" columns).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import testinfra

from opsproof.hosts.state import StateStore
from opsproof.system.capacity import Forecast
from opsproof.system.disk import (DiskUsage, disk_usage, forecast_chart, forecast_evidence, measure_and_record,
                                  parse_df, with_sample)
from opsproof.hosts.target import Target, TargetError

CHECK = "checks/test_disk.py"  # run only this module: other checks sharing the marker are not under test here
FAST = ("-p", "no:hypothesispytest", "-p", "no:benchmark")  # unused third-party plugins: seconds of start-up


def _statvfs(path: str) -> tuple[float, float]:
    """(space used %, inodes used %) as df computes them, from the kernel directly."""
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    inodes = 100.0 * (st.f_files - st.f_ffree) / st.f_files if st.f_files else None
    return 100.0 * used / (used + avail), inodes


def _config(tmp_path: Path, **disk) -> dict:
    return {"service": "disk-test", "root": str(tmp_path), "disk": {"paths": ["/", "."], **disk}}


def _results(suite) -> dict[tuple[str, str], dict]:
    """(check name, configured path) -> summary entry."""
    out = {}
    for test in suite.summary()["tests"]:
        if "test_disk.py::" in test["id"]:
            name, param = test["id"].split("::", 1)[1].split("[", 1)
            path = param.rstrip("]").rsplit("-", 1)[0]  # "<path>-<host>"
            out[(name, path)] = test
    return out


def _number_before(text: str, suffix: str) -> float:
    """The number written just before `suffix` (e.g. '21.9' in 'is 21.9%; ...')."""
    head = text.split(suffix, 1)[0]
    return float(head.rsplit(" ", 1)[1])


def test_passes_within_thresholds_and_agrees_with_statvfs(suite, tmp_path):
    # The example configuration's thresholds; the expected outcome comes from statvfs, not from df.
    space, inodes = _statvfs("/")
    limit = 90
    if abs(space - limit) < 0.5 or (inodes is not None and abs(inodes - limit) < 0.5):
        pytest.skip(f"this machine's usage ({space:.1f}% / {inodes}% inodes) is too close to {limit}% to call")
    suite.config(_config(tmp_path, max_used_percent=limit, max_inodes_used_percent=limit))
    suite.run("-m", "daily", CHECK, *FAST)
    results = _results(suite)
    assert set(results) == {(n, p) for n in ("test_disk_space", "test_disk_inodes") for p in ("/", str(tmp_path))}
    space_test = results[("test_disk_space", "/")]
    assert space_test["outcome"] == ("passed" if space < limit else "failed"), space_test
    comp = space_test["comparisons"][0]
    assert comp["key"] == "disk.max_used_percent" and comp["threshold"] == limit
    assert abs(comp["measured"] - space) < 0.5, (comp, space)
    inode_test = results[("test_disk_inodes", "/")]
    if inodes is None:
        assert inode_test["outcome"] == "skipped"
    else:
        assert inode_test["outcome"] == ("passed" if inodes < limit else "failed"), inode_test
        assert abs(inode_test["comparisons"][0]["measured"] - inodes) < 0.5
    evidence = space_test["evidence"][0]["data"]
    assert evidence["mount"] == "/" and evidence["size_bytes"] > 0 and evidence["error"] is None


def test_threshold_below_usage_and_nonexistent_path_fail(suite, tmp_path):
    """Limits of 0 % fail with measured value and threshold; a path that does not exist fails, never passes."""
    space, inodes = _statvfs("/")
    suite.config({"service": "disk-test", "root": str(tmp_path),
                  "disk": {"paths": ["/", "does/not/exist"], "max_used_percent": 0, "max_inodes_used_percent": 0}})
    result = suite.run("-m", "daily", CHECK, *FAST)
    assert result.ret == 1, result.stdout.str()
    results = _results(suite)

    space_test = results[("test_disk_space", "/")]
    assert space_test["outcome"] == "failed"
    message = space_test["message"]
    assert "space used on / is " in message and "disk.max_used_percent allows <= 0.0%" in message
    assert abs(_number_before(message, "%; disk.max_used_percent") - space) < 0.5, message

    missing = str(tmp_path / "does/not/exist")
    for name in ("test_disk_space", "test_disk_inodes"):
        test = results[(name, missing)]
        assert test["outcome"] == "failed", test
        assert f"cannot measure {missing}" in test["message"] and "No such file" in test["message"]

    inode_test = results[("test_disk_inodes", "/")]
    if inodes is None:
        assert inode_test["outcome"] == "skipped" and "no fixed inode table" in inode_test["message"]
        return
    assert inode_test["outcome"] == "failed"
    message = inode_test["message"]
    assert "inodes used on / is " in message and "disk.max_inodes_used_percent allows <= 0.0%" in message
    assert abs(_number_before(message, "%; disk.max_inodes_used_percent") - inodes) < 0.5, message


def test_no_disk_section_skips_with_reason(suite, tmp_path):
    suite.config({"service": "disk-test", "root": str(tmp_path)})
    suite.run("-m", "daily", CHECK, *FAST)
    tests = [t for t in suite.summary()["tests"] if "test_disk.py::" in t["id"]]
    assert len(tests) == 2 and all(t["outcome"] == "skipped" for t in tests)
    assert all(t["message"] == "no disk section in maintenance.yaml" for t in tests)


# --- reading df ----------------------------------------------------------------------------------------

def test_parse_device_and_mount_with_spaces():
    out = ("Filesystem     1024-blocks  Used Available Capacity Mounted on\n"
           "my usb disk 2 1000 250 750 25% /media/my data 2\n")
    assert parse_df(out) == ("my usb disk 2", 1000, 250, 750, "/media/my data 2")


def test_parse_dashes_and_garbage():
    out = "Filesystem Inodes IUsed IFree IUse% Mounted on\nfuse.sshfs 0 0 0 - /mnt/remote\n"
    assert parse_df(out) == ("fuse.sshfs", 0, 0, 0, "/mnt/remote")
    out = "Filesystem Inodes IUsed IFree IUse% Mounted on\nsnap - - - - /snap/x\n"
    assert parse_df(out) == ("snap", 0, 0, 0, "/snap/x")
    with pytest.raises(TargetError, match="cannot parse df output"):
        parse_df("df: something unexpected\n")


@dataclass
class _Result:
    rc: int
    stdout: str
    stderr: str = ""


class _CannedHost:
    """A host whose `df` answers are canned: for output shapes this machine cannot produce."""

    class backend:
        NAME = "local"

        @staticmethod
        def get_pytest_id() -> str:
            return "canned"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def run(self, command: str) -> _Result:
        flag = "-i" if " -i " in command else "-k"
        return _Result(0, self.answers[flag])


def test_disk_usage_through_a_device_name_with_spaces():
    host = _CannedHost({
        "-k": "Filesystem 1024-blocks Used Available Capacity Mounted on\n//nas/team share 1000 900 100 90% /mnt/team share\n",
        "-i": "Filesystem Inodes IUsed IFree IUse% Mounted on\n//nas/team share 0 0 0 - /mnt/team share\n",
    })
    usage = disk_usage(Target(host, 5), "/mnt/team share/x")
    assert usage.error is None
    assert (usage.filesystem, usage.mount, usage.used_percent) == ("//nas/team share", "/mnt/team share", 90.0)
    assert usage.inodes_used_percent is None  # no inode table: the inode check skips, saying why


def test_disk_usage_on_a_pseudo_filesystem_is_an_error_not_zero():
    host = _CannedHost({
        "-k": "Filesystem 1024-blocks Used Available Capacity Mounted on\nproc 0 0 0 - /proc\n",
        "-i": "Filesystem Inodes IUsed IFree IUse% Mounted on\nproc 0 0 0 - /proc\n",
    })
    usage = disk_usage(Target(host, 5), "/proc")
    assert usage.used_percent is None and "no space at all" in usage.error


def test_local_measurement_matches_statvfs(tmp_path):
    usage = disk_usage(Target(testinfra.get_host("local://"), 30), str(tmp_path))
    space, inodes = _statvfs(str(tmp_path))
    assert usage.error is None
    assert abs(usage.used_percent - space) < 0.5
    if inodes is not None:
        assert abs(usage.inodes_used_percent - inodes) < 0.5


def test_with_sample_adds_used_and_usable_by_mount_and_carries_a_size_history_over():
    usage = DiskUsage("/srv/x", mount="/srv", used_bytes=600, size_bytes=1100, available_bytes=400, inodes_used=10,
                      inodes_free=90)
    assert with_sample({}, {}, usage, 1000.0) == [[1000.0, 600.0, 1000.0, 10.0, 100.0]]
    kept = [[1.0, 500.0, 1000.0]]
    assert with_sample({"/srv": kept}, {"/srv": [[0.0, 1.0, 2.0]]}, usage, 7200.0)[0] == kept[0]  # saved wins
    legacy = {"/srv": [[1.0, 500.0, 1100.0]]}   # recorded with the size: the reserve (100) comes off
    assert with_sample({}, legacy, usage, 7200.0)[0] == [1.0, 500.0, 1000.0]
    failed = DiskUsage("/srv/x", error="df: no such file")
    assert with_sample({"/srv/x": kept}, {}, failed, 7200.0) == kept


def test_measure_and_record_saves_the_history_and_forecasts_from_it(tmp_path):
    state = StateStore(str(tmp_path / "state"), "local")
    recorded = measure_and_record(Target(testinfra.get_host("local://"), 30), state, str(tmp_path))
    mount = recorded.usage.mount
    assert recorded.usage.error is None and state.load("capacity") == {mount: recorded.history}
    assert len(recorded.history) == 1 and recorded.history[0][0] == recorded.now
    fc = recorded.forecast(30 * 86400.0)
    assert fc.mount == mount and fc.samples == 1 and fc.error.startswith(f"could not forecast {mount}")
    gone = measure_and_record(Target(testinfra.get_host("local://"), 30), state, str(tmp_path / "nowhere"))
    assert gone.usage.error and state.load("capacity") == {mount: recorded.history}   # an error records nothing


def test_the_forecast_evidence_leaves_the_samples_to_the_chart():
    fc = Forecast("/srv", samples=3, span_days=2.5, history=[[0.0, 1.0, 2.0]])
    shown = forecast_evidence(fc)
    assert "history" not in shown and shown["mount"] == "/srv" and shown["samples"] == 3
    chart = forecast_chart(fc)
    assert chart.function == "opsproof.charts.disk:disk_chart" and chart.args == (
        fc, "/srv: space used over 2.5 days of recorded history")
    assert chart.caption == "/srv: space used and its growth"
