"""Registers opsproof's pytest plugins (every module of engine/ and fixtures/, as engine.plugin_names derives them) and its
options for the checks in checks/.

The plugins are imported and registered here rather than listed in `pytest_plugins`: pytest rewrites the
asserts of every module it imports as a plugin, and engine/ and fixtures/ assert nothing (checks fail through
`pytest.fail` with their own message), so rewriting them only cost start-up. Assertion rewriting stays
where the asserts are: checks/ (pytest's `python_files`) and this file.
"""
from __future__ import annotations

import gc
import importlib

import pytest

from engine import plugin_names


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register the plugins as this conftest is registered, before the command line is parsed (as `pytest_plugins`
    would, under the same names, so `-p no:fixtures.slo` still blocks one)."""
    for name in plugin_names():
        if pluginmanager.get_plugin(name) is None and not pluginmanager.is_blocked(name):
            pluginmanager.register(importlib.import_module(name), name)


def pytest_collection_finish(session: pytest.Session) -> None:
    # What start-up made (modules, the config, the items) lives to the end: out of the collector's sight, so the
    # run's garbage collections scan only what the checks make.
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # pytest collects five times at exit to report unraisable exceptions; one collection here (whatever it finds is
    # still reported by pytest) and a freeze leave those five nothing to scan.
    gc.collect()
    gc.freeze()
