"""An installed pytest plugin (entry point `opsproof`) that only guards one mistake.

`pytest --maint-config /abs/path.yaml` (a space, not `=`): pytest decides its rootdir from
path-like arguments before this suite's conftest adds the option, so it takes the path for a
test path, misses pytest.ini and conftest.py, and would stop with "unrecognized arguments".
This runs before that and says what to write instead. Everything else lives in fixtures/.
"""
from __future__ import annotations

from pathlib import Path

import pytest


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    if "--maint-config" not in args:
        return
    i = args.index("--maint-config")
    value = args[i + 1] if i + 1 < len(args) else ""
    inipath = early_config.inipath
    suite_found = inipath is not None and Path(inipath.parent, "fixtures", "options.py").exists()
    if value and not value.startswith("-") and not suite_found:
        raise pytest.UsageError(
            f"--maint-config {value}: write --maint-config={value} (with '='), or set OPSPROOF_CONFIG={value}. "
            f"With a space pytest takes {value} for a test path and looks for its pytest.ini from there "
            f"(found: {inipath or 'none'}), so this suite's conftest and options are never loaded.")
