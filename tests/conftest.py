"""The suite's own tests: fixtures and hooks only. What the fixtures start or build, and every other helper a test
shares, is in tests/helpers/ (`from helpers import ...`); no test imports this file.

This file makes tests/ its own rootdir, so the checks' conftest (which loads maintenance.yaml) is not loaded
here; tests run the checks through `suite`.
"""
from __future__ import annotations


import pytest

from helpers import require_tool
from helpers.example import ExampleApp
from helpers.http import HTTPServerFixture
from helpers.sshd import Sshd
from helpers.suite import Suite
from helpers.webhook import Hook


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Suite:
    """A copy of the suite in this test's pytester folder, run in a subprocess (helpers/suite.py)."""
    return Suite(pytester)


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 whose answers the test controls (status, body, delay, hang)."""
    server = HTTPServerFixture()
    yield server
    server.close()


@pytest.fixture
def example_app(tmp_path_factory: pytest.TempPathFactory):
    """The example service running on a free port in a temporary root (helpers/example.py)."""
    app = ExampleApp(tmp_path_factory.mktemp("example-app"))
    started = app.ctl("up")
    assert started.returncode == 0, started.stdout + started.stderr
    yield app
    app.stop()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    """A real sshd on a free loopback port for this test module (its own host key and client config:
    helpers/sshd.py). The only fixture of that name: a module that needs more hosts in its ssh_config adds them
    (Sshd.add_host) in a fixture of its own that requests this one."""
    require_tool("/usr/sbin/sshd", "ssh", "ssh-keygen")
    server = Sshd(tmp_path_factory.mktemp("sshd")).start()
    yield server
    server.stop()


@pytest.fixture
def hook():
    """A webhook receiver on 127.0.0.1 recording every POST (helpers/webhook.py)."""
    server = Hook()
    yield server
    server.close()
