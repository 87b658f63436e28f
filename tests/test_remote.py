"""The checks, unchanged, against remote hosts through testinfra: a real sshd on 127.0.0.1.

The example service runs on this machine, so the "remote" host (reached over SSH, by the `ssh`
command or by paramiko) sees the same files, processes and ports as the local one: every check
that passes locally must pass remotely too, carrying the host in its test id. Hosts that refuse
or never answer must fail every check that needs them, naming the reason, in bounded time.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import testinfra

from helpers import free_port, require_tool, unavailable
from helpers.sshd import ALIAS, BACKENDS, SilentListener, Sshd
from opsproof.hosts.target import Target, TargetError

ALL_CHECKS = ("test_disk_space", "test_disk_inodes", "test_no_new_errors", "test_backup_exists",
              "test_newest_backup_is_fresh", "test_newest_backup_is_not_trivial", "test_process_running",
              "test_port_listening")


# Hosts that cannot be reached, and what the reason must say for each.
UNREACHABLE = {"opsproof-refused": "refused|Unable to connect",
               "opsproof-silent": "timed out|banner|No existing session|timeout"}


@pytest.fixture(scope="module")
def unreachable_hosts(sshd: Sshd):
    """The module's sshd's ssh_config also names a refusing host and a silent one (UNREACHABLE)."""
    silent = SilentListener()
    sshd.add_host("opsproof-refused", "127.0.0.1", free_port())  # nothing listens there
    sshd.add_host("opsproof-silent", "127.0.0.1", silent.port)   # accepts TCP, never sends a banner
    yield UNREACHABLE
    silent.close()


def _accepted(sshd: Sshd) -> int:
    return sshd.log.read_text().count("Accepted publickey")


def _by_id(suite) -> dict[str, dict]:
    return {t["id"]: t for t in suite.summary()["tests"]}


def _evidence(test: dict, label: str) -> dict:
    found = [e["data"] for e in test.get("evidence", []) if e["label"] == label]
    assert found, f"no {label} evidence on {test['id']}: {test.get('evidence')}"
    return found[-1]


CLOSURE_PLUGIN = '''
import json, os

def pytest_collection_finish(session):
    with open(os.environ["OPSPROOF_TEST_CLOSURES"], "w") as fh:
        json.dump({item.nodeid: list(item.fixturenames) for item in session.items}, fh)
'''


def _run_recording_fixtures(suite, *args, **kw):
    """Run the suite and return (result, nodeid -> every fixture the item uses, directly or not)."""
    (suite.path / "_opsproof_closures.py").write_text(CLOSURE_PLUGIN)
    out = suite.path / "closures.json"
    result = suite.run("-p", "_opsproof_closures", *args, env={"OPSPROOF_TEST_CLOSURES": str(out)}, **kw)
    return result, json.loads(out.read_text())


@pytest.mark.slow
def test_checks_pass_on_remote_hosts_as_locally(suite, example_app, sshd):
    """One run, three hosts (local, ssh, paramiko): every check reading a host is one item per host, the host in
    its id, and ends remotely as it ends locally; disk, error log, backups and services pass on all three."""
    suite.config(example_app.config())
    before = _accepted(sshd)
    remotes = [f"{backend}://{ALIAS}" for backend in BACKENDS]
    result, closures = _run_recording_fixtures(suite, "--hosts=" + ",".join(["local://", *remotes]),
                                               f"--ssh-config={sshd.ssh_config}")
    assert result.ret == 0, result.stdout.str()
    tests = _by_id(suite)
    outcomes = {i: t["outcome"] for i, t in tests.items() if "target" in closures[i]}
    # Checks of the config alone (e.g. the window's schedule) have no host; every other item names its host.
    local = [i for i in outcomes if not any(r in i for r in remotes)]
    assert all(i.endswith(("[local]", "-local]")) for i in local), local
    for check in ALL_CHECKS:
        items = [i for i in local if f"::{check}[" in i]
        assert items and all(outcomes[i] == "passed" for i in items), (check, {i: outcomes[i] for i in items})
    for host_id in remotes:
        remote = [i for i in outcomes if host_id in i]
        assert sorted(i.replace(host_id, "local") for i in remote) == sorted(local), host_id
        # Unchanged over SSH: each check ends as it ends locally, except the loopback health URL.
        differ = {i: (outcomes[i.replace(host_id, "local")], outcomes[i]) for i in remote
                  if outcomes[i] != outcomes[i.replace(host_id, "local")]}
        assert list(differ) == [i for i in remote if "::test_endpoint_healthy[" in i], differ
        # The loopback health URL cannot be probed "on" the remote host from here: skipped with the reason.
        [health] = [tests[i] for i in remote if "::test_endpoint_healthy[" in i]
        assert health["outcome"] == "skipped", health
        assert "loopback URL" in health["message"] and host_id in health["message"] and "{host}" in health["message"]
    assert _accepted(sshd) > before, "the checks did not log in through the test sshd"


class _Ok(BaseHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).hits.append(self.headers.get("Host", ""))
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def named_machine(sshd):
    """This machine under its own host name: an ssh_config alias to the sshd, an HTTP server where the name resolves."""
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError as exc:
        unavailable(f"this machine's host name {name!r} does not resolve ({exc}): cannot probe it by name")
    if name == "localhost" or name.startswith("127."):
        pytest.skip(f"this machine is named {name!r}: a loopback name, skipped for remote hosts by design")
    sshd.add_host(name, "127.0.0.1", sshd.port)
    _Ok.hits = []
    server = ThreadingHTTPServer((address, 0), _Ok)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield name, server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_health_url_with_host_placeholder_probes_each_remote_host(suite, example_app, sshd, named_machine):
    """`{host}` in a health URL becomes the target's name and is probed; a loopback URL beside it is skipped."""
    name, port = named_machine
    config = example_app.config()
    config["health"] = [dict(config["health"][0], name="loopback"),
                        {"name": "by-host", "url": f"http://{{host}}:{port}/health", "status": 200,
                         "json": {"status": "ok"}, "timeout_s": 5}]
    suite.config(config)
    hosts = [f"{backend}://{name}" for backend in BACKENDS]
    result = suite.run("--hosts=" + ",".join(hosts), f"--ssh-config={sshd.ssh_config}", "-k", "test_endpoint_healthy")
    assert result.ret == 0, result.stdout.str()
    tests = _by_id(suite)
    for host_id in hosts:
        [by_host] = [t for i, t in tests.items() if "[by-host-" in i and host_id in i]
        [loopback] = [t for i, t in tests.items() if "[loopback-" in i and host_id in i]
        assert by_host["outcome"] == "passed", by_host
        assert _evidence(by_host, "HealthResult")["url"] == f"http://{name}:{port}/health"
        assert loopback["outcome"] == "skipped" and "loopback URL" in loopback["message"], loopback
    assert len(_Ok.hits) == len(hosts) and set(_Ok.hits) == {f"{name}:{port}"}, _Ok.hits


@pytest.mark.slow
def test_unreachable_hosts_fail_every_check(suite, example_app, sshd, unreachable_hosts):
    """A host that refuses or never answers fails (never passes, never skips) every check, saying why, quickly.

    One run, four hosts: each of the two backends against a closed port and against a listener that never speaks."""
    suite.config(example_app.config())
    hosts = [f"{backend}://{alias}" for alias in unreachable_hosts for backend in BACKENDS]
    started = time.monotonic()
    result, closures = _run_recording_fixtures(suite, "--hosts=" + ",".join(hosts), f"--ssh-config={sshd.ssh_config}",
                                               timeout=280)
    elapsed = time.monotonic() - started
    assert result.ret == 1, result.stdout.str()
    every = _by_id(suite)
    # Every check that touches the host (through `target`, as the house rules require) fails; checks on the
    # config alone (the window's schedule) or on sections the config leaves out may pass or skip.
    for test_id, test in every.items():
        if "host" in closures[test_id] and "target" not in closures[test_id] and test["outcome"] == "passed":
            pytest.fail(f"{test_id} uses testinfra's host without the `target` fixture and passed on an "
                        f"unreachable host: {test}")
    for host_id in hosts:
        alias = host_id.split("://")[1]
        tests = {i: t for i, t in every.items() if "target" in closures[i] and host_id in i}
        assert set(ALL_CHECKS) <= {i.split("::")[1].split("[")[0] for i in tests}, (host_id, list(tests))
        for test in tests.values():
            assert test["outcome"] in ("failed", "error"), test
            assert "unreachable" in test["message"], test
            assert "CommandResult(" not in test["message"] and "The above exception" not in test["message"], test
        reasons = " ".join(t["message"] for t in tests.values())
        assert re.search(unreachable_hosts[alias], reasons), (host_id, reasons[:2000])
        if alias == "opsproof-refused":
            assert f"port {sshd.port_of(alias)}" in reasons, reasons[:2000]
        # Found unreachable once, the host is not retried by the other check modules.
        first_seen = sum("first seen earlier in this run" in t["message"] for t in tests.values())
        assert first_seen >= len(tests) // 2, (host_id, first_seen, len(tests))
    # One connect timeout per silent host (testinfra's default 10 s; paramiko's banner wait), then no retries:
    # retrying per check module would take several minutes.
    assert elapsed < 150, f"took {elapsed:.0f} s"


# --- the library over SSH, in process -------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_read_range_over_ssh_is_byte_exact(sshd, tmp_path, backend):
    """dd over SSH returns exactly the local bytes, binary and across MB boundaries."""
    data = os.urandom(3 * 1024 * 1024 + 12345)
    path = tmp_path / "blob"
    path.write_bytes(data)
    target = Target(sshd.host(backend), 30)
    assert not target.is_local
    for offset, length in [(0, 10), (1, 1024 * 1024), (1024 * 1024 - 7, 2 * 1024 * 1024 + 9), (len(data) - 5, 100),
                           (len(data), 10)]:
        assert target.read_range(str(path), offset, length) == data[offset:offset + length], (offset, length)
    st = target.stat(str(path))
    assert (st.exists, st.is_file, st.size, st.inode) == (True, True, len(data), path.stat().st_ino)
    assert target.stat(str(tmp_path / "missing")).exists is False


@pytest.mark.slow
def test_error_log_state_is_kept_per_host_across_runs(suite, example_app, sshd):
    """Across two runs, local and SSH each read only the bytes written since their own last run."""
    suite.config(example_app.config())
    hosts = (f"--hosts=local://,ssh://{ALIAS}", f"--ssh-config={sshd.ssh_config}", "-k", "test_no_new_errors")
    first = suite.run(*hosts)
    assert first.ret == 0, first.stdout.str()
    scans1 = {i: _evidence(t, "ErrorScan") for i, t in _by_id(suite).items()}
    assert len(scans1) == 2 and all(s["reference"].startswith("first run") for s in scans1.values()), scans1
    line = "2026-11-26T00:00:00Z ERROR payment provider timed out\n"
    with (example_app.root / "logs" / "error.log").open("a") as fh:
        fh.write(line)
    second = suite.run(*hosts)
    assert second.ret == 1, second.stdout.str()
    tests = _by_id(suite)
    assert len(tests) == 2
    for test_id, test in tests.items():
        scan = _evidence(test, "ErrorScan")
        assert test["outcome"] == "failed", test
        assert scan["start_offset"] == scans1[test_id]["end_offset"], (scan, scans1[test_id])
        assert (scan["matches"], scan["bytes_read"]) == (1, len(line)), scan
        assert "payment provider" in test["message"]
    states = sorted(p.parent.name for p in (suite.path / ".opsproof").glob("*/errorlog.json"))
    assert states == ["local", f"ssh_{ALIAS}"], states


# --- a peer that freezes mid-session --------------------------------------------------------------

@pytest.fixture
def own_sshd(tmp_path):
    require_tool("/usr/sbin/sshd", "ssh", "ssh-keygen")
    server = Sshd(tmp_path / "sshd", connect_timeout=3).start()
    yield server
    server.stop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_frozen_peer_is_unreachable_within_the_bound(own_sshd, backend):
    """A peer that stops answering after login does not hang the run: the call gives up and says so."""
    host = testinfra.get_host(f"{backend}://{ALIAS}?timeout=3", ssh_config=str(own_sshd.ssh_config))
    target = Target(host, 1)
    target.ping()  # connected (paramiko keeps this session open)
    frozen = [own_sshd.proc.pid, *own_sshd.children()]
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(TargetError) as info:
            target.run("echo still-there")
        elapsed = time.monotonic() - started
    finally:
        for pid in frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    assert "unreachable" in str(info.value) and ALIAS in str(info.value), info.value
    # At most command_timeout 1 s + 5 s kill grace + 3 s connect timeout; 3x that for a busy machine
    assert elapsed < 3 * (1 + 5 + 3), elapsed
