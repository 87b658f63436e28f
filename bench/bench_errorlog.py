"""Benchmark: count error lines with opsproof's scan_errors vs `grep -c -E` and `grep -E | wc -l` on one file.

    python bench/bench_errorlog.py                   # a 1024 MB log, then deleted
    python bench/bench_errorlog.py --size-mb 128     # a quick run
    python bench/bench_errorlog.py --file app.log    # a log you have (kept; the append step is skipped)

The log looks like an application's: timestamped lines of 60-250 bytes, about 0.5% of them
ERROR/CRITICAL/FATAL. Each tool runs as its own process on a warm page cache, `--repeat` times (the
fastest run counts); peak memory is the child's maxrss from wait4. scan_errors runs on a local
testinfra host through opsproof.hosts.target.Target, exactly as the daily check does; its time is taken
inside the child (the interpreter's start-up and imports excluded, about 0.3 s), grep's is the
process's wall time. Then 1% more lines are appended and the incremental re-run (from the stored
offset) is timed against grep re-reading the whole file and `tail -c +OFFSET | grep -c`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from common import MB, on_generated, report  # noqa: E402

PATTERN = "ERROR|CRITICAL|FATAL"


def _lines(n_bytes: int, seed: int) -> bytes:
    """Log lines totalling about n_bytes, ending with a newline."""
    rnd = random.Random(seed)
    words = ["request", "user", "order", "payment", "cache", "db", "upstream", "timeout", "retry", "GET", "POST",
             "/api/v1/orders", "/health", "status=200", "status=503", "latency_ms=12", "id=8f3a", "ok", "done"]
    levels = ["INFO"] * 150 + ["DEBUG"] * 40 + ["WARNING"] * 9 + ["ERROR"]  # 0.5% errors
    out, size, i = [], 0, 0
    while size < n_bytes:
        i += 1
        level = rnd.choice(levels)
        msg = " ".join(rnd.choice(words) for _ in range(rnd.randint(4, 30)))
        line = f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 1000:03d}Z {level} " \
               f"app[{1000 + i % 50}]: {msg}\n"
        if level == "INFO" and i % 997 == 0:  # now and then a CRITICAL/FATAL among the ERRORs
            line = line.replace(" INFO ", " CRITICAL " if i % 2 else " FATAL ")
        out.append(line)
        size += len(line)
    return "".join(out).encode()


def make_log(path: str, size_mb: float, seed: int = 7) -> None:
    """Write a size_mb log fast: a 4 MB block of varied lines, repeated (each copy re-seeded at the edges)."""
    block = _lines(4 * MB, seed)
    target = int(size_mb * MB)
    with open(path, "wb") as fh:
        written = 0
        while written < target:
            piece = block if target - written >= len(block) else block[: block.rfind(b"\n", 0, target - written) + 1]
            if not piece:
                break
            fh.write(piece)
            written += len(piece)


def _hwm_kib(pid: int) -> Optional[int]:
    """The process's own peak resident set (VmHWM); None once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _run(commands: list[list[str]]) -> tuple[float, int, str]:
    """Run a pipeline (one process per command): (wall seconds, largest peak RSS in KiB, last stdout).

    Peak RSS is polled from /proc/PID/status (VmHWM): wait4's ru_maxrss would report this Python
    parent's size for a small child like grep, since Linux carries maxrss over fork and exec.
    """
    started = time.perf_counter()
    procs: list[subprocess.Popen] = []
    for i, argv in enumerate(commands):
        stdin = procs[-1].stdout if procs else None
        procs.append(subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE))
        if stdin is not None:
            stdin.close()  # the next process owns the read end now
    peak = {p.pid: 0 for p in procs}
    last = procs[-1]
    while last.poll() is None or any(p.poll() is None for p in procs):
        for p in procs:
            hwm = _hwm_kib(p.pid)
            if hwm:
                peak[p.pid] = max(peak[p.pid], hwm)
        time.sleep(0.002)
    out = last.stdout.read()
    elapsed = time.perf_counter() - started
    for p in procs:
        if p.returncode not in (0, 1):  # grep -c exits 1 when nothing matched
            raise SystemExit(f"{commands} exited {p.returncode}")
    return elapsed, max(peak.values()), out.decode()


def _best(commands: list[list[str]], repeat: int) -> tuple[float, int, str]:
    runs = [_run(commands) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[0][2]


def _child_scan(path: str, pattern: str, previous: str) -> None:
    """In a fresh process: one scan_errors on the local host, printed as JSON."""
    import testinfra

    from opsproof.logs.errorlog import scan_errors
    from opsproof.hosts.target import Target

    target = Target(testinfra.get_host("local://"), 3600)
    started = time.perf_counter()
    scan, reference = scan_errors(target, path, pattern, json.loads(previous))
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "hwm_kib": _hwm_kib(os.getpid()), "matches": scan.matches, "bytes_read": scan.bytes_read,
                      "lines_read": scan.lines_read, "reference": reference, "error": scan.error}))


def _scan(path: str, pattern: str, previous: dict, repeat: int) -> tuple[float, int, dict]:
    runs = []
    for _ in range(repeat):
        _, _, out = _run([[sys.executable, os.path.abspath(__file__), "--child-scan", path, pattern,
                           json.dumps(previous)]])
        data = json.loads(out)
        rss = data["hwm_kib"]  # its own, measured at the end: exact
        if data["error"]:
            raise SystemExit(f"scan_errors failed: {data['error']}")
        runs.append((data["seconds"], rss, data))
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[0][2]


def _fmt(seconds: float, rss_kib: int) -> str:
    return f"{seconds:8.3f} s  peak RSS {rss_kib / 1024:7.1f} MiB"


def bench(path: str, pattern: str, repeat: int, append: bool) -> dict:
    size = os.path.getsize(path)
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # warm the page cache for everyone
    print(f"log {path}: {size / MB:.0f} MB; pattern {pattern!r}; locale LC_ALL={os.environ.get('LC_ALL', '')!r} "
          f"LANG={os.environ.get('LANG', '')!r}; best of {repeat}")
    scan_s, scan_rss, scan = _scan(path, pattern, {}, repeat)
    grep_s, grep_rss, grep_out = _best([["grep", "-c", "-E", pattern, path]], repeat)
    wc_s, wc_rss, wc_out = _best([["grep", "-E", pattern, path], ["wc", "-l"]], repeat)
    count = int(grep_out.strip())
    assert scan["matches"] == count == int(wc_out.strip()), (scan["matches"], count, wc_out)
    print(f"  scan_errors            {_fmt(scan_s, scan_rss)}  {scan['matches']} matching lines")
    print(f"  grep -c -E             {_fmt(grep_s, grep_rss)}  ratio scan/grep -c      {scan_s / grep_s:5.2f}")
    print(f"  grep -E | wc -l        {_fmt(wc_s, wc_rss)}  ratio scan/grep | wc -l  {scan_s / wc_s:5.2f}")
    print(f"  scan_errors throughput {size / MB / scan_s:8.0f} MB/s")
    result = {"size_mb": round(size / MB), "matches": count, "scan_s": scan_s, "scan_rss_mib": scan_rss / 1024,
              "grep_c_s": grep_s, "grep_c_rss_mib": grep_rss / 1024, "grep_wc_s": wc_s,
              "ratio_grep_c": scan_s / grep_s, "ratio_grep_wc": scan_s / wc_s}
    if not append:
        return result
    offset = scan["reference"]["offset"]
    added = _lines(max(1, size // 100), seed=11)
    with open(path, "ab") as fh:
        fh.write(added)
    inc_s, inc_rss, inc = _scan(path, pattern, scan["reference"], repeat)
    new = subprocess.run(["grep", "-c", "-E", pattern], input=added, capture_output=True).stdout
    assert inc["matches"] == int(new.strip()) and inc["bytes_read"] == len(added), (inc, new, len(added))
    full_s, full_rss, _ = _best([["grep", "-c", "-E", pattern, path]], repeat)
    tail_s, tail_rss, tail_out = _best([["tail", "-c", f"+{offset + 1}", path], ["grep", "-c", "-E", pattern]],
                                       repeat)
    assert int(tail_out.strip()) == inc["matches"]
    print(f"after appending {len(added) / MB:.1f} MB (1%): {inc['matches']} new matching lines")
    print(f"  scan_errors (from offset) {_fmt(inc_s, inc_rss)}")
    print(f"  grep -c -E (whole file)   {_fmt(full_s, full_rss)}  ratio scan/grep   {inc_s / full_s:5.3f}")
    print(f"  tail -c +N | grep -c -E   {_fmt(tail_s, tail_rss)}  ratio scan/tail   {inc_s / tail_s:5.2f}")
    result.update({"incremental_s": inc_s, "incremental_rss_mib": inc_rss / 1024, "grep_full_rerun_s": full_s,
                   "tail_grep_s": tail_s, "ratio_incremental_vs_full_grep": inc_s / full_s,
                   "ratio_incremental_vs_tail_grep": inc_s / tail_s})
    return result


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1024, help="size of the generated log (default 1024)")
    parser.add_argument("--file", help="benchmark this log instead of generating one (kept, nothing appended)")
    parser.add_argument("--dir", default=None, help="where the generated log goes (default: the temp folder)")
    parser.add_argument("--pattern", default=PATTERN, help=f"the error pattern (default {PATTERN!r})")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the fastest counts (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    parser.add_argument("--child-scan", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_scan:
        _child_scan(*args.child_scan)
        return 0
    for tool in ("grep", "wc", "tail", "cat"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed")
    if args.file:
        return report(bench(args.file, args.pattern, args.repeat, append=False), args.json)
    return on_generated("error.log", args.dir, lambda path: make_log(path, args.size_mb),
                        lambda path, _: bench(path, args.pattern, args.repeat, append=True), args.json)

if __name__ == "__main__":
    sys.exit(main())
