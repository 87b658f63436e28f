"""An installed pytest plugin (entry point `opsproof`) that only guards one mistake.

`pytest --maint-config /abs/path.yaml` (a space, not `=`): pytest decides its rootdir from
path-like arguments before this suite's conftest adds the option, so it takes the path for a
test path, misses pytest.ini and conftest.py, and would stop with "unrecognized arguments".
This runs before that and says what to write instead. It also keeps pytest from rewriting the asserts of the
library (below). Everything else lives in engine/ and fixtures/.
"""
from __future__ import annotations

from pathlib import Path

import pytest


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    _leave_library_asserts(early_config.pluginmanager)
    if "--maint-config" not in args:
        return
    i = args.index("--maint-config")
    value = args[i + 1] if i + 1 < len(args) else ""
    inipath = early_config.inipath
    suite_found = inipath is not None and Path(inipath.parent, "engine", "options.py").exists()
    if value and not value.startswith("-") and not suite_found:
        raise pytest.UsageError(
            f"--maint-config {value}: write --maint-config={value} (with '='), or set OPSPROOF_CONFIG={value}. "
            f"With a space pytest takes {value} for a test path and looks for its pytest.ini from there "
            f"(found: {inipath or 'none'}), so this suite's conftest and options are never loaded.")


def _leave_library_asserts(pluginmanager: pytest.PytestPluginManager) -> None:
    """pytest marks every module of a distribution that has a pytest plugin for assertion rewriting; from a checkout
    (`python -m pytest`, with opsproof.egg-info on sys.path) that is the whole of opsproof/, which never runs
    pytest's asserts: rewriting it only cost start-up. checks/ (the test files) and conftest.py are still rewritten."""
    marked = getattr(getattr(pluginmanager, "rewrite_hook", None), "_must_rewrite", None)
    if isinstance(marked, set):
        marked.discard("opsproof")
