"""A setting by its key path (`disk.max_used_percent`, `health[api].max_latency_ms`): what a check compares against.

Checks name the key and read the value through it, so the key shown beside a threshold in the report is
the key the value came from. A path is dotted names; `[...]` selects from a list by position or by the
item's `name` (or `label`), and from a mapping by key (`attestations.tasks[team-training]`).
"""
from __future__ import annotations

import re
from typing import Any

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[([^\]]+)\]")


class KeyPathError(LookupError):
    """The key path names nothing in the configuration: a defect in the check that asked for it."""


_NONE = object()
_INDEX: dict[int, tuple[Any, dict[Any, Any]]] = {}   # id(list) -> (the list, kept so its id is not reused; index)


def _named(items: Any) -> dict[Any, Any]:
    """name or label -> the first item with it: built once per list of the (immutable) config, for lists of hundreds
    of endpoints looked up once per item. Rebuilt when the list's length changed."""
    kept = _INDEX.get(id(items))
    if kept is None or kept[0] is not items or kept[1].get(_NONE) != len(items):
        index: dict[Any, Any] = {_NONE: len(items)}
        for item in items:
            for key in (getattr(item, "name", None), getattr(item, "label", None)):
                index.setdefault(key, item)
        if len(_INDEX) >= 64:  # a process that loads many configs (the suite's own tests) keeps only the latest
            _INDEX.clear()
        kept = _INDEX[id(items)] = (items, index)
    return kept[1]


def _select(value: Any, selector: str, path: str) -> Any:
    if isinstance(value, dict):
        if selector in value:
            return value[selector]
        raise KeyPathError(f"{path}: no key {selector!r} (have {sorted(value)})")
    if isinstance(value, (list, tuple)):
        found = _named(value).get(selector, _NONE)
        if found is not _NONE:
            return found
        if selector.isdigit() and int(selector) < len(value):
            return value[int(selector)]
        raise KeyPathError(f"{path}: no item named {selector!r}")
    raise KeyPathError(f"{path}: {selector!r} selects from a list or mapping, found {type(value).__name__}")


def lookup(config: Any, path: str) -> Any:
    """The value at `path` in `config` (a section object, list or mapping); KeyPathError when there is none."""
    value, pos = config, 0
    for match in _PART.finditer(path):
        if match.start() != pos and path[pos:match.start()] != ".":
            raise KeyPathError(f"{path!r} is not a key path such as disk.max_used_percent or health[api].timeout_s")
        pos = match.end()
        name, selector = match.groups()
        if selector is not None:
            value = _select(value, selector, path)
        elif isinstance(value, dict):
            value = _select(value, name, path)
        elif name in getattr(type(value), "model_fields", {}) or hasattr(value, name):
            value = getattr(value, name)
        else:
            raise KeyPathError(f"{path}: {type(value).__name__} has no {name!r}")
        if value is None:
            raise KeyPathError(f"{path}: {name or selector} is not configured")
    if pos != len(path) or not path:
        raise KeyPathError(f"{path!r} is not a key path such as disk.max_used_percent or health[api].timeout_s")
    return value
