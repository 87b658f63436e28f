"""A local log read in line-aligned ranges, the others parsed by forked children: the same counts as one read."""
from __future__ import annotations

import os
import random
from datetime import datetime, timedelta, timezone

import pytest

from opsproof.slo.accesslog import localread
from opsproof.slo.accesslog.parse import Parser
from opsproof.slo.aggregates import latency_edges

EDGES = latency_edges([300])


def write_log(path, n: int, seed: int, tail: str = "") -> bytes:
    rnd = random.Random(seed)
    base = datetime(2026, 11, 2, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    rows = []
    for k in range(n):
        at = (base + timedelta(seconds=k)).strftime("%d/%b/%Y:%H:%M:%S %z")
        agent = "A" * rnd.choice((5, 5, 5, 9000))                      # a few lines longer than a read
        rows.append(f'10.0.0.{k % 200} - - [{at}] "GET /{k} HTTP/1.1" {rnd.choice((200, 404, 503))} 5 "-" "{agent}" '
                    f'{rnd.choice(("0.012", "0.301", "2.500"))}\n')
        if k % 1500 == 0:
            rows.append("not a log line\n")
    data = ("".join(rows) + tail).encode()
    path.write_bytes(data)
    return data


def summary(chunks) -> tuple:
    one = Parser("combined", EDGES).combine(chunks)
    return (one.minute.tolist(), one.code.tolist(), one.count.tolist(), one.lines, one.requests, one.malformed,
            one.no_duration, one.samples)


@pytest.fixture
def small_reads(monkeypatch):
    monkeypatch.setattr(localread, "CHUNK", 4096)               # many reads; lines cross them; some exceed them
    monkeypatch.setattr(localread, "SPLIT_MIN", 1)


@pytest.mark.parametrize("parts", [2, 3, 4])
def test_ranges_in_children_count_as_one_read(tmp_path, small_reads, monkeypatch, parts):
    path = tmp_path / "access.log"
    data = write_log(path, 6000, parts, tail='10.0.0.1 - - [02/Nov/2026:12:00:00 +0200] "GET')   # unfinished
    alone, used_alone = localread.scan(str(path), 0, len(data), Parser("combined", EDGES))
    monkeypatch.setattr(localread, "workers", lambda: parts)
    cuts = localread.boundaries(str(path), 0, len(data), parts)
    assert len(cuts) == parts + 1 and all(data[c - 1:c] == b"\n" for c in cuts[1:-1])
    chunks, used = localread.read(str(path), 0, len(data), Parser("combined", EDGES))
    assert len(chunks) == parts
    assert used == used_alone == data.rfind(b"\n") + 1              # the unfinished line waits
    assert summary(chunks) == summary([alone])
    assert summary([alone])[5] == 4 and summary([alone])[4] == 6000


def test_from_an_offset_and_when_children_fail(tmp_path, small_reads, monkeypatch):
    """A child that cannot start, or that fails, is replaced by reading its range here."""
    path = tmp_path / "access.log"
    data = write_log(path, 5000, 1)
    start = data.index(b"\n", len(data) // 3) + 1
    expected = summary([localread.scan(str(path), start, len(data), Parser("combined", EDGES))[0]])
    monkeypatch.setattr(localread, "workers", lambda: 3)
    parent = os.getpid()

    class FailsInChildren(Parser):
        def feed(self, buf, lo=0, hi=None):
            if os.getpid() != parent:
                raise RuntimeError("a child fails")
            return super().feed(buf, lo, hi)

    chunks, used = localread.read(str(path), start, len(data), FailsInChildren("combined", EDGES))
    assert (summary(chunks), used) == (expected, len(data) - start)
    monkeypatch.setattr(localread, "_fork", lambda work: None)
    chunks, used = localread.read(str(path), start, len(data), Parser("combined", EDGES))
    assert (summary(chunks), used) == (expected, len(data) - start)


def test_a_file_with_no_newline_after_a_cut_is_one_range(tmp_path, small_reads, monkeypatch):
    path = tmp_path / "access.log"
    path.write_bytes(b"x" * 10000)
    monkeypatch.setattr(localread, "workers", lambda: 4)
    assert localread.boundaries(str(path), 0, 10000, 4) == [0, 10000]
    chunks, used = localread.read(str(path), 0, 10000, Parser("combined", EDGES))
    assert used == 0 and summary(chunks)[3] == 0


def test_buffers_as_mappings_read_the_same_as_bytearrays(tmp_path, small_reads, monkeypatch):
    """localread.buffer's mappings (2 MB pages for a real read; here pages of 4 KB, so that reads and long lines cross
    them) serve every use a bytearray did: the unfinished line moved to the front, a line longer than the buffer."""
    path = tmp_path / "access.log"
    data = write_log(path, 3000, 7, tail='10.0.0.1 - - [02/Nov/2026:12:00:00 +0200] "GET')
    plain, used_plain = localread.scan(str(path), 0, len(data), Parser("combined", EDGES))
    made = []
    real = localread.buffer
    monkeypatch.setattr(localread, "HUGE_MIN", 1)
    monkeypatch.setattr(localread, "HUGE_PAGE", 4096)
    monkeypatch.setattr(localread, "buffer", lambda size: made.append(real(size)) or made[-1])
    mapped, used_mapped = localread.scan(str(path), 0, len(data), Parser("combined", EDGES))
    assert made and all(type(b).__name__ == "mmap" for b in made) and len(made) > 1      # grown for a long line
    assert used_mapped == used_plain == data.rfind(b"\n") + 1
    assert summary([mapped]) == summary([plain]) and summary([plain])[4] == 3000
