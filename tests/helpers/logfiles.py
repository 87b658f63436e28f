"""A log file the error-log scan reads in process, rotated by hand, and a counter of a file's reads."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

from opsproof.logs.errorlog import scan_file


class RotatingLog:
    """A log, renamed and compressed as logrotate would, and the reference point a scheduled run keeps."""

    def __init__(self, path: Path) -> None:
        self.path, self.state = path, {}

    def at(self, suffix: str) -> str:
        return f"{self.path}{suffix}"

    def write(self, text: str | bytes, suffix: str = "") -> None:
        with open(self.at(suffix), "ab") as fh:
            fh.write(text.encode() if isinstance(text, str) else text)

    def rotate(self, *renames: tuple[str, str]) -> None:
        for old, new in renames:
            os.rename(self.at(old), self.at(new))

    def compress(self, suffix: str, opener=gzip.open, ext: str = ".gz") -> None:
        """NAME{suffix} -> NAME{suffix}{ext}, the plain copy removed (what logrotate's compress leaves)."""
        with open(self.at(suffix), "rb") as src, opener(self.at(suffix + ext), "wb") as dst:
            dst.write(src.read())
        os.remove(self.at(suffix))

    def scan(self, **kw):
        scan = scan_file(str(self.path), "ERROR", self.state, **kw)
        if scan.error is None:
            self.state = scan.resume
        return scan


def count_preads(monkeypatch) -> list[int]:
    """The sizes of every os.pread from now on (the list fills as the code under test reads)."""
    read: list[int] = []
    real = os.pread

    def counting(fd, n, offset):
        data = real(fd, n, offset)
        read.append(len(data))
        return data
    monkeypatch.setattr(os, "pread", counting)
    return read
