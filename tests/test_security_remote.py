"""Open ports and the configuration audit through testinfra's ssh backend: a real sshd on 127.0.0.1.

The "remote" host is this machine reached over SSH, so it sees the listener this test opens and the files it
writes. One sshd for the module; the suite runs are grouped (a clean run, then a drifted run with the port
not allowed), and `opsproof baseline --host ssh://...` writes the baseline over the same connection.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import require_tool
from helpers.sshd import ALIAS, Sshd
from opsproof.hosts.target import Target
from opsproof.security.ports import listeners

SECRET = "s3cret"
HOST = f"ssh://{ALIAS}"
CHECKS = ("checks/test_security.py", "checks/test_config_audit.py")


@pytest.fixture(scope="module", autouse=True)
def target_tools() -> None:
    """The tools these checks run on the target (this machine), checked before the module's sshd starts."""
    require_tool("ss", "sha256sum")


def _logins(sshd: Sshd) -> int:
    """New SSH logins from here on: ends the multiplexing master an earlier step left (ControlPersist), then counts."""
    subprocess.run(["ssh", "-F", str(sshd.ssh_config), "-O", "exit", ALIAS], capture_output=True, timeout=30)
    return sshd.log.read_text().count("Accepted publickey")


def _accepted(sshd: Sshd) -> int:
    return sshd.log.read_text().count("Accepted publickey")


def _service(root: Path) -> None:
    (root / "config").mkdir(parents=True)
    for name, text in (("app.yml", f"password: {SECRET}\n"), ("db.yml", "port: 5432\n")):
        (root / "config" / name).write_text(text)
        (root / "config" / name).chmod(0o640)


def _config(suite, root: Path, allowed: list[int]) -> Path:
    return suite.config({"service": "remote-audit", "root": str(root), "security": {"allowed_ports": allowed},
                         "config_audit": {"files": ["config/*.yml"], "baseline": "config.sha256"}})


def _baseline(config: Path, sshd: Sshd) -> subprocess.CompletedProcess:
    spec = f"{HOST}?ssh_config={sshd.ssh_config}"
    return subprocess.run([sys.executable, "-m", "opsproof.cli", "baseline", f"--maint-config={config}",
                           f"--host={spec}"], capture_output=True, text=True, timeout=120)


def _by_check(suite) -> dict[str, dict]:
    """The checks that read the host, by name; each must have run on the ssh host (TLS, unconfigured, has none)."""
    tests = {}
    for test in suite.summary()["tests"]:
        if "test_tls_certificate" not in test["id"]:
            assert test["id"].endswith(f"[{HOST}]"), f"a check not run on the ssh host: {test['id']}"
            tests[test["id"].split("::")[1].split("[")[0]] = test
    return tests


def _unexpected(test: dict) -> list[str]:
    [data] = [e["data"] for e in test["evidence"] if "unexpected" in e["data"]]
    return data["unexpected"]


def test_baseline_over_ssh_is_read_by_sha256sum(suite, tmp_path, sshd):
    """`opsproof baseline --host ssh://...` logs in through the sshd and writes sha256sum's format at root."""
    root = tmp_path / "srv"
    _service(root)
    config = _config(suite, root, [22])
    before = _logins(sshd)
    written = _baseline(config, sshd)
    assert written.returncode == 0, written.stderr
    assert "2 file(s) recorded" in written.stdout and SECRET not in written.stdout + written.stderr
    assert _accepted(sshd) > before, "the baseline was not written through the test sshd"
    check = subprocess.run(["sha256sum", "-c", "config.sha256"], cwd=root, capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check
    assert check.stdout.splitlines() == ["config/app.yml: OK", "config/db.yml: OK"]


def test_ports_and_config_audit_over_ssh(suite, tmp_path, sshd):
    """Over ssh: an allowed listener is not named and a clean config passes; then the same listener, not allowed,
    is named with this process, and drift and a world-writable file fail by name — no secret anywhere."""
    import testinfra

    root = tmp_path / "srv"
    _service(root)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        remote = Target(testinfra.get_host(HOST, ssh_config=str(sshd.ssh_config)), 30)
        seen = {x.port for x in listeners(remote)}   # this shared machine's other listeners, as the target sees them
        assert port in seen
        config = _config(suite, root, sorted(seen))
        assert _baseline(config, sshd).returncode == 0

        before = _logins(sshd)
        clean = suite.run("-m", "quarterly or monthly", f"--hosts={HOST}", f"--ssh-config={sshd.ssh_config}", *CHECKS)
        assert _accepted(sshd) > before, "the suite did not log in through the test sshd"
        tests = _by_check(suite)
        assert tests["test_config_matches_baseline"]["outcome"] == "passed", clean.stdout.str()
        assert tests["test_config_permissions"]["outcome"] == "passed", clean.stdout.str()
        ports = tests["test_no_unexpected_ports"]
        # Other work on this machine may open a port between the measurement and the run: only those may be named.
        others = [u for u in _unexpected(ports) if int(u.split()[1].rstrip(":")) not in seen]
        assert others == _unexpected(ports), _unexpected(ports)
        assert ports["outcome"] == ("failed" if others else "passed"), ports
        assert port in ports["evidence"][0]["data"]["listening"]

        _config(suite, root, [22])
        (root / "config" / "app.yml").write_text(f"password: {SECRET}-rotated\n")   # changed
        (root / "config" / "db.yml").unlink()                                      # removed
        (root / "config" / "new.yml").write_text("debug: true\n")                  # added
        (root / "config" / "new.yml").chmod(0o666)                                 # world-writable
        drifted = suite.run("-m", "quarterly or monthly", f"--hosts={HOST}", f"--ssh-config={sshd.ssh_config}",
                            "--junitxml=reports/junit.xml", *CHECKS)
    assert drifted.ret == 1, drifted.stdout.str()
    tests = _by_check(suite)
    ports = tests["test_no_unexpected_ports"]
    assert ports["outcome"] == "failed"
    named = [u for u in _unexpected(ports) if u.startswith(f"tcp {port}: 127.0.0.1:{port} (")]
    assert len(named) == 1 and f"(pid {os.getpid()})" in named[0], _unexpected(ports)
    drift = tests["test_config_matches_baseline"]
    assert drift["outcome"] == "failed"
    assert "added: config/new.yml; removed: config/db.yml; changed: config/app.yml" in drift["message"], drift
    perms = tests["test_config_permissions"]
    assert perms["outcome"] == "failed"
    assert "world-writable configuration file(s): config/new.yml" in perms["message"], perms
    written = sorted(p.name for p in suite.reports.iterdir() if p.is_file())
    assert "junit.xml" in written and any(n.endswith(".json") for n in written) and any(n.endswith(".html")
                                                                                        for n in written), written
    everything = drifted.stdout.str() + drifted.stderr.str() + clean.stdout.str() + clean.stderr.str()
    everything += "".join(p.read_text() for p in suite.reports.iterdir() if p.is_file())
    assert SECRET not in everything, "a config file's contents reached the output or a report"
