"""maintenance.yaml: the contract users write, validated into one immutable object.

A bad file raises ConfigError naming the file, the key path and what is wrong; nothing else
in the suite runs before this succeeds. Paths: `root` is relative to the config file's
directory, every other relative path is relative to `root` (made absolute here, once).

base: the error and its wording, durations; section: the strict base of every section, which knows its key
path and gives a threshold as a `Setting` (value, key path, warning level); sections/schedule/slo: the
sections; when: the window's rule, start and zone; model: Maint, the whole; openslo: OpenSLO documents
as objectives; loader: find, load, resolve; inputs: the one reader of every file the suite reads (regular files,
bounded; YAML through yamlsafe's checks). The package is a leaf: it imports nothing else of opsproof.
"""
from __future__ import annotations

import importlib
from typing import Any

# Each public name and the module that defines it, imported at the first use of the name (PEP 562): a reader of
# one leaf (`from opsproof.config import inputs`, as the state store does) or of the error alone loads neither
# pydantic nor yaml.
_WHERE = {
    "base": ("ACTIONS", "DEFAULT_NAME", "ENV_VAR", "Duration", "parse_duration"),
    "errors": ("ConfigError",),
    "loader": ("find", "for_groups", "load"),
    "model": ("Maint",),
    "process": ("Attestations", "Docs", "Notify", "Window"),
    "section": ("Section", "Setting"),
    "sections": ("Backups", "Database", "Disk", "Endpoint", "Logs", "Monitoring", "Restore", "Rotate", "Services",
                 "SmokeQuery", "Temp", "logrotate_period"),
    "slo": ("Objective", "Slo", "SloSource"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}
__all__ = list(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
