"""Benchmark: 200 health endpoints that each answer in 200 ms, probed by the check against a sequential curl loop.

    python bench/bench_health.py                        # 200 endpoints, 200 ms each
    python bench/bench_health.py --endpoints 50 --delay-ms 100

A threaded HTTP server on 127.0.0.1 in this process answers every path with {"status": "ok"} after the delay
(its listen backlog fits every endpoint at once). Ours: `pytest -m postdeploy checks/test_health.py` with a
config of one endpoint per path, as a whole process (start-up, one item per endpoint, the HTML report and JSON
summary included; the plugins of a clean venv, as bench_startup.py runs them). The peer: `curl` once per
endpoint, one after another, in one bash loop. Ratio: ours / peer (the goal is 0.05x).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_startup import OURS, PYTEST, ROOT, clean_venv, pytest_seconds, run_env  # noqa: E402
from common import Row, measure, print_rows  # noqa: E402

BODY = b'{"status": "ok"}'


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024   # every endpoint may connect at once


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(self.server.delay_s)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


def rows(size_mb: int = 0, folder: str | None = None, endpoints: int = 200, delay_ms: float = 200,
         repeat: int = 3, suite: str = ROOT) -> list[Row]:
    """Our health check over `endpoints` slow endpoints against a curl loop (size_mb is not used)."""
    server = _Server(("127.0.0.1", 0), _Slow)
    server.delay_s = delay_ms / 1000  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    urls = [f"http://127.0.0.1:{server.server_address[1]}/e{i}" for i in range(endpoints)]
    try:
        with tempfile.TemporaryDirectory(prefix="opsproof-bench-health-", dir=folder) as work:
            config = os.path.join(work, "maintenance.yaml")
            with open(config, "w") as fh:
                yaml.safe_dump({"service": "bench-health", "root": work, "health": [
                    {"name": f"e{i}", "url": u, "json": {"status": "ok"}, "max_latency_ms": 10000, "timeout_s": 20}
                    for i, u in enumerate(urls)]}, fh, sort_keys=False)
            argv = [*PYTEST, "-q", "-p", "no:cacheprovider", "-m", "postdeploy",
                    "checks/test_health.py", f"--maint-config={config}", f"--report-dir={work}/reports",
                    *clean_venv(OURS)]
            print(f"health: opsproof, {endpoints} endpoints ...", flush=True)
            measure(argv, 1, env=run_env(suite), cwd=suite)  # warm-up
            ours = measure(argv, repeat, env=run_env(suite), cwd=suite)
            listing = os.path.join(work, "urls")
            with open(listing, "w") as fh:
                fh.write("\n".join(urls) + "\n")
            print(f"health: sequential curl loop ({endpoints} x {delay_ms:g} ms) ...", flush=True)
            loop = f'while read -r u; do curl -s -o /dev/null --max-time 20 "$u" || exit 1; done < {listing}'
            peer = measure(["bash", "-c", loop])
    finally:
        server.shutdown()
        server.server_close()
    inside = pytest_seconds(ours.stdout)
    note = (f"{inside:.2f} s inside pytest; " if inside else "") + f"exit {ours.returncode}/{peer.returncode}"
    return [Row(f"{endpoints} health endpoints answering in {delay_ms:g} ms each, whole process", ours.seconds,
                "sequential `curl` loop", peer.seconds, "<= 0.05x", 0.05, ours.peak_rss_mib, note=note)]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=0, help="not used (the runner passes it to every benchmark)")
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--delay-ms", type=float, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours; the fastest counts (the loop runs once)")
    parser.add_argument("--suite", default=ROOT, help="the suite checkout to measure (default: this one)")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON line at the end")
    args = parser.parse_args(argv)
    found = rows(int(args.size_mb), endpoints=args.endpoints, delay_ms=args.delay_ms, repeat=args.repeat,
                 suite=os.path.abspath(args.suite))
    print_rows(found, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
