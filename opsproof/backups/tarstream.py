"""The tar layer of a backup archive, as a push parser: fed inflated bytes, it proves each member.

Header checksums (tarfile.TarInfo.frombuf), pax and GNU long names, member names that stay inside
(no absolute path, no `..`, no link out, no device or FIFO), no member twice, the end-of-archive
marker, and each regular file's size and SHA-256 against MANIFEST.json, whichever comes first.
Memory: one packed 40-byte record per member until MANIFEST.json is read, then its entries only.
Standard library only: shipped to remote targets with opsproof.backups.archive.
"""
from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from typing import Any, Optional

MANIFEST = "MANIFEST.json"
MANIFEST_MAX = 32 << 20      # a MANIFEST larger than this is refused (bounded memory)
PAX_MAX = 1 << 20
FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)


class ArchiveError(Exception):
    """The first problem found; its text is the reason an auditor reads."""


def member_problem(name: str, kind: bytes, linkname: str = "") -> Optional[str]:
    """Why a member is unsafe to extract, or None. Used here and by the restore drill."""
    if not name or name in (".", "./"):
        return None if kind == tarfile.DIRTYPE else f"member with an empty name (type {kind!r})"
    if name.startswith("/"):
        return f"member {name!r} has an absolute path"
    if ".." in name.split("/"):
        return f"member {name!r} climbs out with '..'"
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        return f"member {name!r} is a device file"
    if kind == tarfile.FIFOTYPE:
        return f"member {name!r} is a FIFO"
    if kind == tarfile.SYMTYPE:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), linkname))
        if linkname.startswith("/") or target == ".." or target.startswith("../"):
            return f"symlink {name!r} points outside the archive ({linkname!r})"
    elif kind == tarfile.LNKTYPE:
        target = posixpath.normpath(linkname)
        if linkname.startswith("/") or target == ".." or target.startswith("../"):
            return f"hard link {name!r} points outside the archive ({linkname!r})"
    elif kind not in FILE_TYPES and kind != tarfile.DIRTYPE:
        return f"member {name!r} has an unsupported type {kind!r}"
    return None


def pack(size: int, digest: bytes) -> bytes:
    """A member's (size, SHA-256) as one small bytes object: 100 000 members stay a few MiB."""
    return digest + size.to_bytes(8, "big")


def unpack(packed: bytes) -> tuple[int, str]:
    return int.from_bytes(packed[32:], "big"), packed[:32].hex()


def parse_manifest(text: str) -> dict:
    """MANIFEST.json as a dict with `members` as {name: pack(size, sha256)}; ArchiveError when malformed.

    Member entries go straight into that dict as the parser meets them (no list of entries is ever
    built), so 100 000 members cost a few MiB beyond the JSON text itself.
    """
    members: dict[str, bytes] = {}
    entries = [0]

    def member(obj: dict) -> Any:
        if not ("sha256" in obj and "name" in obj and "size" in obj and len(obj) <= 4):
            return obj
        name, size, digest = obj["name"], obj["size"], obj["sha256"]
        if not isinstance(name, str) or not isinstance(size, int) or size < 0 or not isinstance(digest, str):
            raise ArchiveError(f"{MANIFEST}: member entry {name!r} has a malformed name, size or sha256")
        try:
            raw = bytes.fromhex(digest)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ArchiveError(f"{MANIFEST}: member {name!r} has a malformed sha256 {digest[:70]!r}")
        problem = member_problem(name, tarfile.REGTYPE)
        if problem:
            raise ArchiveError(f"{MANIFEST} lists an unsafe name: {problem}")
        members[_norm(name)] = pack(size, raw)
        entries[0] += 1
        return None

    try:
        doc = json.loads(text, object_hook=member)
    except ValueError as exc:
        raise ArchiveError(f"{MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ArchiveError(f"{MANIFEST} is not a JSON object")
    if doc.get("format") != 1:
        raise ArchiveError(f"{MANIFEST} has format {doc.get('format')!r}; this verifier reads format 1")
    for key in ("engine", "created_at", "members", "tables"):
        if key not in doc:
            raise ArchiveError(f"{MANIFEST} lacks the {key!r} key")
    listed = doc["members"]
    if not isinstance(listed, list) or any(e is not None for e in listed) or len(listed) != entries[0]:
        raise ArchiveError(f"{MANIFEST}: members must be a list of {{name, size, sha256}}")
    if len(members) != entries[0]:
        raise ArchiveError(f"{MANIFEST} lists a member name twice")
    doc["members"] = members
    if not doc.get("dump") and len(members) == 1:
        doc["dump"] = next(iter(members))  # DESIGN's MANIFEST has no `dump` key: its only member is the dump
    if not isinstance(doc["tables"], dict):
        raise ArchiveError(f"{MANIFEST}: tables must map table names to row counts")
    return doc


def _norm(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


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

    def feed(self, chunk: bytes) -> None:
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
                block = chunk[pos:pos + 512]
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
        elif size and kind not in (tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE):
            self._start(size, capture=False, kind=kind)
        elif kind == tarfile.DIRTYPE and size:
            self._start(size, capture=False, kind=kind)

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
