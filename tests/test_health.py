"""Health endpoints against real HTTP servers on loopback: each way an endpoint can be unhealthy is caught.

Suite tests run checks/test_health.py in a copy of the suite; unit tests call opsproof.system.health directly
for what is easier to pin down there (a dripping server, concurrency, the loopback rule for remote hosts).
"""
from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import ROOT, free_port, wait_for
from helpers.http import HTTPServerFixture
from opsproof.config import Endpoint, Maint
from opsproof.system.health import probe, probe_all

CHECK = "checks/test_health.py"  # run only this module: other checks sharing the marker are not under test here
FAST = ("-p", "no:hypothesispytest", "-p", "no:benchmark")  # unused third-party plugins: seconds of start-up


def _config(*endpoints: dict) -> dict:
    return {"service": "health-test", "root": ".", "health": list(endpoints)}


def _endpoint(url: str, **overrides) -> dict:
    return {"name": "api", "url": url, "status": 200, "json": {"status": "ok"}, "max_latency_ms": 2000,
            "timeout_s": 5, **overrides}


def _run(suite, *endpoints: dict, args: tuple[str, ...] = (), timeout: float = 120):
    """Run the health check for these endpoints; endpoint name -> summary entry of its item."""
    suite.config(_config(*endpoints))
    result = suite.run("-m", "postdeploy", CHECK, *FAST, *args, timeout=timeout)
    tests = {}
    for test in suite.summary()["tests"]:
        if "::test_endpoint_healthy[" in test["id"]:
            tests[test["id"].split("[", 1)[1].rsplit("-", 1)[0]] = test  # "<endpoint>-<host>"
    assert sorted(tests) == sorted(e["name"] for e in endpoints), result.stdout.str()
    failed = any(t["outcome"] != "passed" for t in tests.values())
    assert result.ret == (1 if failed else 0), result.stdout.str()
    return tests


@pytest.fixture
def servers():
    """Several real HTTP servers, each answering its own way."""
    made: list[HTTPServerFixture] = []

    def make(**behaviour) -> HTTPServerFixture:
        server = HTTPServerFixture()
        for key, value in behaviour.items():
            setattr(server.behaviour, key, value)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


# --- the check, run as a suite --------------------------------------------------------------------------

def test_healthy_endpoints_pass_and_are_probed_concurrently(suite, http_server):
    """Three healthy endpoints pass with latency evidence, probed at once: the server holds each request until
    all three are in flight, so a prober that asks one after another times out instead of passing."""
    http_server.behaviour.gather = 3
    tests = _run(suite, *[_endpoint(http_server.url(f"/{n}"), name=n, contains='"ok"', max_latency_ms=30000,
                                    timeout_s=20) for n in ("a", "b", "c")])
    assert all(t["outcome"] == "passed" for t in tests.values()), tests
    status, comp = tests["a"]["comparisons"]
    assert status["key"] == "health[a].status" and status["measured"] == 200 and status["passed"]
    assert comp["key"] == "health[a].max_latency_ms" and comp["threshold"] == 30000 and comp["passed"]
    assert tests["a"]["evidence"][0]["data"]["status"] == 200
    assert len(http_server.behaviour.requests) == 3
    assert http_server.behaviour.max_in_flight == 3


def test_each_unhealthy_answer_fails_with_its_reason(suite, servers):
    refused = f"http://127.0.0.1:{free_port()}/health"
    endpoints = {
        "status": (_endpoint(servers(status=503).url(), name="status"),
                   ") is 503; health[status].status asks for 200 — "),
        "json": (_endpoint(servers(body=b'{"status": "degraded", "db": {"ok": true}}').url(), name="json",
                           json={"status": "ok", "db": {"ok": True, "replicas": 2}}),
                 "$.status is 'degraded', expected 'ok'; $.db.replicas is missing"),
        "notjson": (_endpoint(servers(body=b"<html>ok</html>").url(), name="notjson"), "body is not JSON"),
        "contains": (_endpoint(servers().url(), name="contains", json=None, contains="database: up"),
                     "body does not contain 'database: up'"),
        "slow": (_endpoint(servers(delay_s=0.4).url(), name="slow", max_latency_ms=100),
                 "health[slow].max_latency_ms allows <= 100"),
        "refused": (_endpoint(refused, name="refused"),
                    f"({refused}) did not answer: ConnectionError: Connection refused"),
    }
    tests = _run(suite, *[e for e, _ in endpoints.values()])
    for name, (_, reason) in endpoints.items():
        assert tests[name]["outcome"] == "failed", (name, tests[name])
        assert reason in tests[name]["message"], (name, tests[name]["message"])
    slow = tests["slow"]["comparisons"][-1]
    assert slow["measured"] >= 400 and slow["threshold"] == 100 and not slow["passed"]
    assert f"slow latency is {slow['measured']} ms; health[slow].max_latency_ms allows <= 100" in tests["slow"]["message"]


def test_retries_succeed_after_failures_and_are_bounded(suite, servers):
    recovers, stays_down = servers(fail_first=2), servers(fail_first=3)
    tests = _run(suite, _endpoint(recovers.url(), name="recovers", retries=2, retry_delay_s=0.1),
                 _endpoint(stays_down.url(), name="down", retries=2, retry_delay_s=0.1))
    assert tests["recovers"]["outcome"] == "passed", tests["recovers"]
    assert tests["recovers"]["evidence"][0]["data"]["attempts"] == 3
    assert tests["down"]["outcome"] == "failed"
    assert ") is 503; health[down].status asks for 200" in tests["down"]["message"]
    assert len(recovers.behaviour.requests) == len(stays_down.behaviour.requests) == 3


class _Drip(BaseHTTPRequestHandler):
    """Promises 1000 bytes and sends one every 0.2 s: no single read ever times out."""

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass


@pytest.fixture
def drip_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()


def test_endpoints_on_one_host_and_path_keep_their_own_results(suite, http_server):
    """Two endpoints on one host and path (named apart: unnamed, they would share a label, which the config refuses,
    see below): each item reports its own probe, not its twin's."""
    url = http_server.url()
    suite.config(_config({"name": "a", "url": url + "?probe=a", "status": 200},
                         {"name": "b", "url": url + "?probe=b", "status": 204}))
    result = suite.run("-m", "postdeploy", CHECK, *FAST)
    assert result.ret == 1, result.stdout.str()
    tests = [t for t in suite.summary()["tests"] if "::test_endpoint_healthy[" in t["id"]]
    assert sorted(t["outcome"] for t in tests) == ["failed", "passed"], tests
    failed = next(t for t in tests if t["outcome"] == "failed")
    assert failed["message"].startswith(f"HTTP status of b ({url}?probe=b) is 200; health[b].status asks for 204")


def test_hanging_and_dripping_endpoints_fail_within_timeout(suite, http_server, drip_server):
    """Neither a silent server nor one dripping bytes holds a probe past timeout_s, or the run past its end."""
    http_server.behaviour.hang = True
    timeout_s = 2
    started = time.monotonic()
    tests = _run(suite, _endpoint(http_server.url(), name="hang", timeout_s=timeout_s),
                 _endpoint(drip_server, name="drip", timeout_s=timeout_s), timeout=180)
    elapsed = time.monotonic() - started
    for name in ("hang", "drip"):
        assert tests[name]["outcome"] == "failed"
        assert f"no complete answer within timeout_s = {timeout_s} s" in tests[name]["message"]
    # Bounds at 3x the expected time, yet below what one unbounded probe takes (the server holds it 60 s).
    probing = sum(t["duration_s"] for t in tests.values())
    assert probing < 3 * len(tests) * timeout_s, f"probing took {probing} s"
    assert elapsed < 55, f"the run (with interpreter start-up) took {elapsed:.1f} s: it hung"


def test_secrets_never_reach_report_json_or_junit(suite, http_server):
    token, bearer = "tok-SECRET-4711", "bearer-SECRET-0815"
    http_server.behaviour.status = 500
    endpoint = _endpoint(http_server.url(f"/health?token={token}&x=1"), headers={"Authorization": f"Bearer {bearer}"})
    test = _run(suite, endpoint, args=("--junitxml=junit.xml",))["api"]
    assert test["outcome"] == "failed" and ") is 500; health[api].status asks for 200" in test["message"]
    assert http_server.behaviour.requests[0]["headers"]["Authorization"] == f"Bearer {bearer}", "the probe sent it"
    assert token in http_server.behaviour.requests[0]["path"]
    outputs = {"html": suite.html(), "json": (suite.reports / suite.summary()["report"]).with_suffix(".json").read_text(),
               "junit": (suite.path / "junit.xml").read_text()}
    assert "token=***" in outputs["json"]
    assert ") is 500; health[api].status asks for 200" in outputs["junit"]
    for name, text in outputs.items():
        for secret in (token, bearer):
            assert secret not in text, f"{secret} leaked into the {name} output"


# --- the library, directly -------------------------------------------------------------------------------

def test_dripping_server_is_bounded_by_timeout(drip_server):
    before = set(threading.enumerate())
    started = time.monotonic()
    result = probe(Endpoint(url=drip_server, timeout_s=1))
    elapsed = time.monotonic() - started
    assert result.error == "no complete answer within timeout_s = 1 s"
    assert elapsed < 1 + 5
    # No worker is left reading at the server's pace.
    wait_for(lambda: not [t for t in set(threading.enumerate()) - before if t.name == "opsproof-health"],
             timeout=5, what="the probe's worker to end")


class _DripHeaders(BaseHTTPRequestHandler):
    """Sends its status line, then a header one byte every 0.2 s: no single read ever times out, and http.client
    reads headers without a deadline of its own."""

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        self.wfile.write(b"HTTP/1.0 200 OK\r\n")
        try:
            for _ in range(1000):
                self.wfile.write(b"X")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass


def test_a_server_dripping_its_headers_is_cut_at_timeout():
    """The prober's watch shuts down the socket of an attempt past its deadline, whatever it is waiting in."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DripHeaders)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        result = probe(Endpoint(url=f"http://127.0.0.1:{server.server_address[1]}/health", timeout_s=1))
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert result.error == "no complete answer within timeout_s = 1 s", result
    assert elapsed < 1 + 5


def test_three_endpoints_are_probed_at_once(http_server):
    """The server answers only when all three requests are in flight: one after another would time out."""
    http_server.behaviour.gather = 3
    endpoints = [(Endpoint(url=http_server.url(f"/{n}"), name=n, max_latency_ms=30000, timeout_s=20),
                  http_server.url(f"/{n}")) for n in ("a", "b", "c")]
    results = probe_all(endpoints)
    assert [r.name for r in results] == ["a", "b", "c"] and all(r.ok for r in results), results
    assert http_server.behaviour.max_in_flight == 3


def test_a_host_name_is_looked_up_and_each_of_its_addresses_tried(http_server):
    """`localhost` is looked up (it may give ::1 first, where nothing listens: the next address answers); a name
    no resolver knows fails saying so."""
    found = probe(Endpoint(url=f"http://localhost:{http_server.port}/health", timeout_s=10))
    assert found.ok and found.status == 200, found
    unknown = probe(Endpoint(url=f"http://no-such-host.invalid:{http_server.port}/health", timeout_s=10))
    assert unknown.error is not None and unknown.error.startswith("ConnectionError: "), unknown


# --- many endpoints: started together, connections shared per host, a slow one holds no other ------------------

def test_two_hundred_endpoints_are_all_in_flight_at_once_by_default(http_server):
    """With the default health_concurrency every one of 200 probes is under way at once: the server holds each
    request until all 200 are in flight, so a pool smaller than that would leave some unanswered."""
    http_server.behaviour.gather = 200
    urls = [http_server.url(f"/{i}") for i in range(200)]
    results = probe_all([(Endpoint(url=u, name=str(i), timeout_s=60), u) for i, u in enumerate(urls)],
                        Maint.model_validate({"service": "s"}).health_concurrency)
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert http_server.behaviour.max_in_flight == 200


class _KeepAlive(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; counts the connections it accepted. With `drop`, it closes each connection after
    one answer without saying so (as a server whose keep-alive timer ran out does)."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.connections += 1  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.requests += 1  # type: ignore[attr-defined]  (counted before the client can have its answer)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = self.server.drop  # type: ignore[attr-defined]


@pytest.fixture
def keepalive_server():
    def make(drop: bool = False) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
        server.daemon_threads = True
        server.lock, server.connections, server.requests, server.drop = threading.Lock(), 0, 0, drop
        threading.Thread(target=server.serve_forever, daemon=True).start()
        made.append(server)
        return server

    made: list[ThreadingHTTPServer] = []
    yield make
    for server in made:
        server.shutdown()
        server.server_close()


def _on(server: ThreadingHTTPServer, n: int) -> list[tuple[Endpoint, str]]:
    urls = [f"http://127.0.0.1:{server.server_address[1]}/{i}" for i in range(n)]
    return [(Endpoint(url=u, name=str(i), json={"status": "ok"}, timeout_s=20), u) for i, u in enumerate(urls)]


def test_probes_of_one_host_share_its_connections(keepalive_server):
    """20 endpoints of one host, 4 at a time: at most 4 connections, each reused by the next probe."""
    server = keepalive_server()
    results = probe_all(_on(server, 20), concurrency=4)
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert server.requests == 20
    assert 1 <= server.connections <= 4, server.connections


def test_a_connection_the_server_closed_while_idle_is_replaced(keepalive_server):
    """The server drops every connection after one answer without announcing it: each probe that takes that idle
    connection finds it gone and asks once more on a new one, and passes."""
    server = keepalive_server(drop=True)
    results = probe_all(_on(server, 10), concurrency=1)
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert [r.attempts for r in results] == [1] * 10
    assert server.requests == 10 and server.connections == 10


_FEW_DESCRIPTORS = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
from opsproof.config import Endpoint
from opsproof.system.health import probe_all
urls = sys.argv[1:]
probes = probe_all([(Endpoint(url=u, name=str(i), timeout_s=20), u) for i, u in enumerate(urls)], concurrency=20)
print(json.dumps([r.error for r in probes if not r.ok]))
"""


def test_idle_connections_to_many_hosts_stay_within_ulimit_n():
    """100 keep-alive hosts, 20 probes at a time, `ulimit -n 64`: an idle connection kept per host would hold 100
    descriptors by the end; the idle ones kept are bounded by what the limit leaves, and no probe is refused a socket."""
    import json
    import subprocess

    servers = []
    for _ in range(100):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
        server.daemon_threads = True
        server.lock, server.connections, server.requests, server.drop = threading.Lock(), 0, 0, False
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
    try:
        urls = [f"http://127.0.0.1:{server.server_address[1]}/health" for server in servers]
        done = subprocess.run([sys.executable, "-c", _FEW_DESCRIPTORS, *urls], capture_output=True, text=True,
                              timeout=300)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []
    assert all(server.requests == 1 for server in servers)


def test_a_slow_endpoint_holds_up_no_other(http_server):
    """Two probes at a time; the first endpoint answers only once the other 10 have all been answered. If it held
    up the queue, they would never be asked and it would time out instead of passing."""
    fast = [(Endpoint(url=http_server.url(f"/{i}"), name=str(i), timeout_s=20), http_server.url(f"/{i}"))
            for i in range(10)]

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            wait_for(lambda: len(http_server.behaviour.requests) >= 10, timeout=30, what="the 10 other probes")
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        slow = f"http://127.0.0.1:{server.server_address[1]}/slow"
        results = probe_all([(Endpoint(url=slow, name="slow", timeout_s=60), slow)] + fast, concurrency=2)
    finally:
        server.shutdown()
        server.server_close()
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert http_server.behaviour.max_in_flight == 1  # the other slot asked them one after another


# --- endpoints of one name (issue 20, item 7) -------------------------------------------------------------

def _check_config(path):
    """`opsproof check-config PATH` as a user runs it: its CompletedProcess."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "opsproof.cli", "check-config", str(path)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize("twins, said", [
    # Named alike, thresholds apart: the lookup (health[api].max_latency_ms) would judge both by the first.
    ([_endpoint("http://127.0.0.1:9/a", max_latency_ms=50), _endpoint("http://127.0.0.1:9/w", name="web"),
      _endpoint("http://127.0.0.1:9/b", max_latency_ms=5000)],
     "health[2].name: health[0] and health[2] are both named 'api': names must be unique"),
    # No names: the label comes from the URL (host:port/path), and the query string is not part of it.
    ([{"url": "http://127.0.0.1:9/health?probe=fast", "max_latency_ms": 50},
      {"url": "http://127.0.0.1:9/health?probe=deep", "max_latency_ms": 5000}],
     "health[1]: health[0] and health[1] are both named '127.0.0.1:9/health' (from their URLs): names must be "
     "unique"),
])
def test_two_endpoints_of_one_name_are_refused_by_check_config_and_by_the_run(suite, twins, said):
    path = suite.config(_config(*twins))
    done = _check_config(path)
    assert done.returncode == 4 and said in done.stderr and "Traceback" not in done.stderr, done
    (line,) = [x for x in done.stderr.splitlines() if said in x]
    result = suite.run("-m", "postdeploy", CHECK, *FAST)
    assert result.ret == 4 and line.removeprefix("opsproof: ") in result.stderr.str(), result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
