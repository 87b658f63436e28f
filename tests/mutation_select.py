"""pytest plugin for the mutation run (scripts/mutation, pyproject [tool.mutmut]): in-process tests only.

mutmut switches a mutant on inside the pytest process it forks, so a test that runs the suite in a
subprocess (the `suite` fixture) or starts the example app cannot see the mutant: it would only cost
time. Those tests, and the slow and stress ones, are deselected; every other test of the selection runs.
"""
from __future__ import annotations

import pytest

OUT_OF_PROCESS = ("suite", "example_app")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        out = any(name in getattr(item, "fixturenames", ()) for name in OUT_OF_PROCESS)
        heavy = item.get_closest_marker("slow") or item.get_closest_marker("stress")
        (drop if out or heavy else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
