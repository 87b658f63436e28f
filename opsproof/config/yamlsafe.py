"""YAML read as a config must be: a key written twice is refused, and aliases may not expand without bound.

PyYAML keeps the last of two equal keys without a word (`disk:` at 1 %, later `disk:` at 99 %: the run
passes at 99 %), and builds an alias bomb (anchors of anchors) cheaply as shared objects that every later
walk — validation, a repr in a message — expands. Both are found on the composed node graph, before any
object is built: each distinct node is visited once, so the check itself is linear in the file.
"""
from __future__ import annotations

from typing import Any

import yaml

MAX_ALIAS_NODES = 10_000     # nodes that aliases may add beyond the file's own: sharing a block is fine, a bomb not
_MERGE = "tag:yaml.org,2002:merge"


class YamlRefused(ValueError):
    """The YAML is well-formed but unusable as a config: `key` is where, the text says what and where."""

    def __init__(self, key: str, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.key, self.problem, self.hint = key, problem, hint


def _children(node: yaml.Node) -> list[tuple[str, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        out = []
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            out += [(f"{name}", key), (f"{name}", value)]
        return out
    if isinstance(node, yaml.SequenceNode):
        return [(f"[{i}]", item) for i, item in enumerate(node.value)]
    return []


def _join(path: str, part: str) -> str:
    return path + part if part.startswith("[") or not path else f"{path}.{part}"


def _duplicates(node: yaml.MappingNode, path: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
            continue
        line = key.start_mark.line + 1
        if (key.tag, key.value) in seen:
            first = seen[(key.tag, key.value)]
            raise YamlRefused(_join(path, key.value), f"duplicate key {key.value!r} at line {line} (first at line "
                              f"{first})", "keep one: YAML would silently use the last and ignore the first")
        seen[(key.tag, key.value)] = line


def check(root: yaml.Node) -> None:
    """Refuse duplicate keys (at any depth) and aliases that expand past MAX_ALIAS_NODES, or that refer to themselves."""
    expanded: dict[int, int] = {}
    state: dict[int, str] = {}                  # id -> "open" while its children are walked, "done" after
    stack: list[tuple[yaml.Node, str, bool]] = [(root, "", False)]
    while stack:
        node, path, closing = stack.pop()
        ident = id(node)
        if closing:
            expanded[ident] = 1 + sum(expanded[id(child)] for _, child in _children(node))
            state[ident] = "done"
            continue
        if state.get(ident) == "done":
            continue
        if state.get(ident) == "open":
            raise YamlRefused(path, "an alias refers to a node that contains it (a recursive YAML structure)",
                              "write the value out instead of referring to itself")
        state[ident] = "open"
        if isinstance(node, yaml.MappingNode):
            _duplicates(node, path)
        stack.append((node, path, True))
        for part, child in reversed(_children(node)):
            if state.get(id(child)) != "done":
                stack.append((child, _join(path, part), False))
    added = expanded[id(root)] - len(expanded)
    if added > MAX_ALIAS_NODES:
        raise YamlRefused("", f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes beyond the file's own "
                          f"({len(expanded)} written)", "write the values out, or share smaller blocks")


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where PyYAML has it: the same nodes


def load(raw: bytes) -> Any:
    """One YAML document, checked as above, as plain Python values; yaml.YAMLError when it is not YAML at all."""
    loader = _LOADER(raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_all(raw: bytes) -> list[Any]:
    """Every document of a YAML stream, each checked as in load()."""
    loader = _LOADER(raw)
    out = []
    try:
        while loader.check_node():
            node = loader.get_node()
            check(node)
            out.append(loader.construct_document(node))
    finally:
        loader.dispose()
    return out
