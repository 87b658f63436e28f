"""Open ports: a listener the test opens, not on the allow-list, is named with the process behind it."""
from __future__ import annotations

import os
import socket
import subprocess

import pytest
import testinfra

from helpers import require_tool
from opsproof.hosts.target import Target
from opsproof.security.ports import open_ports, parse


def test_unlisted_listener_is_named_with_its_process(suite, tmp_path):
    require_tool("ss")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        target = Target(testinfra.get_host("local://"), 30)

        result = open_ports(target, [22])
        assert result.error is None and port in result.listening
        mine = [line for line in result.unexpected if line.startswith(f"tcp {port}:")]
        assert len(mine) == 1 and f"(pid {os.getpid()})" in mine[0], mine   # the process behind it: this test

        allowed = open_ports(target, [port])
        assert port in allowed.listening and not [u for u in allowed.unexpected if u.startswith(f"tcp {port}:")]

        suite.config({"service": "ports-test", "root": str(tmp_path), "security": {"allowed_ports": [22]}})
        run = suite.run("-m", "quarterly", "checks/test_security.py")
        assert run.ret == 1, run.stdout.str()
        test = next(t for t in suite.summary()["tests"] if "test_no_unexpected_ports" in t["id"])
        assert test["outcome"] == "failed"
        # The message lists every other listener on this (shared) machine, and the summary keeps its last 2 000
        # characters: with many listeners the sentence's start is cut, its remedy is not. The evidence record
        # carries the whole list.
        assert "add the port to security.allowed_ports if it is meant to be open" in test["message"], test["message"]
        unexpected = test["evidence"][0]["data"]["unexpected"]
        named = [u for u in unexpected if u.startswith(f"tcp {port}: 127.0.0.1:{port} (")]
        assert len(named) == 1 and f"(pid {os.getpid()})" in named[0], unexpected


def test_ports_skip_when_not_configured(suite, tmp_path):
    suite.config({"service": "ports-test", "root": str(tmp_path), "security": {"tls": []}})
    suite.run("-m", "quarterly", "checks/test_security.py")
    tests = {t["id"].split("::")[1]: t for t in suite.summary()["tests"]}
    assert tests["test_no_unexpected_ports[local]"]["message"] == "no security.allowed_ports in maintenance.yaml"
    assert tests["test_tls_certificate[none-configured]"]["message"].startswith("security: nothing of this kind")


def test_parser_reads_real_ss_output(tmp_path):
    """`ss -H -l -t -n -p` as this machine prints it: IPv4 and IPv6 loopback, `[::]` (v6 only), `*` (dual-stack),
    and one socket shared by two processes (a child holding the inherited descriptor)."""
    require_tool("ss", "sleep")
    socks = []

    def listen(family, address, v6only=None) -> int:
        sock = socket.socket(family)
        socks.append(sock)
        if v6only is not None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
        sock.bind((address, 0))
        sock.listen(1)
        return sock.getsockname()[1]

    try:
        v4 = listen(socket.AF_INET, "127.0.0.1")
        try:
            v6 = listen(socket.AF_INET6, "::1")
            any6 = listen(socket.AF_INET6, "::", v6only=1)
            dual = listen(socket.AF_INET6, "::", v6only=0)
        except OSError as exc:
            pytest.skip(f"no IPv6 on this machine: {exc}")
        shared = listen(socket.AF_INET, "127.0.0.1")
        child = subprocess.Popen(["sleep", "60"], pass_fds=[socks[-1].fileno()])
        try:
            out = subprocess.run(["ss", "-H", "-l", "-t", "-n", "-p"], capture_output=True, text=True, timeout=30,
                                 check=True).stdout
        finally:
            child.kill()
            child.wait(10)
    finally:
        for sock in socks:
            sock.close()
    me = f"(pid {os.getpid()})"
    by_port = {}
    for x in parse(out):
        by_port.setdefault(x.port, []).append(x)
    assert [(x.address, me in x.processes) for x in by_port[v4]] == [(f"127.0.0.1:{v4}", True)], out
    assert [(x.address, me in x.processes) for x in by_port[v6]] == [(f"[::1]:{v6}", True)], out
    assert [(x.address, me in x.processes) for x in by_port[any6]] == [(f"[::]:{any6}", True)], out
    assert [(x.address, me in x.processes) for x in by_port[dual]] == [(f"*:{dual}", True)], out
    [both] = by_port[shared]
    assert f"sleep (pid {child.pid})" in both.processes and me in both.processes, both
    assert both.line() == f"127.0.0.1:{shared} ({both.processes})"


def test_parser_without_header_flag_or_process():
    """A header (an ss without -H) is skipped; a listener whose process ss does not show (the 2024 line, captured on
    this machine: a socket of another namespace) is still named; an interface-scoped address (systemd-resolved's
    stub, as ss prints it on such hosts) keeps its port."""
    out = ("State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
           "LISTEN 0      128      0.0.0.0:2024  0.0.0.0:*\n"
           'LISTEN 0      4096   127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=512,fd=14))\n')
    found = parse(out)
    assert [(x.port, x.address, x.processes) for x in found] == [
        (53, "127.0.0.53%lo:53", "systemd-resolve (pid 512)"), (2024, "0.0.0.0:2024", "")]
    assert found[1].line() == "0.0.0.0:2024 (process not visible: run as root to see it)"
