"""YAML read as a config must be: a key written twice is refused, and aliases, lists and nesting are bounded.

PyYAML keeps the last of two equal keys without a word (`disk:` at 1 %, later `disk:` at 99 %: the run
passes at 99 %), and builds an alias bomb (anchors of anchors) cheaply as shared objects that every later
walk — validation, a repr in a message — expands. Both are found on the composed node graph, before any
object is built: each distinct node is visited once, so the check itself is linear in the file. Before that,
`shape` streams the parser's events once (a few bytes at a time, nothing composed) and refuses a list or mapping
longer than MAX_ITEMS and nesting deeper than MAX_DEPTH: composing 7 million list items takes gigabytes, libyaml's
scanner slows quadratically with flow nesting and its composer recurses in C (100 000 `[` crash the process).
Every refusal names the key path where the bound was passed. A scalar PyYAML cannot build (`2026-13-45` read as a
date, an integer of 5 000 digits) is named the same way instead of escaping as a bare ValueError.
"""
from __future__ import annotations

from typing import Any, Optional

import yaml

from .errors import quoted

MAX_ALIAS_NODES = 10_000     # nodes that aliases may add beyond the file's own: sharing a block is fine, a bomb not
MAX_ITEMS = 10_000           # items of one list, keys of one mapping
MAX_DEPTH = 64               # lists and mappings open at once
_MERGE = "tag:yaml.org,2002:merge"


class YamlRefused(ValueError):
    """The YAML is well-formed but unusable as a config: `key` is where, the text says what and where."""

    def __init__(self, key: str, problem: str, hint: str) -> None:
        super().__init__(problem)
        key = key if len(key) <= 200 else f"{key[:100]}...{key[-97:]}"  # 64 levels of long keys: still one line
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


def _join(path: str, part: Any) -> str:
    """`path` with a mapping key (`a.b`), an index (an int: `a[3]`) or an index as written (`a` + `[3]`) added."""
    if isinstance(part, int):
        return f"{path}[{part}]"
    return path + part if part.startswith("[") or not path else f"{path}.{part}"


def _duplicates(node: yaml.MappingNode, path: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
            continue
        line = key.start_mark.line + 1
        if (key.tag, key.value) in seen:
            first = seen[(key.tag, key.value)]
            raise YamlRefused(_join(path, key.value), f"duplicate key {quoted(key.value)} at line {line} "
                              f"(first at line {first})",
                              "keep one: YAML would silently use the last and ignore the first")
        seen[(key.tag, key.value)] = line


def check(root: yaml.Node) -> None:
    """Refuse duplicate keys (at any depth) and aliases that expand past MAX_ALIAS_NODES, or that refer to themselves.

    A walk in document order visits each distinct node once; every later arrival at a node already walked is an
    alias (or a merge) that adds that node's whole expansion to the document. The first such arrival that takes the
    added total past MAX_ALIAS_NODES is where the bomb goes off: its key path is named. (A path is only joined for
    a collection or a refusal: a million scalars cost no strings.)"""
    expanded: dict[int, int] = {}               # node -> its size, aliases expanded, once walked
    walking: set[int] = set()                   # collections whose children are being walked
    added = 0
    stack: list[tuple[yaml.Node, str, Any, Optional[list[yaml.Node]]]] = [(root, "", "", None)]
    while stack:
        node, parent, part, closing = stack.pop()
        ident = id(node)
        if closing is not None:
            expanded[ident] = 1 + sum(expanded[id(child)] for child in closing)
            walking.discard(ident)
            continue
        if ident in expanded:
            added += expanded[ident]
            if added > MAX_ALIAS_NODES:
                raise YamlRefused(_join(parent, part), f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes "
                                  f"beyond the file's own: the alias here brings them to {added}",
                                  "write the values out, or share smaller blocks")
            continue
        if ident in walking:
            raise YamlRefused(_join(parent, part), "an alias refers to a node that contains it (a recursive YAML "
                              "structure)", "write the value out instead of referring to itself")
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            expanded[ident] = 1
            continue
        path = _join(parent, part)
        walking.add(ident)
        if isinstance(node, yaml.MappingNode):
            _duplicates(node, path)
            parts: list[Any] = []
            children: list[yaml.Node] = []
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                parts += [name, name]
                children += [key, value]
        else:
            children = node.value
            parts = list(range(len(children)))
        stack.append((node, "", "", children))
        stack.extend((child, path, name, None) for name, child in zip(reversed(parts), reversed(children)))


def _too_many(path: str, mapping: bool, items: int, cut: bool = False) -> YamlRefused:
    what = "keys" if mapping else "items"
    return YamlRefused(path, f"{'more than ' if cut else ''}{items} {what}, at most {MAX_ITEMS}",
                       f"a {'mapping' if mapping else 'list'} this long is not a setting: shorten it (a glob or a "
                       "group where one is accepted)")


def shape(raw: bytes, cut: bool = False, stream: bool = False) -> None:
    """Refuse, from the parser's events and before anything is composed, a list or mapping of more than MAX_ITEMS and
    nesting deeper than MAX_DEPTH, naming the key path (with `stream`, `document N: ` before it). Syntax errors are
    left to the loading that follows. With `cut` (`raw` is only the head of a longer file), an error at the cut ends
    the walk quietly, and a list still open there is refused when it already holds more than MAX_ITEMS."""
    loader = _LOADER(raw)
    frames: list[list[Any]] = []        # each open collection: [path, is a mapping, items so far, key being read]
    document, prefix = -1, ""
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.DocumentStartEvent):
                document += 1
                prefix = f"document {document}: " if stream else ""
            if isinstance(event, yaml.CollectionEndEvent):
                path, mapping, items, _ = frames.pop()
                if items > MAX_ITEMS:
                    raise _too_many(prefix + path, mapping, items)
            if not isinstance(event, yaml.NodeEvent):
                continue
            path = ""
            if frames:
                top = frames[-1]
                if not top[1]:
                    path, top[2] = _join(top[0], top[2]), top[2] + 1
                elif top[3] is None:                            # a key: its own path is its value's
                    top[3] = event.value if isinstance(event, yaml.ScalarEvent) else "?"
                    path = _join(top[0], top[3])
                else:
                    path, top[2], top[3] = _join(top[0], top[3]), top[2] + 1, None
            if isinstance(event, yaml.CollectionStartEvent):
                if len(frames) >= MAX_DEPTH:
                    raise YamlRefused(prefix + path, f"nested deeper than {MAX_DEPTH} lists and mappings",
                                      "flatten it: no setting nests this deep")
                frames.append([path, isinstance(event, yaml.MappingStartEvent), 0, None])
    except yaml.YAMLError:
        if not cut:
            raise
    finally:
        loader.dispose()
    over = next((f for f in frames if f[2] > MAX_ITEMS), None)     # open at the cut
    if over:
        raise _too_many(prefix + over[0], over[1], MAX_ITEMS, cut=True)


_KINDS = {"tag:yaml.org,2002:int": "an integer", "tag:yaml.org,2002:float": "a number",
          "tag:yaml.org,2002:timestamp": "a date", "tag:yaml.org,2002:binary": "base64 data"}


def _unbuildable(root: yaml.Node, exc: Exception) -> YamlRefused:
    """The scalar that made construction fail with a plain ValueError (PyYAML's constructors raise them for a
    timestamp out of range or an integer past Python's digit limit), named by key path and line."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode) and node.tag in _KINDS:
            try:
                yaml.constructor.SafeConstructor().construct_object(node)
            except (ValueError, OverflowError) as found:
                value = node.value if len(node.value) <= 40 else node.value[:40] + "..."
                return YamlRefused(path, f"line {node.start_mark.line + 1}: {value!r} is not {_KINDS[node.tag]} "
                                   f"YAML can read ({str(found)[:120]})",
                                   "quote it to keep it as text, or write a valid value")
        stack += [(child, _join(path, part)) for part, child in reversed(_children(node))]
    return YamlRefused("", f"cannot be read as values: {str(exc)[:200]}", "")


def _checked(loader: Any, node: yaml.Node) -> Any:
    check(node)
    try:
        return loader.construct_document(node)
    except (ValueError, OverflowError) as exc:         # not a YAMLError: PyYAML's constructors let these through
        raise _unbuildable(node, exc) from None


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where PyYAML has it: the same nodes


def load_node(raw: bytes) -> tuple[Optional[yaml.Node], Any]:
    """One YAML document, checked as above: its root node (for line numbers) and its plain Python values;
    yaml.YAMLError when it is not YAML at all."""
    shape(raw)
    loader = _LOADER(raw)
    try:
        node = loader.get_single_node()
        return (None, None) if node is None else (node, _checked(loader, node))
    finally:
        loader.dispose()


def load(raw: bytes) -> Any:
    """One YAML document, checked as above, as plain Python values; yaml.YAMLError when it is not YAML at all."""
    return load_node(raw)[1]


def load_all(raw: bytes) -> list[Any]:
    """Every document of a YAML stream, each checked as in load() (`document N: ` before a key path)."""
    shape(raw, stream=True)
    loader = _LOADER(raw)
    out: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            try:
                out.append(_checked(loader, node))
            except YamlRefused as exc:
                raise YamlRefused(f"document {len(out)}: {exc.key}", exc.problem, exc.hint) from None
    finally:
        loader.dispose()
    return out
