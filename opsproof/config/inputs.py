"""Every file the suite reads is input: the one reader of them all (config, OpenSLO, attestations, state, summaries).

`read_bytes` opens without blocking (a FIFO or a device planted under the name never holds the run: O_NONBLOCK,
then fstat), takes regular files only and reads at most a bound; a file past it is refused before a byte of it is
parsed. `yaml_of` parses with the checked YAML reader (yamlsafe: no key twice, aliases, lists and nesting bounded),
`json_of` parses JSON. Every refusal is an InputError — a ConfigError: the file, the key path when there is one,
what is wrong and what to do, one line. A missing file is FileNotFoundError, left to the caller: for a config it
is an error, for a state file the first run.

The bounds are fixed, not settings (a setting cannot raise the bound of the file it is written in): MAX_BYTES
(1 MiB) for what people write (config, OpenSLO, attestations), larger ones where a machine writes (state, summaries),
and yamlsafe's MAX_ITEMS (10 000 per list or mapping), MAX_DEPTH and MAX_ALIAS_NODES for every YAML file.
"""
from __future__ import annotations

import json
import os
import stat
from typing import TYPE_CHECKING, Any, Optional, Union

from .errors import ConfigError

if TYPE_CHECKING:
    import yaml

MAX_BYTES = 1 << 20         # a hand-written file: the example config is 3 KB, a 25 000-line one still fits
JSON_BYTES_PER_CONTAINER = 16   # the JSON opsproof writes has one list or object per 100 bytes or more
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))

PathArg = Union[str, "os.PathLike[str]"]


class InputError(ConfigError):
    """A file the suite reads cannot be used: `file`, `key` (a key path, or ""), `problem`, `hint`."""


def _too_large(name: str, size: int, limit: int, hint: str) -> InputError:
    mib = f" ({limit >> 20} MiB)" if limit >= 1 << 20 and not limit % (1 << 20) else ""
    return InputError(name, "", f"{size} bytes, at most {limit}{mib}", hint)


def _read(path: PathArg, limit: int) -> tuple[bytes, Optional[int]]:
    """At most `limit` bytes of a regular file, and its size when it holds more (then the bytes are its head)."""
    name = os.fspath(path)
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise InputError(name, "", f"cannot be read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((text for test, text in _KINDS if test(st.st_mode)), "a special file")
            raise InputError(name, "", f"is {kind}, not a regular file: not read", "give the path of a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputError(name, "", f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if size > limit:
        return raw[:limit], max(st.st_size, size)
    return raw, None


def read_bytes(path: PathArg, limit: int = MAX_BYTES, hint: str = "") -> bytes:
    """The whole of a regular file of at most `limit` bytes; FileNotFoundError when there is none, else InputError."""
    raw, size = _read(path, limit)
    if size is not None:
        raise _too_large(os.fspath(path), size, limit, hint or "is this the file you meant?")
    return raw


def _yaml_problem(exc: "yaml.YAMLError", raw: bytes) -> tuple[str, str]:
    """What is wrong and what to do, for a file that is not YAML."""
    import yaml

    if isinstance(exc, yaml.reader.ReaderError):     # a NUL, a control character, bytes that are not UTF-8
        line = raw[:exc.position].count(b"\n") + 1
        char = f"#x{exc.character:02x}" if isinstance(exc.character, int) else repr(exc.character)
        return (f"line {line}: byte {exc.position} cannot be in YAML ({exc.reason}, {char})",
                "YAML is text: remove the character, or save the file as UTF-8")
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"YAML syntax error at {where}{getattr(exc, 'problem', None) or exc}", "fix the YAML syntax"


def yaml_of(raw: bytes, file: str, documents: bool = False, node: bool = False) -> Any:
    """The values of one YAML document (a list of them with `documents`; `(root node, values)` with `node`, for
    line numbers), checked by yamlsafe; InputError naming `file` and the key path."""
    import yaml  # here: a reader of JSON alone (the state store, the CLI's summary) never imports yaml

    from . import yamlsafe

    try:
        if documents:
            return yamlsafe.load_all(raw)
        return yamlsafe.load_node(raw) if node else yamlsafe.load(raw)
    except yamlsafe.YamlRefused as exc:
        raise InputError(file, exc.key, exc.problem, exc.hint) from None
    except yaml.YAMLError as exc:
        raise InputError(file, "", *_yaml_problem(exc, raw)) from None


def read_yaml(path: PathArg, limit: int = MAX_BYTES, documents: bool = False, hint: str = "") -> tuple[bytes, Any]:
    """A YAML file's bytes and values, through read_bytes and yaml_of. Past `limit`, its head is still walked for the
    list or the nesting that made it so large, so the refusal names that key (`disk.paths: more than 10000 items`)."""
    name = os.fspath(path)
    raw, size = _read(path, limit)
    if size is not None:
        from . import yamlsafe

        try:
            yamlsafe.shape(raw, cut=True, stream=documents)
        except yamlsafe.YamlRefused as exc:
            raise InputError(name, exc.key, f"{exc.problem} (and the file is {size} bytes, at most {limit})",
                             exc.hint) from None
        raise _too_large(name, size, limit, hint or "is this the file you meant?")
    return raw, yaml_of(raw, name, documents)


def load_yaml(path: PathArg, limit: int = MAX_BYTES, documents: bool = False, hint: str = "") -> Any:
    """A YAML file's values (read_yaml)."""
    return read_yaml(path, limit, documents, hint)[1]


def json_of(raw: bytes | str, file: str) -> Any:
    """The value of a JSON text; InputError naming `file`, the line and column when it is not JSON. A text made mostly
    of brackets is refused before it is parsed: each list or object costs some 60 bytes of memory for its 2 bytes of
    text (16 MiB of `[[[]]],` take 660 MiB), what the JSON opsproof writes never comes near."""
    containers = raw.count(b"[") + raw.count(b"{") if isinstance(raw, bytes) else raw.count("[") + raw.count("{")
    if containers > max(1024, len(raw) // JSON_BYTES_PER_CONTAINER):
        raise InputError(file, "", f"{containers} lists and objects in {len(raw)} bytes: not JSON opsproof wrote "
                         f"(at most one per {JSON_BYTES_PER_CONTAINER} bytes)", "is this the file you meant?")
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise InputError(file, "", f"not UTF-8 at byte {exc.start}", "is this the file you meant?") from None
    except ValueError as exc:                        # json.JSONDecodeError, and an integer past Python's digit limit
        where = f"line {exc.lineno}, column {exc.colno}: " if isinstance(exc, json.JSONDecodeError) else ""
        raise InputError(file, "", f"not JSON: {where}{getattr(exc, 'msg', None) or str(exc)[:200]}",
                         "is this the file you meant?") from None
    except RecursionError:
        raise InputError(file, "", "not JSON this reader takes: nested too deep", "is this the file you meant?") \
            from None


def load_json(path: PathArg, limit: int, hint: str = "") -> Any:
    """A JSON file through read_bytes and json_of."""
    return json_of(read_bytes(path, limit, hint), os.fspath(path))
