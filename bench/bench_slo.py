"""Benchmark: SLOs over an nginx access log with opsproof vs `mawk` counting 5xx on the same file, in the same run.

    python bench/bench_slo.py                    # a 1 GiB log (about 8 million requests over a day), then deleted
    python bench/bench_slo.py --size-mb 512      # the size bench/run.py uses

opsproof does more than mawk: it parses every line's time (with its offset), status and $request_time,
keeps per-minute counts and a latency histogram, and evaluates two objectives (availability and
latency <= 300 ms over 30 days). mawk only counts lines whose 9th field starts with 5. Both are timed
as whole processes (bench/common.measure: the interpreter's start-up and imports included), on a warm
page cache, alternately, `--repeat` times (the fastest run counts). The objectives are plain records:
the pydantic config is what `pytest` loads once for every check, and bench/run.py's start-up row times it.
Then 1 % more lines are appended and the incremental re-run (from the state the first run kept) is
timed inside its process against the full run's time inside its process: it should cost about 1 %.

The timed child imports what the SLO read imports and no more: this harness's own modules (argparse, random,
subprocess, bench/common) are imported where the harness uses them; the child keeps its state through the state
store (opsproof.hosts.state), which loads neither pydantic nor yaml (tests/test_architecture.py).
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, ROOT]
MB = 1024 * 1024                       # as bench/common.MB (imported where the harness needs more of it)

AWK_PROGRAM = '$9 ~ /^5/ {n++} END {print n+0}'
SETTINGS = {"format": "combined", "time_field": "time", "status_field": "status", "duration_field": "request_time",
            "duration_unit": "s"}


def _bodies(n: int, seed: int) -> list[tuple[str, str]]:
    """(client, rest-of-line after the time) pairs: varied requests, ~1% 5xx, durations 1 ms..2 s."""
    import random

    rnd = random.Random(seed)
    paths = ["/", "/health", "/api/v1/orders?page=2", "/api/v1/items/8812", "/static/app.3f2a.js", "/login"]
    agents = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
              "curl/8.5.0", "python-requests/2.31.0", "Go-http-client/1.1"]
    statuses = [200] * 90 + [201, 204, 301, 304, 304, 400, 404, 404, 429] + [500]
    out = []
    for _ in range(n):
        status = rnd.choice(statuses) if rnd.random() > 0.003 else rnd.choice((502, 503))
        out.append((f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)} - -",
                    f'"GET {rnd.choice(paths)} HTTP/1.1" {status} {rnd.randrange(200, 90000)} "-" '
                    f'"{rnd.choice(agents)}" {min(rnd.expovariate(25), 2.0):.3f}\n'))
    return out


def make_log(path: str, size_mb: float, start: float, seconds: float, seed: int = 7, mode: str = "w") -> int:
    """About size_mb of lines whose times run from `start` over `seconds`, in local time at +02:00."""
    from datetime import datetime, timezone

    bodies = _bodies(50_000, seed)
    target = int(size_mb * MB)
    per_second = max(1, int(target / 105 / seconds))
    tz = timezone(timedelta(hours=2))
    written, k, second = 0, 0, 0
    with open(path, mode) as fh:
        while written < target:
            stamp = datetime.fromtimestamp(start + second * seconds / (target / 105 / per_second), tz)
            prefix = stamp.strftime(" [%d/%b/%Y:%H:%M:%S %z] ")
            block = "".join(c + prefix + rest for c, rest in (bodies[(k + i) % len(bodies)] for i in range(per_second)))
            fh.write(block)
            written += len(block)
            k += per_second
            second += 1
    return written


@dataclass(frozen=True)
class _Objective:
    """What status.evaluate reads of an objective (the config's Objective carries the same fields)."""

    name: str
    target: float
    window_s: float
    sli: str = "availability"
    threshold_ms: Optional[float] = None
    bad_status: tuple = ()
    total_query: Optional[str] = None
    description: str = ""

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_s)


def _child(path: str, state_in: str, state_out: str) -> None:
    """In a fresh process: bring the aggregates up to date and evaluate two objectives; print JSON."""
    started, cpu = time.perf_counter(), time.process_time()
    import testinfra

    from opsproof.hosts.state import StateStore
    from opsproof.hosts.target import Target
    from opsproof.slo import status
    from opsproof.slo.accesslog import buckets

    imports_s = time.perf_counter() - started
    target = Target(testinfra.get_host("local://"), 3600)
    objectives = [_Objective("availability", 99.0, 30 * 86400), _Objective("fast", 95.0, 30 * 86400, "latency", 300)]
    work = time.perf_counter()
    previous = StateStore(state_in, "local").load("slo") if state_in != "-" else {}   # as the fixture keeps it
    state_s = time.perf_counter() - work
    agg, read, kept = buckets.update(target, path, SETTINGS, [300], previous, time.time(), 93 * 86400)
    source = status.LogSource(agg, read)
    results = [status.evaluate(source, o, time.time()) for o in objectives]
    mark = time.perf_counter()
    StateStore(state_out, "local").save("slo", kept)
    state_s += time.perf_counter() - mark
    five = int(agg.count[(agg.code >= 500) & (agg.code <= 599)].sum())
    print(json.dumps({"seconds": time.perf_counter() - work, "imports_s": imports_s, "cpu": time.process_time() - cpu,
                      "state_s": state_s, "bytes_read": read.bytes_read, "requests": read.requests,
                      "malformed": read.malformed, "five_xx": five, "error": read.error,
                      "sli": [r.sli_percent for r in results], "reference": read.reference}))


def _opsproof(path: str, state_in: str, state_out: str, repeat: int = 1) -> tuple[float, Optional[float], dict]:
    """(fastest whole-process seconds, peak RSS MiB, the child's figures of its last run)."""
    from common import measure

    got = measure([sys.executable, os.path.abspath(__file__), "--child", path, state_in, state_out], repeat=repeat,
                  cwd=ROOT)
    if got.returncode:
        raise SystemExit(f"the opsproof child exited {got.returncode}")
    data = json.loads(got.stdout)
    if data["error"]:
        raise SystemExit(data["error"])
    return got.seconds, got.peak_rss_mib, data


def _awk(path: str, awk: str) -> tuple[float, int]:
    from common import measure

    got = measure([awk, AWK_PROGRAM, path])
    return got.seconds, int(got.stdout.strip())


def bench(path: str, workdir: str, repeat: int) -> list:
    import shutil
    import subprocess

    from common import Row

    size = os.path.getsize(path)
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)   # a warm page cache for everyone
    awk = shutil.which("mawk") or shutil.which("awk")
    awk_name = os.path.basename(os.path.realpath(awk))
    print(f"log {path}: {size / MB:.0f} MB; peer {awk_name}; best of {repeat}, alternating; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    state = os.path.join(workdir, "state")
    ops, peer = [], []
    for _ in range(repeat):
        ops.append(_opsproof(path, "-", state))
        peer.append(_awk(path, awk))
    ops_s = min(r[0] for r in ops)
    rss = max((r[1] for r in ops if r[1] is not None), default=None)
    inside_s = min(r[2]["seconds"] for r in ops)
    data = ops[-1][2]
    awk_s, count = min(peer)
    assert data["five_xx"] == count and data["malformed"] == 0, (data, count)
    print(f"  opsproof SLO  {ops_s:8.3f} s whole process ({inside_s:.3f} s after its imports, which took "
          f"{min(r[2]['imports_s'] for r in ops):.3f} s)  {data['requests']} requests, {data['five_xx']} 5xx, "
          f"SLIs {data['sli']}")
    print(f"  {awk_name:13s} {awk_s:8.3f} s  {count} 5xx;  ratio {ops_s / awk_s:5.2f}")
    rows = [Row(f"SLO from a {size / MB:.0f} MB access log (whole process)", ops_s, f"{awk_name} counting 5xx", awk_s,
                goal="<= 0.6x", goal_ratio=0.6, rss_mib=rss,
                note=f"{inside_s:.2f} s after imports; both cores; load {os.getloadavg()[0]:.1f}")]
    # Incremental: 1% more lines, later in time; the re-run continues from the kept state.
    added = make_log(path, size / MB / 100, time.time() - 300, 240, seed=11, mode="a")
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
    runs = [_opsproof(path, state, os.path.join(workdir, f"state-{i}"))[2] for i in range(repeat)]
    inc = min(runs, key=lambda r: r["seconds"])
    assert inc["bytes_read"] == added, (inc, added)
    print(f"after appending {added / MB:.1f} MB ({100 * added / size:.1f} %): {inc['reference']}")
    print(f"  opsproof re-run {inc['seconds']:8.3f} s in process = {100 * inc['seconds'] / inside_s:5.2f} % of the "
          f"full run's {inside_s:.3f} s, for {100 * added / size:.2f} % of the bytes; of it {inc['state_s']:.3f} s "
          f"loading and saving the state ({os.path.getsize(os.path.join(state, 'local', 'slo.json')) / MB:.1f} MB)")
    rows.append(Row("SLO re-run after appending 1 % (in process)", inc["seconds"], "the full run, in process", inside_s,
                    goal="<= 2 %", goal_ratio=0.02, note=f"{inc['state_s']:.3f} s of it is the kept state"))
    return rows


def rows(size_mb: int, folder: Optional[str] = None, repeat: int = 3) -> list:
    """bench/run.py's entry: the whole-process row against mawk and the incremental re-run row."""
    from common import scratch

    return scratch("access.log", folder, lambda path: make_log(path, size_mb, time.time() - 86400 - 600, 86400),
                   lambda path, workdir: bench(path, workdir, repeat))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"] and len(argv) == 4:    # the timed process: no argparse, no harness
        _child(*argv[1:])
        return 0
    import argparse
    import shutil

    from common import on_generated

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1024, help="size of the generated log (default 1024)")
    parser.add_argument("--dir", default=None, help="where the generated log goes (default: the temp folder)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the fastest counts (default 3)")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON line at the end")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    if not (shutil.which("mawk") or shutil.which("awk")):
        raise SystemExit("neither mawk nor awk is installed")
    return on_generated("access.log", args.dir, lambda path: make_log(path, args.size_mb, time.time() - 86400 - 600, 86400),
                        lambda path, workdir: [r.as_dict() for r in bench(path, workdir, args.repeat)], args.json)


if __name__ == "__main__":
    sys.exit(main())
