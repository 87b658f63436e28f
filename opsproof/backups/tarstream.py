"""The tar layer of a backup archive, as a push parser: fed inflated bytes, it proves each member.

Header checksums (tarfile.TarInfo.frombuf), pax and GNU long names, member names that stay inside
(no absolute path, no `..`, no link out, no device or FIFO), no member twice, the end-of-archive
marker, and each regular file's size and SHA-256 against MANIFEST.json, whichever comes first.
Memory: one packed 40-byte record per member until MANIFEST.json is read, then its entries only.
Standard library only: shipped to remote targets with opsproof.backups.archive.
"""
from __future__ import annotations

import hashlib
import tarfile
from typing import Any, Optional

from .manifest import (FILE_TYPES, MANIFEST, MANIFEST_MAX, ArchiveError, member_problem, norm as _norm, pack,
                       parse_manifest, unpack)

PAX_MAX = 1 << 20


class TarWalker:
    """A push parser of the tar stream: headers checked, file data hashed, MANIFEST compared."""

    def __init__(self) -> None:
        self.offset = 0                   # bytes of the tar stream consumed
        self.count = 0
        self.files_checked = 0
        self.size = 0                     # data bytes of the current member
        self.remaining = 0                # of which still to read
        self.padding = 0
        self.header = bytearray()
        self.ended = False                # end-of-archive block seen
        self.current: Optional[tuple[str, bytes]] = None
        self.hasher: Any = None
        self.capture: Optional[bytearray] = None
        self.capture_kind = b""
        self.pax: dict[str, str] = {}
        self.global_pax: dict[str, str] = {}
        self.longname: Optional[str] = None
        self.longlink: Optional[str] = None
        self.seen: set[str] = set()
        self.pending: dict[str, bytes] = {}             # files read before MANIFEST.json: name -> pack()
        self.expected: Optional[dict[str, bytes]] = None
        self.manifest: dict = {}

    def feed(self, chunk: Any) -> None:
        """Take the next bytes of the stream (bytes or a memoryview; nothing of it is kept after the call)."""
        view = memoryview(chunk)
        pos, n = 0, len(chunk)
        while pos < n:
            if self.ended:
                if bytes(view[pos:]).strip(b"\0"):
                    raise ArchiveError(f"data after the tar end-of-archive marker (tar byte {self.offset + pos})")
                break
            if self.remaining:
                take = min(self.remaining, n - pos)
                part = view[pos:pos + take]
                if self.hasher is not None:
                    self.hasher.update(part)
                if self.capture is not None:
                    self.capture += part
                pos += take
                self.remaining -= take
                if not self.remaining:
                    self._member_done()
                continue
            if self.padding:
                skip = min(self.padding, n - pos)
                pos += skip
                self.padding -= skip
                continue
            if not self.header and n - pos >= 512:
                block = bytes(view[pos:pos + 512])
                pos += 512
            else:
                take = min(512 - len(self.header), n - pos)
                self.header += view[pos:pos + take]
                pos += take
                if len(self.header) < 512:
                    continue
                block, self.header = bytes(self.header), bytearray()
            self._header(block, self.offset + pos - 512)
        self.offset += n

    def _header(self, block: bytes, at: int) -> None:
        if block == bytes(512):
            self.ended = True
            return
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as exc:
            raise ArchiveError(f"damaged tar header at tar byte {at}: {exc}") from None
        kind = info.type
        size = info.size
        if kind in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                    tarfile.GNUTYPE_LONGLINK):
            if size > PAX_MAX:
                raise ArchiveError(f"extended header of {size} bytes at tar byte {at} (more than {PAX_MAX})")
            self._start(size, capture=True, kind=kind)
            return
        if kind == tarfile.GNUTYPE_SPARSE:
            raise ArchiveError(f"member {info.name!r} is a GNU sparse file: unsupported in a backup archive")
        pax = {**self.global_pax, **self.pax}
        name = self.longname or pax.get("path") or info.name
        linkname = self.longlink or pax.get("linkpath") or info.linkname
        if "size" in pax:
            try:
                size = int(pax["size"])
            except ValueError:
                raise ArchiveError(f"member {name!r}: malformed pax size {pax['size']!r}") from None
        self.pax, self.longname, self.longlink = {}, None, None
        problem = member_problem(name, kind, linkname)
        if problem:
            raise ArchiveError(problem)
        key = _norm(name)
        if key in self.seen:
            raise ArchiveError(f"member {key!r} appears twice (the later copy would overwrite the first)")
        self.seen.add(key)
        self.count += 1
        if kind in FILE_TYPES:
            self.current = (key, kind)
            self._start(size, capture=key == MANIFEST, kind=kind, hashed=key != MANIFEST)
        # Otherwise a link or a directory (member_problem refused every other type): its size field is not followed
        # by data. tar and tarfile (the restore drill's extraction) read the next block as a header, so skipping
        # it here would leave a member unverified.

    def _start(self, size: int, capture: bool, kind: bytes, hashed: bool = False) -> None:
        if capture and size > MANIFEST_MAX:
            raise ArchiveError(f"{MANIFEST} is {size} bytes: more than the {MANIFEST_MAX} this verifier reads")
        self.capture = bytearray() if capture else None
        self.capture_kind = kind
        self.hasher = hashlib.sha256() if hashed else None
        self.size = self.remaining = size
        self.padding = -size % 512
        if not size:
            self._member_done()

    def _member_done(self) -> None:
        kind, data = self.capture_kind, self.capture
        self.capture = None
        if kind in (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.XGLTYPE):
            records = _pax_records(bytes(data or b""))
            if kind == tarfile.XGLTYPE:
                self.global_pax.update(records)
            else:
                self.pax = records
            return
        if kind == tarfile.GNUTYPE_LONGNAME:
            self.longname = bytes(data or b"").rstrip(b"\0").decode("utf-8", "surrogateescape")
            return
        if kind == tarfile.GNUTYPE_LONGLINK:
            self.longlink = bytes(data or b"").rstrip(b"\0").decode("utf-8", "surrogateescape")
            return
        if self.current is None:
            return
        key, _ = self.current
        self.current = None
        if key == MANIFEST:
            try:
                text = (data or b"").decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ArchiveError(f"{MANIFEST} is not UTF-8: {exc}") from None
            data = None  # one copy of the text at a time
            doc = parse_manifest(text)
            text = ""
            self.expected, self.manifest = doc["members"], doc
            pending, self.pending = self.pending, {}
            while pending:
                self._check(*pending.popitem())
            return
        self._check(key, pack(self.size, self.hasher.digest()))
        self.hasher = None

    def _check(self, key: str, packed: bytes) -> None:
        if self.expected is None:
            self.pending[key] = packed
            return
        want = self.expected.pop(key, None)
        if want is None:
            raise ArchiveError(f"member {key!r} is in the archive but not listed in {MANIFEST}")
        if want != packed:
            (size, digest), (want_size, want_digest) = unpack(packed), unpack(want)
            if size != want_size:
                raise ArchiveError(f"member {key!r} is {size} bytes; {MANIFEST} says {want_size}")
            raise ArchiveError(f"member {key!r}: SHA-256 {digest[:16]}… differs from {MANIFEST}'s {want_digest[:16]}…")
        self.files_checked += 1

    def finish(self) -> None:
        if self.remaining or self.current is not None:
            name = self.current[0] if self.current else "an extended header"
            raise ArchiveError(f"tar stream ends inside member {name!r} ({self.remaining} bytes missing)")
        if not self.ended:
            raise ArchiveError("tar stream has no end-of-archive marker: the archive is incomplete")
        if self.expected is None:
            raise ArchiveError(f"no {MANIFEST} at the archive root: nothing to check the members against")
        if self.expected:
            missing = sorted(self.expected)
            raise ArchiveError(f"{MANIFEST} lists {len(missing)} member(s) missing from the archive: "
                               + ", ".join(repr(m) for m in missing[:5]))


def _pax_records(data: bytes) -> dict[str, str]:
    """Parse pax extended-header records: "<length> <key>=<value>\\n"."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise ArchiveError("malformed pax extended header") from None
        record = data[space + 1:pos + length - 1]
        if length <= 0 or b"=" not in record:
            raise ArchiveError("malformed pax extended header")
        key, value = record.split(b"=", 1)
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out
