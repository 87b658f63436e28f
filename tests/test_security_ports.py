"""Open ports: a listener the test opens, not on the allow-list, is named with the process behind it."""
from __future__ import annotations

import os
import socket

import testinfra

from conftest import require_tool
from opsproof.hosts.target import Target
from opsproof.security.ports import open_ports


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
        assert "on ports not in security.allowed_ports [22]: " in test["message"], test["message"]
        # The message lists every other listener on this (shared) machine and may be cut short in the summary:
        # the evidence record carries the whole list.
        unexpected = test["evidence"][0]["data"]["unexpected"]
        named = [u for u in unexpected if u.startswith(f"tcp {port}: 127.0.0.1:{port} (")]
        assert len(named) == 1 and f"(pid {os.getpid()})" in named[0], unexpected


def test_ports_skip_when_not_configured(suite, tmp_path):
    suite.config({"service": "ports-test", "root": str(tmp_path), "security": {"tls": []}})
    suite.run("-m", "quarterly", "checks/test_security.py")
    tests = {t["id"].split("::")[1]: t for t in suite.summary()["tests"]}
    assert tests["test_no_unexpected_ports[local]"]["message"] == "no security.allowed_ports in maintenance.yaml"
    assert tests["test_tls_certificate[none-configured]"]["message"].startswith("security: nothing of this kind")
