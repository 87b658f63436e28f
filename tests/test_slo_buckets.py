"""Access-log aggregates across runs: only new bytes read, every line counted once through rotations."""
from __future__ import annotations

import gzip
import os
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import testinfra

from opsproof.config import Objective
from opsproof.slo import status
from opsproof.slo.accesslog import buckets
from opsproof.hosts.target import Target

SETTINGS = {"format": "combined", "time_field": "time", "status_field": "status", "duration_field": "request_time",
            "duration_unit": "s"}
KEEP = 93 * 86400
AVAIL = Objective(name="availability", target=99.0, window="30d")
FAST = Objective(name="fast", sli="latency", threshold_ms=300, target=99.0, window="30d")
TZ = timezone(timedelta(hours=-4))


@pytest.fixture(scope="module")
def target() -> Target:
    return Target(testinfra.get_host("local://"), 30)


def lines(n: int, status: int = 200, ago_s: float = 600, seconds: float = 0.05) -> str:
    at = datetime.fromtimestamp(time.time() - ago_s, TZ).strftime("%d/%b/%Y:%H:%M:%S %z")
    return f'127.0.0.1 - - [{at}] "GET /x HTTP/1.1" {status} 10 "-" "t" {seconds:.3f}\n' * n


class Log:
    """A log file and the state kept between runs, as the fixture keeps it."""

    def __init__(self, directory: Path, target: Target, thresholds=(300,)) -> None:
        self.path = directory / "access.log"
        self.target, self.thresholds = target, list(thresholds)
        self.state: dict = {}
        self.settings = dict(SETTINGS)

    def write(self, text: str, name: str = "access.log", mode: str = "a") -> None:
        with open(self.path.parent / name, mode) as fh:
            fh.write(text)

    def run(self):
        agg, read, kept = buckets.update(self.target, str(self.path), self.settings, self.thresholds, self.state,
                                         time.time(), KEEP)
        assert read.error is None, read.error
        self.state = kept
        source = status.LogSource(agg, read)
        return read, status.evaluate(source, AVAIL, time.time()), source

    def totals(self) -> tuple[float, float]:
        _, st, _ = self.run()
        return st.good, st.total


def test_rerun_reads_only_new_bytes(tmp_path, target):
    log = Log(tmp_path, target)
    log.write(lines(100))
    first, st, _ = log.run()
    assert first.reference.startswith("first run") and first.requests == 100 and st.total == 100
    added = lines(3, status=500)
    log.write(added)
    second, st, _ = log.run()
    assert second.reference == "since the last run"
    assert second.bytes_read == len(added) and second.requests == 3
    assert (st.good, st.total) == (100, 103)
    third, st, _ = log.run()
    assert third.bytes_read == 0 and st.total == 103


def test_a_line_without_its_newline_waits_for_the_next_run(tmp_path, target):
    log = Log(tmp_path, target)
    whole = lines(1)
    log.write(lines(5) + whole[:30])
    assert log.totals() == (5, 5)
    log.write(whole[30:])
    assert log.totals() == (6, 6)


def test_rename_rotation_finishes_the_old_file_then_reads_the_new(tmp_path, target):
    log = Log(tmp_path, target)
    log.write(lines(10))
    log.run()
    log.write(lines(4, status=503))                 # written after the last run, before the rotation
    os.rename(log.path, tmp_path / "access.log.1")
    log.write(lines(6))
    read, st, _ = log.run()
    assert (st.good, st.total) == (16, 20), read.files
    assert any("access.log.1" in f for f in read.files)
    # logrotate compresses NAME.1 into NAME.2.gz one cycle later: nothing new in it, nothing counted twice.
    with open(tmp_path / "access.log.1", "rb") as src, gzip.open(tmp_path / "access.log.2.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.remove(tmp_path / "access.log.1")
    read, st, _ = log.run()
    assert (st.good, st.total) == (16, 20)
    read, st, _ = log.run()
    assert read.bytes_read == 0 and read.files == []     # a compressed file read to its end is not read again


def test_lines_written_before_compression_are_read_from_the_gz(tmp_path, target):
    log = Log(tmp_path, target)
    log.write(lines(10))
    log.run()
    log.write(lines(5, status=500))
    with open(log.path, "rb") as src, gzip.open(tmp_path / "access.log.1.gz", "wb") as dst:   # no delaycompress
        shutil.copyfileobj(src, dst)
    log.path.unlink()
    log.write(lines(2))
    assert log.totals() == (12, 17)


def test_copytruncate_keeps_every_line_once(tmp_path, target):
    log = Log(tmp_path, target)
    log.write(lines(8))
    log.run()
    log.write(lines(2, status=502))
    shutil.copy(log.path, tmp_path / "access.log.1")
    log.write(lines(3), mode="w")                        # truncated, then written again
    assert log.totals() == (11, 13)


def test_rotated_files_before_the_kept_period_are_skipped(tmp_path, target):
    log = Log(tmp_path, target)
    log.write(lines(7, ago_s=200 * 86400), name="access.log.3")
    old = time.time() - 200 * 86400
    os.utime(tmp_path / "access.log.3", (old, old))
    log.write(lines(2, status=500, ago_s=100 * 86400), name="access.log.2")   # recent file, lines too old to keep
    log.write(lines(5))
    read, st, _ = log.run()
    assert not any("access.log.3" in f for f in read.files)
    assert any("access.log.2" in f for f in read.files)
    assert (st.good, st.total) == (5, 5)


def test_unrelated_files_beside_the_log_are_not_read(tmp_path, target):
    log = Log(tmp_path, target)
    log.write(lines(5))
    log.write(lines(9, status=500), name="access.log.bak")
    log.write(lines(9, status=500), name="access.log-old.txt")
    assert log.totals() == (5, 5)


def test_incomplete_gzip_is_skipped_until_complete(tmp_path, target):
    log = Log(tmp_path, target)
    log.write(lines(3))
    data = gzip.compress(lines(50, status=500).encode())
    (tmp_path / "access.log.1.gz").write_bytes(data[: len(data) // 2])
    read, st, _ = log.run()
    assert (st.good, st.total) == (3, 3)
    assert any("skipped this run" in f for f in read.files)
    (tmp_path / "access.log.1.gz").write_bytes(data)
    assert log.totals() == (3, 53)


def test_changed_format_settings_or_new_threshold_read_everything_again(tmp_path, target):
    log = Log(tmp_path, target)
    log.write(lines(4))
    log.run()
    log.thresholds = [300, 120]
    read, st, _ = log.run()
    assert "new latency threshold" in read.reference and st.total == 4
    log.settings = dict(SETTINGS, format="json")
    read, st, _ = log.run()
    assert "format settings changed" in read.reference and read.malformed == 4 and st.total == 0
    assert st.error and "could not observe" in st.error


@pytest.mark.parametrize("damage", [{"count_kind": "<f16"}, {"count": "not base64 of zlib"}, {"minute": 7}])
def test_a_damaged_kept_state_reads_every_file_again_never_half_trusted(tmp_path, target, damage):
    """A kept state cut short or edited (an unknown count type, counts that do not decode) is read past with the
    reason, every file read again: the same totals as a first run, and no exception that would fail every check."""
    log = Log(tmp_path, target)
    log.write(lines(40) + lines(2, status=503))
    log.run()
    log.state = {**log.state, **damage}
    again, st, _ = log.run()
    assert again.reference.startswith("the kept state could not be read") and "every file read again" in again.reference
    assert (st.good, st.total) == (40, 42) and again.requests == 42


def test_missing_log_is_an_error_not_an_empty_pass(tmp_path, target):
    agg, read, kept = buckets.update(target, str(tmp_path / "access.log"), SETTINGS, [300], {"kept": 1}, time.time(), KEEP)
    assert read.error and "no such file" in read.error
    assert kept == {"kept": 1}


def test_current_minute_counts_and_old_minutes_are_summed_into_hours(tmp_path, target):
    log = Log(tmp_path, target)
    log.write(lines(3, ago_s=1))
    log.write(lines(2, status=500, ago_s=20 * 86400))
    read, st, source = log.run()
    assert (st.good, st.total) == (3, 5)
    assert all(m % 60 == 0 for m in source.agg.minute.tolist() if m < time.time() / 60 - 9 * 1440)
    week = status.evaluate(source, Objective(name="week", target=99, window="7d"), time.time())
    assert (week.good, week.total) == (3, 3)


def test_latency_threshold_is_inclusive(tmp_path, target):
    log = Log(tmp_path, target)
    log.write(lines(3, seconds=0.3) + lines(1, seconds=0.301) + lines(1, seconds=0.299))
    _, _, source = log.run()
    st = status.evaluate(source, FAST, time.time())
    assert (st.good, st.total) == (4, 5)


def test_lines_split_across_reads_and_pieces_count_once(tmp_path, target, monkeypatch):
    from opsproof.slo.accesslog import localread, parse as accesslog

    monkeypatch.setattr(buckets, "CHUNK", 997)                 # reads end mid-line, some lines span two reads
    monkeypatch.setattr(localread, "CHUNK", 997)
    monkeypatch.setattr(accesslog, "PIECE", accesslog.SMALL + 4099)
    log = Log(tmp_path, target)
    long_agent = lines(1).replace('"t"', '"' + "A" * 3000 + '"')   # one line longer than a read
    log.write(lines(3000) + long_agent + lines(700, status=503) + lines(1000, ago_s=30))
    read, st, _ = log.run()
    assert read.malformed == 0 and (st.good, st.total) == (4001, 4701)
    assert read.bytes_read == log.path.stat().st_size


def test_a_symlinked_log_is_read(tmp_path, target):
    real = tmp_path / "real"
    real.mkdir()
    (real / "access-2026.log").write_text(lines(4))
    (tmp_path / "access.log").symlink_to(real / "access-2026.log")
    assert Log(tmp_path, target).totals() == (4, 4)


@pytest.mark.parametrize("size", [0, 1, 7, 5000])
def test_unique_inverse_is_numpys_unique_with_inverse(size):
    import numpy as np

    from opsproof.slo.accesslog.parse import unique_inverse

    values = np.random.default_rng(size).integers(-40, 40, size)
    found, inverse = unique_inverse(values)
    expected, expected_inverse = np.unique(values, return_inverse=True)
    assert found.tolist() == expected.tolist() and inverse.tolist() == expected_inverse.ravel().tolist()
    assert values.tolist() == found[inverse].tolist()


def _read_in_a_fresh_python(log, objective: str, checked: str, printed: str) -> str:
    """Read `log` and evaluate `objective` (Python text) in a python3 of its own, as bench_slo times it; assert
    `checked` there and return what `printed` prints."""
    import subprocess
    import sys

    probe = ("import sys, time, testinfra\n"
             "from dataclasses import dataclass\n"
             "from datetime import timedelta\n"
             "from opsproof.hosts.target import Target\n"
             "from opsproof.slo import status\n"
             "from opsproof.slo.accesslog import buckets\n"
             f"agg, read, kept = buckets.update(Target(testinfra.get_host('local://'), 30), {str(log)!r}, {SETTINGS!r}, "
             f"[300], {{}}, time.time(), {KEEP})\n"
             f"got = status.evaluate(status.LogSource(agg, read), {objective}, time.time())\n"
             f"assert {checked}, (read.error, read.requests, got)\n"
             f"print({printed})\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_an_slo_read_does_not_import_numpy_ma(tmp_path):
    """np.unique's first call imports numpy.ma, some 25 ms: most of a re-run's cost after 1 % appended. The read
    (sparse minutes, so merge takes its sorting path) and the evaluation must not need it."""
    log = tmp_path / "access.log"
    log.write_text(lines(50, ago_s=600) + lines(5, 503, ago_s=80 * 86400) + lines(50, ago_s=30))
    objective = "__import__('opsproof.config', fromlist=['Objective']).Objective(name='a', target=99.0, window='90d')"
    assert _read_in_a_fresh_python(log, objective, "read.error is None and read.requests == 105",
                                   "'numpy.ma' in sys.modules") == "False"


def test_an_slo_read_imports_neither_the_config_nor_pydantic(tmp_path):
    """A read and its evaluation in a python3 of their own (as bench_slo times them): the config package and pydantic
    (some 100 ms of start-up) stay out; status names alerts through alerts.py, which names the config's Objective only
    as a type."""
    log = tmp_path / "access.log"
    log.write_text(lines(50, ago_s=600) + lines(5, 503, ago_s=30))
    objective = ("dataclass(frozen=True)(type('O', (), {'__annotations__': {'name': str, 'target': float, 'sli': str, "
                 "'threshold_ms': object, 'bad_status': tuple, 'total_query': object, 'window': timedelta}, "
                 "'name': 'a', 'target': 99.0, 'sli': 'availability', 'threshold_ms': None, 'bad_status': (), "
                 "'total_query': None, 'window': timedelta(days=30)}))()")
    printed = "sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'yaml') or m.startswith('opsproof.config'))"
    assert _read_in_a_fresh_python(log, objective, "read.error is None and got.total == 55 and got.bad == 5",
                                   printed) == "[]"
