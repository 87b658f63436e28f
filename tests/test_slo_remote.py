"""Access-log SLOs where the log is: the standard-library reducer shipped to the target agrees exactly with the
numpy path, and over a real sshd on 127.0.0.1 only counts travel back, never the log."""
from __future__ import annotations

import gzip
import json
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import testinfra

from opsproof.hosts import ship as shipped
from opsproof.hosts.target import Target
from opsproof.slo.accesslog import buckets, reducer
from opsproof.slo.aggregates import latency_edges
from helpers.sshd import ALIAS

SETTINGS = {"format": "combined", "time_field": "time", "status_field": "status", "duration_field": "request_time",
            "duration_unit": "s"}
JSON = {"format": "json", "time_field": "ts", "status_field": "http.status", "duration_field": "took_ms",
        "duration_unit": "ms"}
KEEP = 93 * 86400
NOW = time.time()        # one "now" for every run a test compares: the kept period's edges are the same


@pytest.fixture(scope="module")
def local() -> Target:
    return Target(testinfra.get_host("local://"), 60)


def combined(n: int, seed: int, ago_s: float = 3 * 3600, odd: bool = True) -> str:
    """n nginx lines over the last `ago_s` seconds in two time zones; with `odd`, some lines the fast path refuses."""
    rnd = random.Random(seed)
    out = []
    for k in range(n):
        tz = timezone(timedelta(hours=rnd.choice((2, -5))))
        at = datetime.fromtimestamp(time.time() - ago_s + k * ago_s / n, tz).strftime("%d/%b/%Y:%H:%M:%S %z")
        status = rnd.choice((200, 200, 200, 204, 304, 404, 429, 499, 500, 502, 503))
        took = rnd.choice(("0.001", "0.012", "0.299", "0.300", "0.301", "1.500", "12.250", "123.456", "-", ""))
        agent = rnd.choice(("curl/8.5.0", 'Mozilla/5.0 (X11; \\"quoted\\")'))
        out.append(f'10.0.{k % 250}.{k % 7} - - [{at}] "GET /i/{k} HTTP/1.1" {status} {k % 9000} "-" "{agent}"'
                   f'{" " + took if took else ""}\n')
        if odd and k % 997 == 0:
            out.append(rnd.choice(("garbage\n", f'1.2.3.4 - - [{at}] "GET / HTTP/1.1" 2x0 1 "-" "x" 0.1\n',
                                   f'1.2.3.4 - - [{at}] "GET / HTTP/1.1" 200 1 "-" "x" fast\n', "\n")))
    return "".join(out)


def json_lines(n: int, seed: int) -> str:
    rnd = random.Random(seed)
    base = time.time() - 7200
    rows = [json.dumps({"ts": rnd.choice((base + k, (base + k) * 1000,
                                           datetime.fromtimestamp(base + k, timezone.utc).isoformat())),
                        "http": {"status": rnd.choice((200, "503", 404, True))},
                        **({"took_ms": rnd.choice((1, 299.5, 300, "slow"))} if k % 5 else {})}) for k in range(n)]
    return "\n".join(rows + ["not json"]) + "\n"


def rotated(folder: Path, seed: int) -> Path:
    """access.log, access.log.1 and a complete access.log.2.gz with lines of the last three hours, and
    access.log.3.gz over the last 120 days: minutes past the kept period dropped, those past a week summed."""
    log = folder / "access.log"
    (folder / "access.log.3.gz").write_bytes(gzip.compress(combined(3000, seed + 4, ago_s=120 * 86400).encode()))
    (folder / "access.log.2.gz").write_bytes(gzip.compress(combined(3000, seed + 2).encode())
                                             + gzip.compress(combined(500, seed + 3).encode()))   # two members
    (folder / "access.log.1").write_text(combined(4000, seed + 1))
    log.write_text(combined(9000, seed) + '10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200')
    return log


def update(target: Target, log: Path, state: dict, settings=SETTINGS, ship: bool = False):
    agg, read, kept = buckets.update(target, str(log), settings, [300, 120], state, NOW, KEEP, ship=ship)
    assert read.error is None, read.error
    return agg, read, kept


def same(a, b) -> None:
    """Two runs' aggregates, line accounting and kept offsets are equal."""
    (agg_a, read_a, kept_a), (agg_b, read_b, kept_b) = a, b
    for key in ("minute", "code", "count", "edges_us"):
        assert getattr(agg_a, key).tolist() == getattr(agg_b, key).tolist(), key
    for key in ("bytes_read", "lines", "requests", "malformed", "without_duration", "malformed_samples", "files"):
        assert getattr(read_a, key) == getattr(read_b, key), key
    assert kept_a["files"] == kept_b["files"]


def test_the_reducer_ships_alone_and_needs_only_the_standard_library():
    assert shipped.modules("opsproof.slo.accesslog.reducer") == [
        "opsproof", "opsproof.slo", "opsproof.slo.accesslog", "opsproof.slo.accesslog.lines",
        "opsproof.slo.accesslog.localread", "opsproof.slo.accesslog.reducer"]


def test_shipped_reducer_agrees_exactly_with_the_numpy_path(tmp_path, local, monkeypatch):
    """Plain, rotated and two-member gzip files, odd lines, a trailing partial line, then an append: equal counts."""
    monkeypatch.setattr(reducer, "BLOCK", 64 * 1024)            # lines split across the reducer's reads
    log = rotated(tmp_path, 5)
    here, there = update(local, log, {}), update(local, log, {}, ship=True)
    same(here, there)
    assert here[1].malformed > 0 and here[1].without_duration > 0 and len(here[0].minute) > 100
    with log.open("a") as fh:
        fh.write("\n" + combined(2500, 9))
    same(update(local, log, here[2]), update(local, log, there[2], ship=True))


def test_json_lines_agree_too(tmp_path, local):
    log = tmp_path / "access.log"
    log.write_text(json_lines(3000, 4))
    here, there = update(local, log, {}, JSON), update(local, log, {}, JSON, ship=True)
    same(here, there)
    assert here[1].malformed > 0 and here[1].requests > 1000


def test_an_incomplete_gzip_is_skipped_there_as_here(tmp_path, local):
    log = tmp_path / "access.log"
    log.write_text(combined(50, 1))
    data = gzip.compress(combined(800, 2).encode())
    (tmp_path / "access.log.1.gz").write_bytes(data[: len(data) // 2])
    here, there = update(local, log, {}), update(local, log, {}, ship=True)
    same(here, there)
    assert any("skipped this run" in f for f in there[1].files)


@pytest.mark.parametrize("cores", [1, 3])
def test_a_call_stopped_by_its_deadline_is_continued_from_its_offset(tmp_path, monkeypatch, cores):
    """Each call past its deadline reads a block (per range) and says where it stopped; the calls add up to one
    full read, which is the same cut into ranges reduced by forked children."""
    monkeypatch.setattr(reducer, "BLOCK", 8 * 1024)
    monkeypatch.setattr(reducer, "SPLIT_MIN", 1)
    monkeypatch.setattr(reducer, "workers", lambda: cores)
    for name in ("access.log", "access.log.1.gz"):
        path = tmp_path / name
        text = combined(3000, 8).encode()
        path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
        edges = latency_edges([300]).tolist()
        args = {"path": str(path), "size": path.stat().st_size, "settings": {"fmt": "combined"}, "edges_us": edges}
        whole = reducer.reduce_file(start=0, **args)
        monkeypatch.setattr(reducer, "workers", lambda: 1)
        assert whole == reducer.reduce_file(start=0, **args)
        monkeypatch.setattr(reducer, "workers", lambda: cores)
        offset, calls, counts, requests = 0, 0, {}, 0
        while True:
            part = reducer.reduce_file(start=offset, deadline=0.0, **args)
            calls += 1
            for m, c, n in zip(*reducer.decode(part.counts)):
                counts[(m, c)] = counts.get((m, c), 0) + n
            requests += part.requests
            offset = part.offset
            if part.finished:
                break
            assert text[offset - 1:offset] == b"\n"            # stopped at a line boundary
        assert calls > 4 and whole.finished and offset == whole.offset == len(text)
        assert counts == dict(((m, c), n) for m, c, n in zip(*reducer.decode(whole.counts)))
        assert requests == whole.requests


@pytest.mark.parametrize("backend", ["ssh", "paramiko"])
def test_over_ssh_only_counts_travel_and_they_match_a_local_read(sshd, tmp_path, local, backend, monkeypatch):
    """A real sshd: the remote run equals the local one; what comes back is a small fraction of the log."""
    log = rotated(tmp_path, 11)
    with log.open("a") as fh:
        fh.write("\n" + combined(30000, 12, odd=False))
    host = testinfra.get_host(f"{backend}://{ALIAS}", ssh_config=str(sshd.ssh_config))
    moved = {"sent": 0, "received": 0, "dd": 0}
    real_run = host.run

    def spy(command, *args, **kwargs):
        result = real_run(command, *args, **kwargs)
        moved["sent"] += len(command)
        moved["received"] += len(result.stdout_bytes) + len(result.stderr_bytes)
        moved["dd"] += len(result.stdout_bytes) if "dd if=" in command else 0
        return result

    monkeypatch.setattr(host, "run", spy)
    remote = Target(host, 60)
    assert not remote.is_local
    there = update(remote, log, {})
    same(update(local, log, {}), there)
    logs = sum(p.stat().st_size for p in tmp_path.glob("access.log*"))
    assert moved["dd"] == 0   # the heads of the three files travel with their listing (accesslog/files.py), no body
    assert moved["received"] < logs / 10, (moved, logs)
    added = combined(100, 13, odd=False)
    with log.open("a") as fh:
        fh.write(added)
    before = dict(moved)
    again = update(remote, log, there[2])
    assert again[1].bytes_read == len(added)
    assert np.array_equal(again[0].count, update(local, log, there[2])[0].count)
    print(f"\n{backend}: {logs} bytes of logs; first run received {before['received']} bytes and sent "
          f"{before['sent']}; the re-run received {moved['received'] - before['received']}")


def test_a_remote_target_without_python3_is_an_error_not_a_pass(sshd, tmp_path, monkeypatch):
    log = tmp_path / "access.log"
    log.write_text(combined(20, 3))
    monkeypatch.setattr(shipped, "PYTHON", "opsproof-no-such-python3")
    remote = Target(testinfra.get_host(f"ssh://{ALIAS}", ssh_config=str(sshd.ssh_config)), 30)
    agg, read, kept = buckets.update(remote, str(log), SETTINGS, [300], {"kept": 1}, time.time(), KEEP)
    assert read.error and "opsproof-no-such-python3 is not installed" in read.error, read.error
    assert kept == {"kept": 1} and len(agg.minute) == 0


def test_the_target_compacts_as_the_aggregates_do(tmp_path):
    """Sent back: no minute before the kept period, hours before the last week; the numbers are unchanged."""
    path = tmp_path / "access.log"
    path.write_text(combined(6000, 21, ago_s=120 * 86400))
    now_min = int(time.time() // 60)
    keep_from, hours_before = now_min - KEEP // 60, now_min - 8 * 1440
    args = {"path": str(path), "size": path.stat().st_size, "start": 0, "settings": {"fmt": "combined"},
            "edges_us": latency_edges([300]).tolist()}
    full = list(zip(*reducer.decode(reducer.reduce_file(**args).counts)))
    kept = list(zip(*reducer.decode(reducer.reduce_file(keep_from=keep_from, hours_before=hours_before,
                                                         **args).counts)))
    assert len(kept) < 0.8 * len(full)
    assert all(m >= keep_from and (m >= hours_before or m % 60 == 0 or m - m % 60 < keep_from) for m, _, _ in kept)
    assert sum(n for m, _, n in kept) == sum(n for m, _, n in full if m >= keep_from)
