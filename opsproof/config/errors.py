"""The config's error and how a message quotes a value: a leaf without pydantic or yaml, so that a reader of JSON
files (the state store, through config.inputs) imports neither."""
from __future__ import annotations

import reprlib
from typing import Any


class ConfigError(Exception):
    """A configuration the suite cannot run with: file, key path, what is wrong, what to do."""

    def __init__(self, file: str, key: str, problem: str, hint: str = "") -> None:
        self.file, self.key, self.problem, self.hint = file, key, problem, hint
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + problem + (f" — {hint}" if hint else ""))


def quoted(value: Any, limit: int = 120) -> str:
    """A value as a message quotes it: its repr, cut short (a value can be megabytes, or an alias bomb)."""
    short = reprlib.Repr()                       # attributes, not keywords: Python 3.10 and 3.11 take none
    short.maxstring = short.maxother = limit
    short.maxlist = short.maxdict = 6
    short.maxlevel = 3
    text = short.repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
