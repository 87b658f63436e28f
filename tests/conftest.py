"""Shared machinery for the suite's own tests: a copy of the suite to run, real servers on loopback."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
STRICT_ENV = "OPSPROOF_CI"  # set by .ci/run: a missing system tool fails instead of skipping

# pytester gives every run a fresh HOME; one font cache for matplotlib keeps it from rebuilding per run.
os.environ.setdefault("MPLCONFIGDIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), f"opsproof-mpl-{os.getuid()}"))


def unavailable(message: str) -> None:
    """Skip a test whose prerequisite this machine lacks; under CI ($OPSPROOF_CI) fail instead: CI has everything."""
    if os.environ.get(STRICT_ENV):
        pytest.fail(f"{message}; {STRICT_ENV} is set, so a missing prerequisite is a failure", pytrace=False)
    pytest.skip(message)


def require_tool(*names: str) -> None:
    """Skip (fail under CI) when a system tool the test needs is absent."""
    for name in names:
        found = shutil.which(name) or (os.path.isabs(name) and os.access(name, os.X_OK))
        if not found:
            unavailable(f"{name} is not installed (apt-get install the package that provides it)")


def config_error(tmp_path: Path, text: str):
    """Write `service: svc` plus `text` as maintenance.yaml, load it, and return the ConfigError it must raise."""
    from opsproof import config as cfg

    path = tmp_path / "maintenance.yaml"
    path.write_text("service: svc\n" + text + "\n")
    with pytest.raises(cfg.ConfigError) as info:
        cfg.load(path)
    return info.value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Loaded into every suite run (`-p`): once the checks are collected, the objects that exist then (modules, the
# config, the items) move out of the garbage collector's sight. pytest's unraisable-exception plugin collects five
# times at exit, and with them tracked that took about half a second of each run; objects the tests create are
# still collected (and their unraisable exceptions still reported).
GC_PLUGIN = """import gc


def pytest_collection_finish(session):
    gc.freeze()
"""


class Suite:
    """A copy of the suite (conftest, pytest.ini, fixtures/, checks/) in a pytester folder, run in a subprocess."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path = Path(pytester.path)
        for name in ("conftest.py", "pytest.ini"):
            shutil.copy(ROOT / name, self.path / name)
        for name in ("fixtures", "checks"):
            shutil.copytree(ROOT / name, self.path / name, ignore=shutil.ignore_patterns("__pycache__"))
        (self.path / "_opsproof_suite_gc.py").write_text(GC_PLUGIN)   # importable: the run's cwd is on PYTHONPATH
        self.reports = self.path / "reports"

    def config(self, data: dict | str, name: str = "maintenance.yaml") -> Path:
        """Write a config (a dict is dumped as YAML; a string is written as is)."""
        target = self.path / name
        target.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return target

    def run(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> pytest.RunResult:
        old = {k: os.environ.get(k) for k in (env or {})}
        os.environ.pop("OPSPROOF_CONFIG", None)
        os.environ.update(env or {})
        try:
            # Plugins this machine may have that opsproof does not use cost seconds per run; blocking an absent one is harmless.
            return self.pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                                      "-p", "no:benchmark", "-p", "_opsproof_suite_gc", *args,
                                                      timeout=timeout)
        finally:
            for key, value in old.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def summary(self) -> dict[str, Any]:
        """The newest JSON summary in reports/."""
        files = sorted(self.reports.glob("*.json"), key=lambda p: p.stat().st_mtime)
        assert files, f"no JSON summary in {self.reports}"
        return json.loads(files[-1].read_text())

    def outcomes(self) -> dict[str, str]:
        """test id -> outcome, from the newest summary."""
        return {t["id"]: t["outcome"] for t in self.summary()["tests"]}

    def html(self) -> str:
        files = sorted(self.reports.glob("*.html"), key=lambda p: p.stat().st_mtime)
        assert files, f"no HTML report in {self.reports}"
        return files[-1].read_text()


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Suite:
    return Suite(pytester)


class Behaviour:
    """What the test HTTP server answers; tests change it between requests."""

    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = b'{"status": "ok"}'
        self.delay_s = 0.0
        self.hang = False
        self.fail_first = 0
        self.requests: list[dict] = []
        self.gather = 0             # hold each request until this many are in flight at once (bounded wait)
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Condition()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        b: Behaviour = self.server.behaviour  # type: ignore[attr-defined]
        b.requests.append({"path": self.path, "headers": dict(self.headers)})
        with b.lock:
            b.in_flight += 1
            b.max_in_flight = max(b.max_in_flight, b.in_flight)
            b.lock.notify_all()
            b.lock.wait_for(lambda: b.max_in_flight >= b.gather, timeout=30)
        counted = [True]

        def leave() -> None:
            # Out of flight just before the last write: once that byte is out the client may send its next request
            # before this thread runs again, and counting it then would see one more in flight than there is.
            if counted[0]:
                counted[0] = False
                with b.lock:
                    b.in_flight -= 1
        try:
            self._answer(b, leave)
        finally:
            leave()

    def _answer(self, b: "Behaviour", leave) -> None:
        if b.hang:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"{")
            self.wfile.flush()
            time.sleep(60)
            return
        if b.delay_s:
            time.sleep(b.delay_s)
        status = b.status
        if b.fail_first > 0:
            b.fail_first -= 1
            status = 503
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b.body)))
        self.end_headers()
        leave()
        self.wfile.write(b.body)


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: 200 probes connecting at once overflow it, and the kernel drops
    # their SYNs to be retried after 1, 2, 4, 8, 16, 32 s — past a probe's timeout on a loaded machine.
    request_queue_size = 1024


class HTTPServerFixture:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.behaviour = self.behaviour  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/health") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    """A real sshd on a free loopback port for this test module (its own host key and client config: tests/sshd.py)."""
    require_tool("/usr/sbin/sshd", "ssh", "ssh-keygen")
    from sshd import Sshd
    server = Sshd(tmp_path_factory.mktemp("sshd")).start()
    yield server
    server.stop()


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 whose answers the test controls (status, body, delay, hang)."""
    server = HTTPServerFixture()
    yield server
    server.close()


def _stopped(pid: int) -> bool:
    """The process is gone, or a zombie no one has reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return True


class ExampleApp:
    """The example service (examples/app) started for real in a temporary root on a free port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        for name in ("package.json", "package-lock.json", "requirements.txt"):  # what the weekly audits read
            if (ROOT / "examples/app" / name).exists():
                shutil.copy(ROOT / "examples/app" / name, root / name)
        self.env = dict(os.environ, EXAMPLE_ROOT=str(root), EXAMPLE_PORT=str(self.port))

    def ctl(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "examples/app/ctl.py"), command], env=self.env,
                              capture_output=True, text=True, timeout=60)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM the server and wait until it has stopped running.

        `ctl down` waits until the process is gone from the process table, which takes as long as its reaper
        (init) does: seconds on some machines. A test's teardown needs only the server stopped; a zombie is.
        """
        try:
            pid = int((self.root / "run" / "app.pid").read_text().strip())
            if Path(f"/proc/{pid}/comm").read_text().strip() != "example-app":
                return  # already gone (and the pid perhaps someone else's now)
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            return
        wait_for(lambda: _stopped(pid), timeout, what=f"example-app (pid {pid}) to stop")

    def config(self, **overrides: Any) -> dict:
        """The example's maintenance config pointed at this instance (root absolute, this port)."""
        data = yaml.safe_load((ROOT / "maintenance.yaml").read_text())
        data["root"] = str(self.root)
        data["health"][0]["url"] = f"http://127.0.0.1:{self.port}/health"
        data["services"]["ports"] = [self.port]
        data.update(overrides)
        return data


@pytest.fixture
def example_app(tmp_path_factory: pytest.TempPathFactory):
    app = ExampleApp(tmp_path_factory.mktemp("example-app"))
    started = app.ctl("up")
    assert started.returncode == 0, started.stdout + started.stderr
    yield app
    app.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


