"""The commented YAML `opsproof init` writes: blocks of comment and keys, each written as is or commented out.

Values are written in YAML's flow style by hand, strings as JSON strings (a JSON string is a YAML double-quoted
scalar), so the text is exactly what is shown, comments sit beside the keys they explain, and no YAML library is
needed to write it (opsproof.config.inputs reads it back, in `opsproof check-config` and every run).
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from typing import Any

WIDTH = 116


@dataclass
class Block:
    """One top-level key: what it checks and why (`comment`), its YAML lines (`body`), whether it is written live."""

    key: str
    comment: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    active: bool = True
    summary: str = ""                 # one line for the command's printout: what was found, or what is missing


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return json.dumps(str(value), ensure_ascii=False)


def flow(value: Any) -> str:
    """`value` in YAML flow style: {a: 1, b: "x"}, [1, 2]."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    return scalar(value)


def pair(key: str, value: Any, note: str = "", indent: int = 2) -> str:
    """`  key: value   # note`."""
    line = f"{' ' * indent}{key}: {flow(value)}"
    return f"{line}  # {note}" if note else line


def item(value: Any, note: str = "", indent: int = 2) -> str:
    """`  - value   # note`: one entry of a block list."""
    line = f"{' ' * indent}- {flow(value)}"
    return f"{line}  # {note}" if note else line


def comment(text: str, indent: int = 0) -> list[str]:
    """`text` as wrapped `# ` lines."""
    out = []
    for para in text.split("\n"):
        out += textwrap.wrap(para, WIDTH - indent - 2, break_long_words=False, break_on_hyphens=False) or [""]
    return [f"{' ' * indent}# {line}".rstrip() for line in out]


def render(header: list[str], blocks: list[Block]) -> str:
    """The file: the header's comments and lines, then each block, live or commented out."""
    lines = list(header)
    for block in blocks:
        lines.append("")
        for text in block.comment:
            lines += comment(text)
        if block.active:
            lines += block.body
        else:
            lines += [line if line.lstrip().startswith("#") else f"# {line}" for line in block.body]
    return "\n".join(lines) + "\n"
