"""Benchmark: the error-log scan against `grep -c -E`, its re-check after 1 % more lines, and the bytes a remote scan moves.

    python bench/bench_errorlog.py                   # a 1024 MB log, then deleted
    python bench/bench_errorlog.py --size-mb 128     # a quick run
    python bench/bench_errorlog.py --file app.log    # a log you have (kept; nothing appended, no remote row)
    python bench/bench_errorlog.py --remote-mb 0     # without the remote row (it starts an sshd on loopback)

The log looks like an application's: timestamped lines of 60-250 bytes, about 0.5% of them
ERROR/CRITICAL/FATAL, on a warm page cache. Each tool runs as its own process (bench/common.measure:
whole-process wall time, the fastest of --repeat, and peak RSS from GNU time). Ours is python3 running
opsproof.logs.errorlog.scan_file, the function that scans where the log is (in the check's process for
the local host, in the target's python3 for a remote one), interpreter start-up included. Then 1% more
lines are appended and the re-check (from the reference point the full scan left: offset, inode and
fingerprints, as a scheduled run stores it) is compared with the full scan, both timed inside the process
(start-up alone would be several percent of the full scan).

The remote row: a real sshd on 127.0.0.1 (tests/helpers/sshd.py, as the tests start it) reached through a
relay that counts every byte of the SSH session; scan_errors on that host scans a --remote-mb log on
the target and only its result comes back. Before, the log itself travelled (dd over ssh).
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import MB, Row, measure, print_rows, scratch  # noqa: E402

PATTERN = "ERROR|CRITICAL|FATAL"
REMOTE_MB = 1024
_CHILD = """
import json, sys, time
from opsproof.logs.errorlog import scan_file
started = time.perf_counter()
scan = scan_file(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "matches": scan.matches, "bytes_read": scan.bytes_read,
                  "lines_read": scan.lines_read, "reference": scan.resume, "error": scan.error}))
"""


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


def _scan(path: str, pattern: str, previous: dict, repeat: int) -> tuple[float, float, Optional[float], dict]:
    """(whole-process seconds, in-process seconds, peak RSS MiB, the scan's figures): the fastest of `repeat`."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    inner, whole, rss, data = float("inf"), float("inf"), None, {}
    for _ in range(repeat):
        run = measure([sys.executable, "-c", _CHILD, path, pattern, json.dumps(previous)], env=env)
        data = json.loads(run.stdout)
        if data["error"]:
            raise SystemExit(f"scan_file failed: {data['error']}")
        inner, whole = min(inner, data["seconds"]), min(whole, run.seconds)
        rss = max(rss or 0.0, run.peak_rss_mib or 0.0) or None
    return whole, inner, rss, data


def _grep(path: str, pattern: str, repeat: int) -> tuple[float, int]:
    run = measure(["grep", "-c", "-E", pattern, path], repeat=repeat)
    if run.returncode not in (0, 1):  # grep -c exits 1 when nothing matched
        raise SystemExit(f"grep exited {run.returncode}")
    return run.seconds, int(run.stdout.strip())


def local_rows(path: str, pattern: str, repeat: int, append: bool) -> list[Row]:
    size = os.path.getsize(path)
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # warm the page cache for everyone
    print(f"log {path}: {size / MB:.0f} MB; pattern {pattern!r}; best of {repeat}", flush=True)
    whole, inner, rss, scan = _scan(path, pattern, {}, repeat)
    grep_s, count = _grep(path, pattern, repeat)
    assert scan["matches"] == count, (scan, count)
    rows = [Row(f"error-log scan, {size / MB:.0f} MB log", whole, "grep -c -E (whole process)", grep_s, "<= 1.5x", 1.5,
                rss, f"python3 running scan_file, start-up included; {inner:.3f} s of it scanning "
                     f"({size / MB / inner:.0f} MB/s); {count} matching lines")]
    if append:
        added = _lines(max(1, size // 100), seed=11)
        with open(path, "ab") as fh:
            fh.write(added)
        inc_whole, inc, _, again = _scan(path, pattern, scan["reference"], repeat)
        new = subprocess.run(["grep", "-c", "-E", pattern], input=added, capture_output=True).stdout
        assert again["matches"] == int(new.strip()) and again["bytes_read"] == len(added), (again, new, len(added))
        rows.append(Row("error-log re-check after appending 1 %", inc, "the full scan (in process)", inner, "<= 1 %",
                        0.01, None, f"{again['matches']} new matching lines in {len(added) / MB:.1f} MB; "
                                    f"{inc_whole:.3f} s as a whole process (interpreter start-up)"))
    return rows


def remote_row(size_mb: float, pattern: str, folder: Optional[str]) -> Row:
    """scan_errors on a real sshd (loopback) through a byte-counting relay: bytes moved vs the log's size."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import testinfra

    from opsproof.hosts.target import Target
    from opsproof.logs.scan import scan_errors
    from helpers.relay import CountingRelay
    from helpers.sshd import Sshd

    def run(path: str, workdir: str) -> Row:
        server = Sshd(os.path.join(workdir, "sshd")).start()
        relay = CountingRelay(server.port)
        try:
            server.add_host("opsproof-counted", "127.0.0.1", relay.port)
            host = testinfra.get_host("ssh://opsproof-counted", ssh_config=str(server.ssh_config))
            started = time.perf_counter()
            scan, _ = scan_errors(Target(host, 600), path, pattern, {})
            seconds = time.perf_counter() - started
            moved = relay.total
        finally:
            relay.close()
            server.stop()
        if scan.error:
            raise SystemExit(f"remote scan failed: {scan.error}")
        _, count = _grep(path, pattern, 1)
        assert scan.matches == count and scan.bytes_read == os.path.getsize(path), (scan, count)
        size = os.path.getsize(path) / MB
        print(f"remote: {moved} bytes over ssh for a {size:.0f} MiB log, {seconds:.2f} s", flush=True)
        return Row(f"remote {size:.0f} MiB error log: bytes over ssh", moved / MB, "the log's size (dd over ssh moved "
                   "it all)", size, "< 1 MiB", 1 / size, None, f"MiB, not seconds: {moved} bytes both ways through a "
                   f"counting relay (SSH handshake, the shipped code, the result); the call took {seconds:.2f} s")

    return scratch("remote-error.log", folder, lambda path: make_log(path, size_mb), run)


def rows(size_mb: int, folder: str | None = None, repeat: int = 3, remote_mb: float = REMOTE_MB,
         pattern: str = PATTERN) -> list[Row]:
    """The full scan against grep -c -E, the re-check against the full scan, and (with an sshd) the remote bytes."""
    out = scratch("error.log", folder, lambda path: make_log(path, size_mb),
                  lambda path, _: local_rows(path, pattern, repeat, append=True))
    if remote_mb and os.path.exists("/usr/sbin/sshd") and shutil.which("ssh"):
        out.append(remote_row(remote_mb, pattern, folder))
    return out


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1024, help="size of the generated log (default 1024)")
    parser.add_argument("--file", help="benchmark this log instead of generating one (kept, nothing appended)")
    parser.add_argument("--dir", default=None, help="where the generated log goes (default: the temp folder)")
    parser.add_argument("--pattern", default=PATTERN, help=f"the error pattern (default {PATTERN!r})")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the fastest counts (default 3)")
    parser.add_argument("--remote-mb", type=float, default=REMOTE_MB, help="the remote row's log (0: no remote row)")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON line at the end")
    args = parser.parse_args(argv)
    for tool in ("grep", "cat"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed")
    if args.file:
        found = local_rows(args.file, args.pattern, args.repeat, append=False)
    else:
        found = rows(args.size_mb, args.dir, args.repeat, args.remote_mb, args.pattern)
    print_rows(found, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
