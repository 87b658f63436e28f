"""A file written whole or not at all: a temporary name beside it, then one rename.

The one way opsproof writes a file that a reader may open at any moment (reports' JSON summaries, the --textfile
a collector scrapes, the ledger's signature, the state files, the schedule's units). A crash leaves the old file or
the new one, never half of one. Standard library only: hosts/state.py, which uses it, is shipped to targets.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Optional, Union


class Staged:
    """A file written aside under a temporary name: `commit()` puts it in place (one rename), `discard()` drops it."""

    def __init__(self, tmp: str, final: str) -> None:
        self.tmp, self.final = tmp, final

    def commit(self) -> None:
        os.replace(self.tmp, self.final)

    def discard(self) -> None:
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


def stage(path: Union[str, Path], data: Union[str, bytes], mode: Optional[int] = None, fsync: bool = False) -> Staged:
    """Write `data` (text as UTF-8) beside `path` under a name no other writer uses, not yet in effect. `mode` sets
    the file's permissions exactly (else they are a new file's: 0o666 less the umask); `fsync` flushes it to disk."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return Staged(str(tmp), str(final))


def write_atomic(path: Union[str, Path], data: Union[str, bytes], mode: Optional[int] = None,
                 fsync: bool = False) -> Path:
    """Write `path` whole or not at all (see `stage`)."""
    stage(path, data, mode, fsync).commit()
    return Path(path)
