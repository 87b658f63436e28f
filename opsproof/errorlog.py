"""New error lines in a log since the last run: rotation- and truncation-aware, bounded memory.

The reference point is (inode, offset) per host and file, kept in the state store. Same inode
and a larger file: read from the offset. Same inode and a smaller file: it was truncated, read
from the start. Another inode: the file was rotated; finish the old file where a sibling still
has its inode (NAME.1, NAME-20260101, ...), then read the new one from the start. A first run
reads the whole file. A trailing line without its newline is left for the next run.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Optional

from .target import Target, TargetError

CHUNK = 4 * 1024 * 1024


@dataclass
class ErrorScan:
    path: str
    pattern: str
    reference: str = "first run: whole file"
    inode: Optional[int] = None
    start_offset: int = 0
    end_offset: int = 0
    bytes_read: int = 0
    lines_read: int = 0
    matches: int = 0
    sample: list[str] = field(default_factory=list)
    rotated_from: Optional[str] = None
    error: Optional[str] = None


def _scan(target: Target, path: str, start: int, end: int, regex: re.Pattern, scan: ErrorScan, keep: int) -> int:
    """Count matching complete lines in [start, end); return the offset after the last complete line."""
    offset, carry = start, b""
    while offset < end:
        chunk = target.read_range(path, offset, min(CHUNK, end - offset))
        if not chunk:
            break
        offset += len(chunk)
        data = carry + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        complete, carry = data[: cut + 1], data[cut + 1:]
        scan.bytes_read += len(complete)
        text = complete.decode("utf-8", errors="replace")
        lines = text.splitlines()
        scan.lines_read += len(lines)
        if regex.search(text):
            for line in lines:
                if regex.search(line):
                    scan.matches += 1
                    if len(scan.sample) < keep:
                        scan.sample.append(line[:500])
    return offset - len(carry)


def _rotated_sibling(target: Target, path: str, inode: int) -> Optional[str]:
    """The uncompressed rotated file that still has the old inode, if any."""
    directory, name = posixpath.split(path)
    try:
        candidates = target.files(directory, name + ".*") + target.files(directory, name + "-*")
    except TargetError:
        return None
    for cand, _, _ in sorted(candidates):
        if cand.endswith((".gz", ".bz2", ".xz", ".zst")):
            continue
        st = target.stat(cand)
        if st.exists and st.inode == inode:
            return cand
    return None


def scan_errors(target: Target, path: str, pattern: str, previous: dict, keep_lines: int = 20) -> tuple[ErrorScan, dict]:
    """Scan for new lines matching `pattern`; returns the evidence and the new reference point."""
    regex = re.compile(pattern)
    scan = ErrorScan(path=path, pattern=pattern)
    st = target.stat(path)
    if not st.exists:
        scan.error = f"cannot read {path}: {st.error or 'no such file'}"
        return scan, previous
    if not st.is_file:
        scan.error = f"{path} is not a regular file"
        return scan, previous
    scan.inode = st.inode
    start = 0
    try:
        old_inode, old_offset = previous.get("inode"), int(previous.get("offset", 0))
        if old_inode is None:
            scan.reference = "first run: whole file"
        elif old_inode == st.inode and st.size >= old_offset:
            start = old_offset
            scan.reference = f"since the last run (offset {old_offset})"
        elif old_inode == st.inode:
            scan.reference = f"file was truncated ({st.size} < {old_offset} bytes): read from its start"
        else:
            sibling = _rotated_sibling(target, path, old_inode)
            scan.reference = "file was rotated: read from the start of the new file"
            if sibling:
                old = target.stat(sibling)
                _scan(target, sibling, old_offset, old.size or 0, regex, scan, keep_lines)
                scan.rotated_from = sibling
                scan.reference += f", and {sibling} from offset {old_offset}"
        scan.start_offset = start
        scan.end_offset = _scan(target, path, start, st.size, regex, scan, keep_lines)
    except (TargetError, OSError) as exc:
        scan.error = f"cannot read {path}: {exc}"
        return scan, previous
    return scan, {"inode": st.inode, "offset": scan.end_offset}
