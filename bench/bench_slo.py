"""Benchmark: SLOs over an nginx access log with opsproof vs `awk` counting 5xx on the same file, in the same run.

    python bench/bench_slo.py                    # a 1 GiB log (about 9 million requests over a day), then deleted
    python bench/bench_slo.py --size-mb 128      # a quick run

opsproof does more than awk: it parses every line's time (with its offset), status and $request_time,
keeps per-minute counts and a latency histogram, and evaluates two objectives (availability and
latency <= 300 ms over 30 days). awk only counts lines whose 9th field starts with 5. Each tool runs as
its own process on a warm page cache, alternately, `--repeat` times (the fastest run counts).
opsproof's time is taken inside its process (the interpreter's start-up and imports excluded, about
0.5 s; its wall time is printed too). Then 1% more lines are appended and the incremental re-run
(from the state the first run kept) is timed: it should cost about 1% of the full run.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from common import MB, on_generated  # noqa: E402

AWK = ["awk", '$9 ~ /^5/ {n++} END {print n+0}']
SETTINGS = {"format": "combined", "time_field": "time", "status_field": "status", "duration_field": "request_time",
            "duration_unit": "s"}


def _bodies(n: int, seed: int) -> list[tuple[str, str]]:
    """(client, rest-of-line after the time) pairs: varied requests, ~1% 5xx, durations 1 ms..2 s."""
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


def _child(path: str, state_in: str, state_out: str) -> None:
    """In a fresh process: bring the aggregates up to date and evaluate two objectives; print JSON."""
    import testinfra

    from opsproof.config import Objective
    from opsproof.slo import buckets, status
    from opsproof.hosts.state import StateStore
    from opsproof.hosts.target import Target

    target = Target(testinfra.get_host("local://"), 3600)
    objectives = [Objective(name="availability", target=99.0, window="30d"),
                  Objective(name="fast", sli="latency", threshold_ms=300, target=95.0, window="30d")]
    started, cpu = time.perf_counter(), time.process_time()
    previous = StateStore(state_in, "local").load("slo") if state_in != "-" else {}   # as the fixture keeps it
    state_s = time.perf_counter() - started
    agg, read, kept = buckets.update(target, path, SETTINGS, [300], previous, time.time(), 93 * 86400)
    source = status.LogSource(agg, read)
    results = [status.evaluate(source, o, time.time()) for o in objectives]
    mark = time.perf_counter()
    StateStore(state_out, "local").save("slo", kept)
    state_s += time.perf_counter() - mark
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    five = int(sum(c for m, code, c in zip(agg.minute, agg.code, agg.count) if 500 <= code <= 599))
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "state_s": state_s, "bytes_read": read.bytes_read, "requests": read.requests,
                      "malformed": read.malformed, "five_xx": five, "error": read.error,
                      "sli": [r.sli_percent for r in results], "reference": read.reference}))


def _opsproof(path: str, state_in: str, state_out: str) -> tuple[float, float, dict]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", path, state_in, state_out],
                         capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - started
    data = json.loads(out)
    if data["error"]:
        raise SystemExit(data["error"])
    return data["seconds"], wall, data


def _awk(argv: list[str], stdin=None) -> tuple[float, int, float]:
    """(wall seconds, the count printed, CPU seconds of the awk process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(argv, stdin=stdin, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, int(out.strip()), after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def bench(path: str, workdir: str, repeat: int) -> dict:
    size = os.path.getsize(path)
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)   # a warm page cache for everyone
    awk_name = os.path.basename(os.path.realpath(shutil.which("awk")))
    print(f"log {path}: {size / MB:.0f} MB; awk is {awk_name}; best of {repeat}, alternating")
    state = os.path.join(workdir, "state")
    ops, awk = [], []
    for _ in range(repeat):
        ops.append(_opsproof(path, "-", state))
        awk.append(_awk(AWK + [path]))
    ops_s, ops_wall, data = min(ops, key=lambda r: r[0])
    ops_cpu = min(r[2]["cpu"] for r in ops)
    awk_s, count, _ = min(awk)
    awk_cpu = min(r[2] for r in awk)
    assert data["five_xx"] == count and data["malformed"] == 0, (data, count)
    print(f"  opsproof SLO  {ops_s:8.3f} s, CPU {ops_cpu:.3f} s (process wall {ops_wall:.3f} s)  {data['requests']} "
          f"requests, {data['five_xx']} 5xx, SLIs {data['sli']}")
    print(f"  {awk_name:13s} {awk_s:8.3f} s, CPU {awk_cpu:.3f} s  {count} 5xx")
    print(f"  ratio opsproof/awk: {ops_s / awk_s:5.2f} wall, {ops_cpu / awk_cpu:5.2f} CPU "
          f"({ops_wall / awk_s:5.2f} with opsproof's interpreter start-up and imports); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    result = {"size_mb": round(size / MB), "requests": data["requests"], "opsproof_s": ops_s, "opsproof_cpu_s": ops_cpu,
              "opsproof_wall_s": ops_wall, "awk": awk_name, "awk_s": awk_s, "awk_cpu_s": awk_cpu,
              "ratio_awk": ops_s / awk_s, "ratio_awk_cpu": ops_cpu / awk_cpu, "ratio_awk_wall": ops_wall / awk_s}
    # Incremental: 1% more lines, later in time; the re-run continues from the kept state.
    added = make_log(path, size / MB / 100, time.time() - 300, 240, seed=11, mode="a")
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
    runs = []
    for i in range(repeat):
        runs.append(_opsproof(path, state, os.path.join(workdir, f"state-{i}")))
    inc_s, inc_wall, inc = min(runs, key=lambda r: r[0])
    assert inc["bytes_read"] == added, (inc, added)
    full_awk_s = min(_awk(AWK + [path])[0] for _ in range(repeat))
    with open(path, "rb") as fh:
        fh.seek(size)
        tail_s, new_5xx, _ = _awk(AWK, stdin=fh)
    print(f"after appending {added / MB:.1f} MB ({100 * added / size:.1f} %): {inc['reference']}")
    print(f"  opsproof re-run {inc_s:8.3f} s (wall {inc_wall:.3f} s)  = {100 * inc_s / ops_s:5.2f} % of the full run "
          f"for {100 * added / size:.2f} % of the bytes; of it {inc['state_s']:.3f} s loading and saving the "
          f"state ({os.path.getsize(os.path.join(state, 'local', 'slo.json')) / MB:.1f} MB)")
    print(f"  awk, whole file {full_awk_s:8.3f} s   ratio re-run/awk-whole {inc_s / full_awk_s:5.3f}; "
          f"awk on the new bytes only {tail_s:.3f} s ({new_5xx} 5xx)")
    result.update({"appended_mb": added / MB, "incremental_s": inc_s, "incremental_wall_s": inc_wall,
                   "incremental_share_of_full": inc_s / ops_s, "bytes_share": added / size,
                   "incremental_state_io_s": inc["state_s"],
                   "ratio_incremental_vs_awk_whole": inc_s / full_awk_s})
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1024, help="size of the generated log (default 1024)")
    parser.add_argument("--dir", default=None, help="where the generated log goes (default: the temp folder)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the fastest counts (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    if not shutil.which("awk"):
        raise SystemExit("awk is not installed")
    return on_generated("access.log", args.dir, lambda path: make_log(path, args.size_mb, time.time() - 86400 - 600, 86400),
                        lambda path, workdir: bench(path, workdir, args.repeat), args.json)

if __name__ == "__main__":
    sys.exit(main())
