"""A real Prometheus for the tests: known counters backfilled with promtool, served on a free loopback port.

`traffic()` makes one set of requests and writes it both ways — as nginx access-log lines and as
OpenMetrics samples (a request counter by status, a latency histogram) — so the same objectives can
be computed from either source and compared.
"""
from __future__ import annotations

import json
import random
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from helpers import free_port, require_tool

BUCKETS = (0.05, 0.1, 0.3, 0.5, 1.0)
STEP_S = 15


@dataclass
class Request:
    at: float          # seconds since the epoch
    status: int
    seconds: float     # duration, whole milliseconds


@dataclass
class Traffic:
    requests: list[Request] = field(default_factory=list)

    def access_log(self, offset_hours: float = 2) -> str:
        tz = timezone(timedelta(hours=offset_hours))
        return "".join(
            f'10.0.0.{i % 250} - - [{datetime.fromtimestamp(r.at, tz).strftime("%d/%b/%Y:%H:%M:%S %z")}] '
            f'"GET /api/{i % 7} HTTP/1.1" {r.status} 512 "-" "bench/1.0" {r.seconds:.3f}\n'
            for i, r in enumerate(self.requests))

    def openmetrics(self, start: float, end: float, codes=(200, 404, 429, 500, 503)) -> str:
        """Counters sampled every STEP_S seconds from `start` (all zero) to `end`, grouped by series."""
        times = [start + k * STEP_S for k in range(int((end - start) // STEP_S) + 1)]
        reqs = sorted(self.requests, key=lambda r: r.at)
        series: dict[str, list[float]] = {}
        names = [f'http_requests_total{{code="{c}",job="api"}}' for c in codes]
        names += [f'http_request_duration_seconds_bucket{{job="api",le="{b:g}"}}' for b in BUCKETS]
        names += ['http_request_duration_seconds_bucket{job="api",le="+Inf"}', 'http_request_duration_seconds_count{job="api"}']
        counts = dict.fromkeys(names, 0)
        i = 0
        for t in times:
            while i < len(reqs) and reqs[i].at <= t:
                r = reqs[i]
                counts[f'http_requests_total{{code="{r.status}",job="api"}}'] += 1
                for b in BUCKETS:
                    if r.seconds <= b:
                        counts[f'http_request_duration_seconds_bucket{{job="api",le="{b:g}"}}'] += 1
                counts['http_request_duration_seconds_bucket{job="api",le="+Inf"}'] += 1
                counts['http_request_duration_seconds_count{job="api"}'] += 1
                i += 1
            for name in names:
                series.setdefault(name, []).append(counts[name])
        assert i == len(reqs), "every request must fall before the last sample"
        lines = [f"{name} {value} {t:.3f}" for name in names for t, value in zip(times, series[name])]
        return "\n".join(lines) + "\n# EOF\n"


def traffic(start: float, end: float, n: int, bad_every: int = 50, seed: int = 7) -> Traffic:
    """n requests spread over [start, end): one in `bad_every` a 5xx, some 404/429, durations 1..900 ms."""
    rnd = random.Random(seed)
    out = Traffic()
    for k in range(n):
        at = start + (end - start) * (k + rnd.random()) / n
        status = 503 if k % bad_every == 0 else rnd.choice((200, 200, 200, 200, 404, 429))
        out.requests.append(Request(int(at), status, rnd.choice((0.001, 0.02, 0.05, 0.08, 0.12, 0.3, 0.301, 0.45, 0.9))))
    return out


class PromServer:
    """Debian's prometheus on 127.0.0.1:<free port>, its TSDB backfilled by promtool before it starts."""

    def __init__(self, directory: Path) -> None:
        require_tool("prometheus", "promtool")
        self.dir = directory
        self.data = directory / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def backfill(self, openmetrics: str) -> None:
        source = self.dir / "input.om"
        source.write_text(openmetrics)
        done = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(self.data)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self, ready_query: str = "vector(1)", timeout: float = 60) -> "PromServer":
        config = self.dir / "prometheus.yml"
        config.write_text("global: {scrape_interval: 15s}\nscrape_configs: []\n")
        log = open(self.dir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.data}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=100y"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.dir / "prometheus.log").read_text()[-3000:]
            try:
                if self.query(ready_query):
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"prometheus did not answer `{ready_query}` within {timeout} s")

    def query(self, promql: str) -> list:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.loads(resp.read())["data"]["result"]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
