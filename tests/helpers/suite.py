"""A copy of the suite (conftest, pytest.ini, engine/, fixtures/, checks/) in a pytester folder, run in a subprocess: the
`suite` fixture. Its methods read what the run wrote (the JSON summary, the HTML report)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import ROOT


# Loaded into every suite run (`-p`): once the checks are collected, the objects that exist then (modules, the
# config, the items) move out of the garbage collector's sight. pytest's unraisable-exception plugin collects five
# times at exit, and with them tracked that took about half a second of each run; objects the tests create are
# still collected (and their unraisable exceptions still reported).
GC_PLUGIN = """import gc


def pytest_collection_finish(session):
    gc.freeze()
"""


class Suite:
    """A copy of the suite (conftest, pytest.ini, engine/, fixtures/, checks/) in a pytester folder, run in a subprocess."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path = Path(pytester.path)
        for name in ("conftest.py", "pytest.ini"):
            shutil.copy(ROOT / name, self.path / name)
        for name in ("engine", "fixtures", "checks"):
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
