"""MANIFEST.json of a backup archive: its shape (DESIGN's format 1), member names that stay inside, compact entries.

Standard library only: shipped to remote targets with the archive verifier.
"""
from __future__ import annotations

import json
import posixpath
import tarfile
from typing import Any, Optional

MANIFEST = "MANIFEST.json"
FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
MANIFEST_MAX = 32 << 20      # a MANIFEST larger than this is refused (bounded memory)


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
        members[norm(name)] = pack(size, raw)
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
    dump = doc.get("dump")
    if dump and (not isinstance(dump, str) or norm(dump) not in members):  # the drill restores this file
        raise ArchiveError(f"{MANIFEST}: dump {dump!r} is not one of its members")
    if not dump and len(members) == 1:
        doc["dump"] = next(iter(members))  # DESIGN's MANIFEST has no `dump` key: its only member is the dump
    if not isinstance(doc["tables"], dict):
        raise ArchiveError(f"{MANIFEST}: tables must map table names to row counts")
    return doc


def norm(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")
