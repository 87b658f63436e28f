"""The kept per-minute aggregates: a re-run's add and compact by position give what summing everything again gave,
and the state keeps its counts in the narrowest type while a state written before that still reads the same."""
from __future__ import annotations

import json
import mmap
import time

import numpy as np
import pytest

from opsproof.slo import aggregates
from opsproof.slo.accesslog import localread
from opsproof.slo.accesslog.parse import Chunk, merge
from opsproof.slo.aggregates import FINE_S, Aggregates, latency_edges

EDGES = latency_edges([300])
NOW_S = 1_800_000_000.0


def reference_add_compact(agg: Aggregates, chunks: list[Chunk], now_s: float, keep_s: float) -> tuple:
    """What add + compact computed before they worked by position: every entry summed again, twice."""
    minute = np.concatenate([agg.minute] + [c.minute for c in chunks])
    code = np.concatenate([agg.code] + [c.code for c in chunks])
    count = np.concatenate([agg.count] + [c.count for c in chunks])
    minute, code, count = merge(minute, code, count)
    now_min = int(now_s // 60)
    keep = minute >= now_min - int(keep_s // 60)
    minute = minute[keep]
    minute = np.where(minute < now_min - FINE_S // 60, minute - minute % 60, minute)
    return tuple(a.tolist() for a in merge(minute, code[keep], count[keep]))


def random_entries(rng, minutes: np.ndarray, per_minute: int) -> tuple:
    minute = np.repeat(minutes, per_minute)
    code = rng.integers(0, 1200, len(minute))
    return merge(minute, code, rng.integers(1, 500, len(minute)))


def chunk(minute, code, count) -> Chunk:
    return Chunk(np.asarray(minute, np.int64), np.asarray(code, np.int64), np.asarray(count, np.int64))


@pytest.mark.parametrize("case", ["appended", "overlapping", "crossing-hours", "dropping", "unsorted-kept", "empty-kept"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_add_and_compact_by_position_equal_summing_everything_again(case, seed):
    rng = np.random.default_rng(seed)
    now_min = int(NOW_S // 60)
    keep_s = 93 * 86400
    fine_from = now_min - FINE_S // 60
    if case == "crossing-hours":      # minutes just before and after the fine boundary, with hours already summed
        kept_minutes = np.concatenate([np.arange(fine_from - 3000, fine_from - 200, 60),
                                       np.arange(fine_from - 200, fine_from + 300, 7)])
    elif case == "dropping":          # a stretch older than the kept period, minutes and hours
        kept_minutes = np.concatenate([np.arange(now_min - 95 * 1440, now_min - 92 * 1440, 13),
                                       np.arange(now_min - 3000, now_min - 100, 11)])
    else:
        kept_minutes = np.arange(now_min - 3000, now_min - 100, 3)
    kept = Aggregates(EDGES) if case == "empty-kept" else Aggregates(EDGES, *random_entries(rng, kept_minutes, 4))
    if case == "unsorted-kept":       # a state not in merge's order is summed again, never trusted
        order = rng.permutation(len(kept.minute))
        kept = Aggregates(EDGES, kept.minute[order], kept.code[order], kept.count[order])
    if case in ("overlapping", "crossing-hours", "dropping"):
        new_minutes = rng.choice(kept_minutes, 40)
    else:
        new_minutes = np.arange(now_min - 99, now_min + 1, 2)
    chunks = [chunk(*random_entries(rng, np.unique(new_minutes), 3)) for _ in range(2)] + [Chunk()]
    expected = reference_add_compact(kept, chunks, NOW_S, keep_s)
    kept.add(chunks)
    kept.compact(NOW_S, keep_s)
    assert (kept.minute.tolist(), kept.code.tolist(), kept.count.tolist()) == expected
    assert kept.minute.dtype == kept.code.dtype == kept.count.dtype == np.int64


@pytest.mark.parametrize("top, kind", [(7, "<u2"), (65535, "<u2"), (65536, "<u4"), (1 << 40, "<i8")])
def test_the_state_keeps_counts_in_the_narrowest_type(top, kind):
    agg = Aggregates(EDGES, np.array([10, 10, 11], np.int64), np.array([200, 1003, 500], np.int64),
                     np.array([1, top, 3], np.int64))
    state = json.loads(json.dumps(agg.to_state()))
    assert state["count_kind"] == kind
    back = Aggregates.from_state(state)
    assert back.count.tolist() == [1, top, 3] and back.count.dtype == np.int64
    assert back.minute.tolist() == [10, 10, 11] and back.code.tolist() == [200, 1003, 500]


def test_a_state_written_before_count_kind_reads_the_same():
    """Version 2 states hold 8-byte counts and no count_kind: they are read, not thrown away."""
    agg = Aggregates(EDGES, np.array([5, 6], np.int64), np.array([200, 1010], np.int64), np.array([3, 70000], np.int64))
    old = {"edges": aggregates._pack(EDGES, "<i8"), "minute": aggregates._pack(agg.minute, "<i4"),
           "code": aggregates._pack(agg.code, "<i2"), "count": aggregates._pack(agg.count, "<i8")}
    back = Aggregates.from_state(old)
    assert back.count.tolist() == [3, 70000] and back.minute.tolist() == [5, 6] and back.code.tolist() == [200, 1010]
    with pytest.raises(ValueError):
        Aggregates.from_state({**old, "count_kind": "<f4"})


@pytest.mark.skipif(not hasattr(mmap, "MADV_HUGEPAGE"), reason="no MADV_HUGEPAGE here")
def test_large_read_buffers_are_whole_2_mb_mappings():
    """A re-run's few MB in a fresh process: its buffer is one mapping of whole 2 MB pages (a few page faults), not
    a bytearray (one page fault per 4 KB, which cost more than the reading on this machine's virtual CPUs)."""
    buf = localread.buffer(2_686_237)
    assert isinstance(buf, mmap.mmap) and len(buf) == 4 << 20 and buf[:8] == bytes(8)
    assert isinstance(localread.buffer(4096), bytearray)


def test_the_rerun_appends_without_summing_the_kept_minutes_again(monkeypatch):
    """Minutes after the kept ones are appended: merge (the whole period summed again) is not called on them."""
    now_min = int(NOW_S // 60)
    kept = Aggregates(EDGES, *random_entries(np.random.default_rng(4), np.arange(now_min - 5000, now_min - 10), 5))
    sizes = []
    real = aggregates.merge
    monkeypatch.setattr(aggregates, "merge", lambda *a: sizes.append(len(a[0])) or real(*a))
    kept.add([chunk([now_min - 5, now_min - 5, now_min - 4], [200, 1003, 200], [1, 1, 2])])
    kept.compact(NOW_S, 93 * 86400)
    assert sizes == [3] and kept.minute[-3:].tolist() == [now_min - 5, now_min - 5, now_min - 4]


def test_rerun_state_round_trip_is_unchanged_by_a_second_compact():
    now_min = int(time.time() // 60)
    agg = Aggregates(EDGES, *random_entries(np.random.default_rng(5), np.arange(now_min - 20000, now_min), 2))
    agg.compact(time.time(), 93 * 86400)
    once = (agg.minute.tolist(), agg.code.tolist(), agg.count.tolist())
    again = Aggregates.from_state(agg.to_state())
    again.compact(time.time(), 93 * 86400)
    assert (again.minute.tolist(), again.code.tolist(), again.count.tolist()) == once
