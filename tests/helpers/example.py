"""The example service (examples/app) started for real in a temporary root on a free port: the `example_app`
fixture, and the fleet benchmark's service."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from helpers import ROOT, free_port, wait_for


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
