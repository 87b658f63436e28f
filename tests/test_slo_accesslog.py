"""Access-log parsing: nginx combined + $request_time (offsets honoured), JSON lines, malformed lines counted."""
from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from opsproof.slo.accesslog import parse as accesslog
from opsproof.slo.accesslog.parse import LATENCY, Parser
from opsproof.slo.aggregates import latency_edges

EDGES = latency_edges([300])


def nginx(at: datetime, status: int = 200, seconds: float | None = 0.012, request: str = "GET / HTTP/1.1",
          agent: str = "curl/8.5.0", extra: str = "") -> str:
    stamp = at.strftime("%d/%b/%Y:%H:%M:%S %z")
    tail = "" if seconds is None else f" {seconds:.3f}"
    return f'192.168.10.20 - alice [{stamp}] "{request}" {status} 1234 "https://ref.example/" "{agent}"{tail}{extra}\n'


def counts(chunk) -> tuple[Counter, Counter]:
    """(minute, status) -> n and (minute, latency bin) -> n, from a chunk's sparse arrays."""
    status, latency = Counter(), Counter()
    for minute, code, count in zip(chunk.minute.tolist(), chunk.code.tolist(), chunk.count.tolist()):
        (status if code < LATENCY else latency)[(minute, code if code < LATENCY else code - LATENCY)] += count
    return status, latency


def expected(lines: list[tuple[datetime, int, float | None]]) -> tuple[Counter, Counter]:
    status, latency = Counter(), Counter()
    for at, code, seconds in lines:
        minute = int(at.timestamp() // 60)
        status[(minute, code)] += 1
        if seconds is not None:
            latency[(minute, int(np.searchsorted(EDGES, round(seconds * 1e6), side="left")))] += 1
    return status, latency


def test_time_offsets_are_honoured():
    east = datetime(2026, 3, 29, 1, 59, 30, tzinfo=timezone(timedelta(hours=2)))
    west = datetime(2026, 3, 28, 18, 29, 59, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))
    chunk = Parser("combined", EDGES).feed((nginx(east) + nginx(west)).encode())
    assert chunk.malformed == 0 and chunk.requests == 2
    # 01:59 at +02:00 is 23:59 UTC the day before; 18:29 at -05:30 is 23:59 UTC too: the same minute.
    assert chunk.minute.tolist() == [int(east.timestamp() // 60)] * 2
    assert east.astimezone(timezone.utc).strftime("%H:%M") == "23:59" == west.astimezone(timezone.utc).strftime("%H:%M")


def test_large_chunk_vectorised_matches_line_by_line_and_expected():
    rnd = random.Random(3)
    base = datetime(2026, 11, 2, 10, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    lines, made = [], []
    for k in range(6000):
        at = base + timedelta(seconds=k * 7)
        code = rnd.choice((200, 201, 304, 404, 429, 500, 502, 503))
        seconds = rnd.choice((0.0, 0.001, 0.299, 0.3, 0.301, 1.5, 12.25, 123.456))
        made.append((at, code, seconds))
        lines.append(nginx(at, code, seconds, agent=rnd.choice(("curl/8", 'Mozilla/5.0 (X11; \\x22quoted\\x22)'))))
    data = "".join(lines).encode()
    assert len(data) > accesslog.SMALL * 4
    fast = Parser("combined", EDGES).feed(data)
    slow = Parser("combined", EDGES)
    slow_chunk = accesslog.Chunk()
    parts: list = []
    slow.lines(data, slow_chunk, parts)
    slow_arrays = accesslog.reduce(*(np.concatenate([p[i] for p in parts]) for i in range(3)), EDGES)
    assert fast.requests == 6000 and fast.malformed == 0
    assert counts(fast) == expected(made)
    assert [a.tolist() for a in (fast.minute, fast.code, fast.count)] == [a.tolist() for a in slow_arrays]


def test_malformed_lines_are_counted_exactly_and_never_stop_the_run():
    base = datetime(2026, 11, 2, 10, 0, 0, tzinfo=timezone.utc)
    good = [nginx(base + timedelta(seconds=k)) for k in range(3000)]
    bad = ["garbage without quotes\n", '1.2.3.4 - - [99/Foo/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x" 0.001\n',
           '1.2.3.4 - - [02/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 2x0 1 "-" "x" 0.001\n',
           '1.2.3.4 - - [02/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x" fast\n',
           "\x00\x01\x02 binary\n", '{"time": "2026-11-02T10:00:00Z"}\n']
    for i, line in enumerate(bad):
        good.insert(400 * (i + 1), line)
    chunk = Parser("combined", EDGES).feed("".join(good).encode())
    assert chunk.malformed == len(bad)
    assert chunk.requests == 3000
    assert chunk.lines == 3000 + len(bad)
    assert "garbage without quotes" in chunk.samples


def test_request_time_absent_or_followed_by_more_fields():
    at = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
    lines = [nginx(at, seconds=None), nginx(at, seconds=0.25, extra=" 0.240 upstream-a"), nginx(at, seconds=0.5, extra=" -")]
    for data in ("".join(lines).encode(), ("".join(lines) * 2000).encode()):   # line by line, then vectorised
        chunk = Parser("combined", EDGES).feed(data)
        assert chunk.malformed == 0
        assert chunk.no_duration == chunk.requests // 3
        _, latency = counts(chunk)
        assert sum(latency.values()) == 2 * chunk.requests // 3


def test_json_lines_with_configured_field_names_units_and_times():
    epoch = int(datetime(2026, 11, 2, 8, 0, 30, tzinfo=timezone.utc).timestamp())
    lines = [
        {"ts": "2026-11-02T10:00:59+02:00", "http": {"status": 200}, "took_ms": 12},   # 08:00:59 UTC
        {"ts": "2026-11-02T08:00:30Z", "http": {"status": "503"}, "took_ms": 300},
        {"ts": epoch, "http": {"status": 200}, "took_ms": 301.5},                       # epoch seconds
        {"ts": epoch * 1000 + 123, "http": {"status": 404}},                            # epoch ms, no duration
        {"ts": "2026-11-02T08:00:10", "http": {"status": 200}, "took_ms": 1},           # no offset: UTC
        {"ts": "yesterday", "http": {"status": 200}, "took_ms": 1},
        {"ts": "2026-11-02T08:00:10Z", "http": {"status": True}, "took_ms": 1},
        {"ts": "2026-11-02T08:00:10Z", "http": {"status": 200}, "took_ms": "slow"},
    ]
    data = "\n".join(json.dumps(x) for x in lines) + "\nnot json at all\n"
    parser = Parser("json", EDGES, time_field="ts", status_field="http.status", duration_field="took_ms",
                    duration_unit="ms")
    chunk = parser.feed(data.encode())
    assert chunk.requests == 5 and chunk.malformed == 4 and chunk.no_duration == 1
    status, latency = counts(chunk)
    minute = epoch // 60
    assert status == Counter({(minute, 200): 3, (minute, 503): 1, (minute, 404): 1})
    threshold_bin = int(np.searchsorted(EDGES, 300_000))
    fast = sum(n for (_, b), n in latency.items() if b <= threshold_bin)
    assert fast == 3 and sum(latency.values()) == 4          # 12, 300 and 1 ms are <= 300 ms; 301.5 is not


def test_reduce_sums_equal_minutes_and_codes():
    minute = np.array([5, 5, 6, 5])
    status = np.array([200, 200, 500, 200])
    dur = np.array([1000, 2000, -1, 1000])
    m, c, n = accesslog.reduce(minute, status, dur, EDGES)
    table = dict(zip(zip(m.tolist(), c.tolist()), n.tolist()))
    assert table[(5, 200)] == 3 and table[(6, 500)] == 1
    assert sum(v for (mm, code), v in table.items() if code >= LATENCY) == 3   # -1: no duration, no latency entry


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_input_is_no_requests(text):
    chunk = Parser("combined", EDGES).feed(text.encode())
    assert chunk.requests == 0 and chunk.malformed == 0
