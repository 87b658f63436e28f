"""Verify a backup archive: read the .tar.gz to its end and prove every byte, in bounded memory.

What `verify` proves, in one streaming pass: every gzip member's CRC-32 and length (a truncated
file fails, unlike a tarfile listing, which stops at the last header it can read); every tar header's
checksum; member names relative, without `..`, links that stay inside, no devices or FIFOs; the
end-of-archive marker; MANIFEST.json's SHA-256 and size of each member, both ways.

Two threads: one reads and inflates, one walks the tar stream (opsproof.backups.tarstream) and hashes;
both release the GIL, so the two cores work at once. With python-isal, igzip's gzip reader inflates
straight into a few reused buffers (no new object per chunk: allocating them cost a third of the inflate
time in page faults) and checks each member's CRC-32 and length; should it fail, zlib reads the file
again to say what and where, so a reason reads the same whichever inflater found it. Without isal, zlib
reads every archive. Memory is a bounded queue of inflated chunks, whatever the archive's size.
Standard library only (isal optional): this module also runs on a remote target, shipped by
opsproof.hosts.ship.
"""
from __future__ import annotations

import gzip
import os
import queue
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Optional

from .manifest import MANIFEST, ArchiveError, member_problem
from .tarstream import TarWalker

__all__ = ["MANIFEST", "ArchiveError", "Verification", "inflater_name", "member_problem", "verify"]

try:  # ISA-L's inflate is 2-3x zlib's.
    from isal import isal_zlib as _isal
    _READER = _isal._GzipReader   # igzip's gzip reader: inflates into a buffer it is given
except (ImportError, AttributeError):  # pragma: no cover - depends on the host
    _isal = _READER = None

READ_SIZE = 256 << 10        # compressed bytes per read: one inflate call each at ordinary ratios
CHUNK = 1 << 20              # inflated bytes per queue item, at most (a 1000:1 stream is cut into these)
QUEUE_ITEMS = 4              # so a few MiB of inflated data in flight, whatever the archive's size
_DONE = object()


@dataclass(frozen=True)
class Verification:
    path: str
    ok: bool
    reason: Optional[str] = None
    size: int = 0                    # compressed bytes on disk
    uncompressed: int = 0            # bytes of the tar stream read
    gzip_members: Optional[int] = None  # counted when zlib read the stream; igzip's reader does not say
    members: int = 0                 # tar members (files, directories, links)
    files_checked: int = 0           # regular files whose SHA-256 and size matched MANIFEST
    engine: Optional[str] = None
    created_at: Optional[str] = None
    source: Optional[str] = None
    dump: Optional[str] = None
    tables: dict[str, int] = field(default_factory=dict)
    inflater: str = ""
    seconds: float = 0.0

    def damage(self, within: str = "") -> str:
        """Why the archive does not read end to end, as a clause: `daily_1.tar.gz: gzip CRC mismatch` (its path
        relative to `within`, when it lies there)."""
        inside = within and self.path.startswith(within.rstrip("/") + "/")
        return f"{self.path[len(within.rstrip('/')) + 1:] if inside else self.path}: " \
               f"{self.reason or 'did not read end to end'}"


def inflater_name(prefer: Optional[str] = None) -> str:
    """"zlib" when asked for, or when isal (with its gzip reader) is not installed; "isal" otherwise."""
    return "zlib" if prefer == "zlib" or _READER is None else "isal"


def verify(path: str, deadline: Optional[float] = None, inflater: Optional[str] = None) -> Verification:
    """Read `path` end to end; `deadline` is a time.monotonic() value after which the check gives up."""
    started = time.monotonic()
    name = inflater_name(inflater)
    walker = TarWalker()
    size = 0
    try:
        size = os.stat(path).st_size
        if size == 0:
            raise ArchiveError("empty file (0 bytes): not a gzip stream")
        gz_members, total = _pipeline(path, walker, deadline, name)
        walker.finish()
    except ArchiveError as exc:
        return Verification(path, False, str(exc), size=size, uncompressed=walker.offset, members=walker.count,
                            inflater=name, seconds=round(time.monotonic() - started, 3))
    except OSError as exc:
        return Verification(path, False, f"cannot read {path}: {exc.strerror or exc}", size=size, inflater=name,
                            seconds=round(time.monotonic() - started, 3))
    m = walker.manifest
    return Verification(path, True, None, size=size, uncompressed=total, gzip_members=gz_members,
                        members=walker.count, files_checked=walker.files_checked, engine=m.get("engine"),
                        created_at=m.get("created_at"), source=m.get("source"), dump=m.get("dump"),
                        tables=dict(m.get("tables") or {}), inflater=name, seconds=round(time.monotonic() - started, 3))


def _pipeline(path: str, walker: "TarWalker", deadline: Optional[float], name: str) -> tuple[Optional[int], int]:
    """Inflate in a second thread, walk and hash here. Returns (gzip members or None, inflated bytes)."""
    chunks: queue.Queue = queue.Queue(QUEUE_ITEMS)
    spare: queue.Queue = queue.Queue()      # igzip's reader fills these; each comes back once walked
    stop = threading.Event()
    result: dict[str, Any] = {}

    def wait(call: Any, *item: Any) -> Any:
        """A queue's put or get that gives up once the walker stopped (None then)."""
        while not stop.is_set():
            try:
                return call(*item, timeout=0.2)
            except (queue.Full, queue.Empty):
                continue
        return None

    def produce() -> None:
        try:
            if name == "isal":
                for _ in range(QUEUE_ITEMS + 1):
                    spare.put(bytearray(CHUNK))
                result["counts"] = _read(path, lambda item: wait(chunks.put, item), lambda: wait(spare.get),
                                         stop, deadline)
            else:
                result["counts"] = _inflate(path, lambda item: wait(chunks.put, item), stop, deadline)
            wait(chunks.put, _DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            wait(chunks.put, exc)

    thread = threading.Thread(target=produce, name="opsproof-inflate", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            walker.feed(item)
            if isinstance(item, memoryview):
                spare.put(item.obj)          # walked: the reader may fill it again
            if deadline is not None and time.monotonic() > deadline:
                raise ArchiveError(f"verification timed out after {walker.offset} inflated bytes")
    finally:
        stop.set()
        thread.join()
    return result["counts"]


def _read(path: str, emit: Any, take: Any, stop: threading.Event, deadline: Optional[float]) -> tuple[None, int]:
    """igzip's reader into the buffers `take()` hands out: every member's CRC-32 and length checked."""
    total = 0
    with open(path, "rb", buffering=0) as fh:
        reader = _READER(fh, READ_SIZE)
        while True:
            buf = take()
            if buf is None:              # the walker stopped (the deadline is checked there, after each buffer)
                break
            try:
                n = reader.readinto(buf)
            except (EOFError, OverflowError, gzip.BadGzipFile, _isal.error) as exc:  # OverflowError: header > READ_SIZE
                # The reason, with its gzip member and offset, in the words zlib's decompressobj finds it.
                _inflate(path, lambda item: None, stop, deadline)
                raise ArchiveError(f"corrupt compressed data: {exc}") from None
            if not n:
                break
            total += n
            emit(memoryview(buf)[:n])
    return None, total


_ZLIB_REASONS = {
    "incorrect data check": "CRC-32 mismatch: the compressed data is corrupted",
    "incorrect length check": "gzip length check failed: the data is corrupted",
}


def _explain(exc: Exception, offset: int, member: int) -> str:
    text = str(exc)
    for needle, reason in _ZLIB_REASONS.items():
        if needle in text.lower():
            return f"{reason} (gzip member {member}, near compressed byte {offset})"
    return f"corrupt compressed data near byte {offset} (gzip member {member}): {text}"


def _inflate(path: str, emit: Any, stop: threading.Event, deadline: Optional[float]) -> tuple[int, int]:
    """zlib inflates every gzip member to the end of the file, checking each CRC-32 and length."""
    members, total, offset = 0, 0, 0
    d = None                 # the current member's decompressor; None between members
    carry = b""              # bytes read but not yet given to a decompressor
    with open(path, "rb", buffering=0) as fh:
        while not stop.is_set():
            block = fh.read(READ_SIZE)
            if deadline is not None and time.monotonic() > deadline:
                raise ArchiveError(f"verification timed out at compressed byte {offset}")
            data = carry + block if carry else block
            carry = b""
            if not data:
                break
            while True:
                if d is None:
                    if members:  # zero padding between or after members, skipped as gzip readers and tarfile do
                        rest = data.lstrip(b"\0")
                        offset += len(data) - len(rest)
                        data = rest
                    if not data:
                        break
                    if len(data) < 2 and block:
                        carry = data
                        break
                    if data[:2] != b"\x1f\x8b":
                        where = "at the start" if not members else f"after gzip member {members}, at byte {offset}"
                        raise ArchiveError(f"not gzip data {where} (starts with {data[:8].hex()})"
                                           + (": trailing garbage" if members else ""))
                    d = zlib.decompressobj(31)
                    members += 1
                before = len(data)
                try:
                    out = d.decompress(data, CHUNK)
                except zlib.error as exc:
                    raise ArchiveError(_explain(exc, offset, members)) from None
                if out:
                    total += len(out)
                    emit(out)
                if d.eof:
                    data = d.unused_data
                    offset += before - len(data)
                    d = None
                    continue
                data = d.unconsumed_tail
                offset += before - len(data)
                if not data:  # input used up: read on (output held back comes with the next call: a trailer follows)
                    break
        if stop.is_set():
            return members, total
    if d is not None:
        raise ArchiveError(f"truncated: the compressed stream ends before its end marker (gzip member {members}, "
                           f"{offset} bytes read; a partial copy or a cut transfer)")
    return members, total
