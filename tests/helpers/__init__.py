"""What the suite's own tests share besides fixtures (those are in tests/conftest.py).

This module: the checkout's root, and the small functions every kind of test uses — skip (or, under CI, fail)
for a missing prerequisite, a free loopback port, a bounded wait, the ConfigError a config must raise.
Beside it, one module per thing a test starts or builds (a server, the example service, a copy of the suite,
the data a group of tests shares), each opening with a line that says what it holds.

No test module imports another test module or conftest.py (tests/test_layout.py holds that).
"""
from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRICT_ENV = "OPSPROOF_CI"  # set by .ci/run: a missing system tool fails instead of skipping


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


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at `address` right now."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], bool], timeout: float = 10, what: str = "condition") -> None:
    """Poll `predicate` every 50 ms until it holds; an AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
