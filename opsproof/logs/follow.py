"""Where the file a scan last read is now, and its bytes however it was rotated: the reading side of the error scan.

A reference point is not only (inode, offset): inodes are reused (ext4 hands a freed one to the next new
file) and a file truncated in place keeps its inode. So a mark also carries fingerprints of the file's first
bytes (`head`) and of the bytes just before the offset (`tail`). The file the last scan read is whichever of
the log and its rotated copies (NAME.1, NAME.2.gz, NAME-20260101.xz, ...) still holds both fingerprints:
decompressed, when it was compressed, and read past the offset from there.

Compressed copies are read with the standard library (gzip, bz2, lzma; zstd from Python 3.14's
`compression.zstd`) or, where the module is missing, with the tool on the target (`bzip2 -dc`, `xz -dc`,
`zstd -dc`). What cannot be read is named, never skipped in silence. Standard library only: it is shipped.
"""
from __future__ import annotations

import hashlib
import os
import stat
import zlib
from dataclasses import dataclass, field
from typing import Any, Optional

from . import siblings
from .siblings import Rotated

HEAD = 1024     # bytes fingerprinted at a file's start
TAIL = 1024     # and just before the offset a scan stopped at
STEP = 1 << 20  # a compressed file is skipped through in reads this size
TOOLS = {".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}


class Unreadable(Exception):
    """A rotated copy whose bytes cannot be had here (no decompressor for it, or it is damaged)."""


def _errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [OSError, EOFError, ValueError, zlib.error]
    try:
        import lzma
        found.append(lzma.LZMAError)
    except ImportError:
        pass
    return tuple(found)


READ_ERRORS = _errors()


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


class _Tool:
    """A decompressing tool's output as a readable stream. Read to its end, the tool's exit status says whether the
    copy was whole: a damaged one raises Unreadable at close (never a short read taken for the whole file)."""

    def __init__(self, argv: list[str]) -> None:
        import subprocess   # only for a compression Python cannot read itself: not imported by every scan

        self.argv, self.ended = argv, False
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0)

    def readinto(self, buf: Any) -> int:
        got = self.proc.stdout.readinto(buf)  # type: ignore[union-attr]
        self.ended = self.ended or not got
        return got or 0

    def read(self, n: int) -> bytes:
        piece = self.proc.stdout.read(n)  # type: ignore[union-attr]
        self.ended = self.ended or not piece
        return piece or b""

    def close(self) -> None:
        if not self.ended:          # stopped early on purpose: the rest is not wanted
            self.proc.kill()
        self.proc.stdout.close()  # type: ignore[union-attr]
        _, err = self.proc.communicate()
        if self.ended and self.proc.returncode != 0:
            raise Unreadable(f"{' '.join(self.argv)} failed: {err.decode(errors='replace').strip()[-200:]}")


def _module_opener(compression: str) -> Any:
    try:
        if compression == ".gz":
            import gzip
            return gzip.open
        if compression == ".bz2":
            import bz2
            return bz2.open
        if compression == ".xz":
            import lzma
            return lzma.open
        if compression == ".zst":
            from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
            return zstd.open
    except ImportError:
        return None
    return None


def open_stream(path: str, compression: str) -> Any:
    """`path`'s bytes, decompressed: a stream with readinto, read and close. Raises Unreadable."""
    if not compression:
        return open(path, "rb", buffering=0)
    opener = _module_opener(compression)
    if opener is not None:
        return opener(path, "rb")
    import shutil

    tool = TOOLS.get(compression)
    if tool is None or shutil.which(tool) is None:
        raise Unreadable(f"no {tool or 'decompressor'} on this host to read {path}")
    return _Tool([tool, "-dc", "--", path])


def read_exactly(stream: Any, n: int, deadline_check: Any = None) -> bytes:
    """Up to `n` bytes (fewer only at the end of the stream)."""
    out = bytearray()
    while len(out) < n:
        if deadline_check is not None:
            deadline_check(len(out))
        piece = stream.read(min(STEP, n - len(out)))
        if not piece:
            break
        out += piece
    return bytes(out)


def skip(stream: Any, n: int, deadline_check: Any = None) -> int:
    """Read and drop `n` bytes of a stream (a compressed file has no seek worth the name); how many were there."""
    done = 0
    while done < n:
        if deadline_check is not None:
            deadline_check(done)
        piece = stream.read(min(STEP, n - done))
        if not piece:
            break
        done += len(piece)
    return done


def mark(path: str, offset: int, st: Optional[os.stat_result] = None, fd: Optional[int] = None) -> dict[str, Any]:
    """The reference point at `offset` of the plain file `path`: inode, device and both fingerprints. `fd`: the
    file already open (the scan's own descriptor): its fingerprints are read from it, not from a second open."""
    if fd is None:
        with open(path, "rb", buffering=0) as fh:
            return mark(path, offset, st, fh.fileno())
    st = st or os.fstat(fd)
    head_len, tail_len = min(HEAD, offset), min(TAIL, offset)
    head, tail = _ends(fd, offset, head_len, tail_len)
    if len(head) < head_len or len(tail) < tail_len:
        raise OSError(f"{path} shrank while it was read")
    return {"inode": st.st_ino, "dev": st.st_dev, "offset": offset, "head": fingerprint(head), "head_len": head_len,
            "tail": fingerprint(tail), "tail_len": tail_len}


def _ends(fd: int, offset: int, head_len: int, tail_len: int) -> tuple[bytes, bytes]:
    """The first `head_len` bytes of the open file and the `tail_len` before `offset`, by pread: the descriptor's
    position is left where it was (fewer bytes only where the file ends sooner)."""
    return os.pread(fd, head_len, 0), os.pread(fd, tail_len, offset - tail_len)


def mark_end(path: str) -> dict[str, Any]:
    """The reference point at the current end of `path` (what an acknowledgement or a maintenance start records),
    or {"error": why} when it cannot be read."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return {"error": f"{path} is not a regular file"}
        return mark(path, st.st_size, st)
    except FileNotFoundError:
        return {"error": f"{path} does not exist"}
    except OSError as exc:
        return {"error": f"cannot read {path}: {exc.strerror or exc}"}


@dataclass
class Found:
    """Where the last-read file is now: an open stream positioned at the saved offset, and what came after it."""

    path: str
    stream: Any
    newer: list[Rotated] = field(default_factory=list)   # rotations written after it, oldest first
    gaps: list[str] = field(default_factory=list)        # numbered rotations in between that are gone


def _same(stream: Any, ref: dict[str, Any], check: Any, plain: bool) -> bool:
    """Whether the stream (at its start) holds the referenced file: its head, and the bytes before the offset.
    A plain file is left positioned at the offset by seeking; a compressed one by reading through."""
    offset, head_len, tail_len = int(ref["offset"]), int(ref["head_len"]), int(ref["tail_len"])
    head = read_exactly(stream, head_len, check)
    if len(head) < head_len or fingerprint(head) != ref["head"]:
        return False
    before = offset - tail_len - head_len
    if before < 0:  # the tail overlaps the head (a file shorter than HEAD + TAIL): read on to the offset
        tail = (head + read_exactly(stream, offset - head_len, check))[offset - tail_len:offset]
    else:
        if plain:
            stream.seek(offset - tail_len)
        elif skip(stream, before, check) < before:
            return False
        tail = read_exactly(stream, tail_len, check)
    return len(tail) == tail_len and fingerprint(tail) == ref["tail"]


def is_current(fd: int, st: os.stat_result, ref: dict[str, Any]) -> bool:
    """Whether the file open as `fd` (`st` its stat) is still the file the reference was taken in, grown or not (not
    rotated, not truncated): its inode and device, and both fingerprints, read by pread (its position is kept)."""
    offset = int(ref["offset"])
    if ref.get("inode") != st.st_ino or ("dev" in ref and ref["dev"] != st.st_dev) or st.st_size < offset:
        return False
    if "head" not in ref:   # a reference from before fingerprints: the inode is all there is to go by
        return True
    head_len, tail_len = int(ref["head_len"]), int(ref["tail_len"])
    if tail_len > offset:   # never written so (a mark's tail stops at its offset): not this file's
        return False
    head, tail = _ends(fd, offset, head_len, tail_len)
    return (len(head) == head_len and fingerprint(head) == ref["head"]
            and len(tail) == tail_len and fingerprint(tail) == ref["tail"])


def _open_at(cand: Rotated, ref: dict[str, Any], check: Any) -> Optional[Any]:
    """The candidate's stream positioned at the reference's offset when it holds the referenced file, else None."""
    stream = open_stream(cand.path, cand.compression)
    try:
        if "head" in ref:
            held = _same(stream, ref, check, plain=not cand.compression)
        else:   # before fingerprints: only the inode tells, and only a plain copy keeps it
            st = os.stat(cand.path)
            held = not cand.compression and st.st_ino == ref.get("inode") and st.st_size >= int(ref["offset"])
            if held:
                stream.seek(int(ref["offset"]))
    except BaseException:
        stream.close()
        raise
    if held:
        return stream
    stream.close()
    return None


def _key(r: Rotated) -> tuple:
    return (r.number, r.date)


def locate(path: str, ref: dict[str, Any], check: Any, notes: list[str]) -> tuple[Optional[Found], list[Rotated]]:
    """The rotated copy holding the referenced file, and every rotated copy (newest first, one per rotation).

    Unreadable copies are said in `notes`. A plain copy with the old inode is tried first (a rename keeps it).
    """
    directory = os.path.dirname(path)
    try:
        listing = [os.path.join(directory, name) for name in os.listdir(directory or ".")]
    except OSError as exc:
        notes.append(f"cannot list {directory or '.'}: {exc.strerror or exc}")
        return None, []
    found = siblings.select(path, listing)
    rotations: list[Rotated] = []
    for r in found:                                    # NAME.1 before NAME.1.gz: the plain one while gzip runs
        if not any(_key(r) == _key(o) for o in rotations):
            rotations.append(r)
    inode = ref.get("inode")
    order = sorted(found, key=lambda r: not (not r.compressed and _inode(r.path) == inode))
    for cand in order:
        try:
            stream = _open_at(cand, ref, check)
        except TimeoutError:
            raise
        except Unreadable as exc:
            notes.append(str(exc))
            continue
        except READ_ERRORS as exc:
            notes.append(f"{cand.path} could not be read: {exc}")
            continue
        if stream is None:
            continue
        return Found(cand.path, stream, *_after(path, cand, rotations)), rotations
    return None, rotations


def _after(path: str, cand: Rotated, rotations: list[Rotated]) -> tuple[list[Rotated], list[str]]:
    """The rotations written after `cand` (oldest first), in its own naming (numbered or dateext), and the numbered
    ones in between that are gone."""
    if cand.number is None:
        return sorted((r for r in rotations if r.date is not None and int(r.date) > int(cand.date or 0)),
                      key=lambda r: int(r.date or 0)), []
    have = {r.number for r in rotations}
    newer = sorted((r for r in rotations if r.number is not None and r.number < cand.number),
                   key=lambda r: -(r.number or 0))
    return newer, [f"{path}.{n}" for n in range(cand.number - 1, 0, -1) if n not in have]


def _inode(path: str) -> Optional[int]:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
