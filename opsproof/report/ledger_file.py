"""The ledger as a file: its name and format, how a line is hashed and named, and how it is read as input.

Only a regular file is opened (O_NONBLOCK, so a FIFO put there never blocks the open; a writer does not follow a
link), and a line is at most MAX_LINE_BYTES (a longer one is "not a ledger line", read past in bounded pieces, never
held whole). Writing is ledger.py's (`append`), checking the chain ledger_verify.py's; both read through here.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import IO, Any, Iterator, Optional

NAME = "ledger.jsonl"
FORMAT = "opsproof-ledger/1"
GENESIS = hashlib.sha256(b"opsproof ledger genesis").hexdigest()
_REQUIRED = ("format", "run_id", "started", "ended", "outcome", "files", "prev")
REPORT_SUFFIXES = (".html", ".json", ".xml")  # what a run writes beside its ledger line: report, summary, JUnit
MAX_LINE_BYTES = 4 << 20  # a run's line is a few KiB; tens of thousands of failed check ids still fit


class LedgerError(Exception):
    """The ledger cannot be read or appended to as one (not an OSError: nothing about it is transient). `path`
    is the ledger, `why` the reason without it."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path, self.why = path, why


class NotRegular(LedgerError):
    """The ledger's path is something other than a regular file (`kind` says what)."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(path, f"not a regular file ({kind})")
        self.kind = kind


def _kind(path: Path, mode: Optional[int]) -> str:
    """What `path` is, for a message: `a FIFO`, `a symbolic link to /dev/zero, a character device`."""
    what = None if mode is None else {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
                                      stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket",
                                      stat.S_IFDIR: "a directory"}.get(stat.S_IFMT(mode), "not a file")
    try:
        link = f"a symbolic link to {os.readlink(path)}" if os.path.islink(path) else None
    except OSError:
        link = "a symbolic link"
    return ", ".join(p for p in (link, what) if p) or "not a file"


def open_regular(path: Path, flags: int, follow: bool = True) -> int:
    """A descriptor of `path` when it is a regular file; NotRegular otherwise, OSError as the open raised it.
    O_NONBLOCK: opening a FIFO returns at once (then refused); `follow=False` for a writer, which a link (to
    /dev/zero, or to a file elsewhere) must not redirect."""
    flags |= os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if not follow and exc.errno == errno.ELOOP:
            raise NotRegular(path, _kind(path, None)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegular(path, _kind(path, mode))
    return fd


def numbered_lines(handle: IO[bytes]) -> Iterator[tuple[int, Optional[bytes], str]]:
    """Each non-empty line from the handle's position: (its number, its bytes without the newline or None when
    it is longer than MAX_LINE_BYTES, its `line_hash`). Read in bounded pieces: a line of any length costs at most
    the bound in memory (a longer one is hashed as it streams past)."""
    number = 0
    while True:
        piece = handle.readline(MAX_LINE_BYTES + 1)
        if not piece:
            return
        if len(piece) <= MAX_LINE_BYTES or piece.endswith(b"\n"):
            line = piece[:-1] if piece.endswith(b"\n") else piece
            if line.strip():
                number += 1
                yield number, line, line_hash(line)
            continue
        digest = hashlib.sha256(piece)
        while True:
            piece = handle.readline(1 << 20)
            digest.update(piece[:-1] if piece.endswith(b"\n") else piece)
            if not piece or piece.endswith(b"\n"):
                break
        number += 1
        yield number, None, digest.hexdigest()


def over_bound(number: int) -> str:
    return f"line {number} is over {MAX_LINE_BYTES} bytes: not a ledger line"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def line_hash(line: bytes) -> str:
    """What the next line's `prev` holds: the SHA-256 of this line's bytes, without its newline."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def ledger_path(where: str | os.PathLike[str]) -> Path:
    """The ledger file: `where` itself, or ledger.jsonl inside it when it is a directory."""
    path = Path(where)
    return path / NAME if path.is_dir() else path


def file_name(path: Path, directory: Path) -> str:
    """How a line names a file: relative to the ledger's directory when inside it, else absolute."""
    path, directory = Path(os.path.abspath(path)), Path(os.path.abspath(directory))
    try:
        return str(path.relative_to(directory))
    except ValueError:
        return str(path)


def parse_entry(raw: bytes) -> Optional[dict[str, Any]]:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or any(k not in data for k in _REQUIRED):
        return None
    return data


def reader(path: Path) -> IO[bytes]:
    """The ledger opened for reading, when it is a regular file (a link to one is followed); NotRegular else."""
    return os.fdopen(open_regular(path, os.O_RDONLY), "rb")


def read_entries(where: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The ledger's lines that read as entries, in order (no chain or file check: `verify` does those);
    [] when there is no ledger yet; NotRegular when it is not a regular file. A line over the bound is no entry."""
    try:
        handle = reader(ledger_path(where))
    except FileNotFoundError:
        return []
    with handle:
        return [data for _, line, _ in numbered_lines(handle) if line is not None and (data := parse_entry(line))]
