"""Processes and listening TCP sockets on this host, read from /proc. Standard library only: shipped to a target.

A listening socket is matched to its process by the socket's inode among the process's file descriptors (as `ss -p`
does); without root, other users' processes cannot be read, and `complete` says so. Environment variables are read
only for what discovery needs (folders, database references), and a database password never leaves this host:
`secrets.clean_dsn` strips it here.
"""
from __future__ import annotations

import os
import re
import socket
import struct
from typing import Optional

from .secrets import clean_dsn

MAX_OPEN_FILES = 400            # regular files reported per process
SKIP_PREFIXES = ("/proc/", "/sys/", "/dev/", "/usr/", "/lib", "/bin/", "/sbin/", "/etc/ld.so", "/memfd:", "/run/")
_ENV_DIR = re.compile(r"(^|_)(ROOT|HOME|DIR|DATA|LOGS?)$")
_ENV_DB = re.compile(r"(DATABASE|DSN|DB_URL|POSTGRES|PG|SQLITE)", re.I)


def _read(path: str, limit: int = 65536) -> Optional[bytes]:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit)
    except OSError:
        return None


def _address(hexaddr: str) -> str:
    """/proc/net/tcp's address (host byte order per 32-bit word) as text: 127.0.0.1, ::, ::1."""
    raw = bytes.fromhex(hexaddr)
    words = b"".join(struct.pack("<I", struct.unpack(">I", raw[i:i + 4])[0]) for i in range(0, len(raw), 4))
    if len(words) == 4:
        return socket.inet_ntop(socket.AF_INET, words)
    text = socket.inet_ntop(socket.AF_INET6, words)
    return text[7:] if text.startswith("::ffff:") else text


def listeners() -> dict[int, dict]:
    """Socket inode -> {address, port} of every listening TCP socket (IPv4 and IPv6)."""
    found: dict[int, dict] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        raw = _read(table, 16 << 20) or b""
        for line in raw.decode("ascii", "replace").splitlines()[1:]:
            parts = line.split()
            if len(parts) < 10 or parts[3] != "0A":
                continue
            addr, _, port = parts[1].partition(":")
            found[int(parts[9])] = {"address": _address(addr), "port": int(port, 16)}
    return found


def is_loopback(address: str) -> bool:
    """Whether a listener's address (numeric, as /proc gives it) is this machine's loopback only."""
    return address == "::1" or address.startswith("127.")


def _unit(pid: str) -> Optional[str]:
    """The systemd service a process runs in, from its cgroup (`.../system.slice/shop.service`)."""
    text = (_read(f"/proc/{pid}/cgroup") or b"").decode("utf-8", "replace")
    found = re.findall(r"/([^/\s]+\.service)(?:/|$)", text, re.M)
    return found[-1] if found else None


def _environment(pid: str) -> dict[str, str]:
    """What discovery takes from a process's environment: folder-like values, and database references (DSNs
    without a password, `PGPASSWORD` only as the fact that it is set)."""
    raw = _read(f"/proc/{pid}/environ", 1 << 20) or b""
    out: dict[str, str] = {}
    for item in raw.split(b"\0"):
        name, _, value = item.decode("utf-8", "replace").partition("=")
        if not name or not value:
            continue
        if name == "PGPASSWORD" or "PASSWORD" in name.upper() or "SECRET" in name.upper():
            out[name] = "<set>"
        elif "://" in value and _ENV_DB.search(name + value.split("://")[0]):
            dsn, had = clean_dsn(value)
            out[name] = dsn + (" <password>" if had else "")
        elif name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE") or (_ENV_DIR.search(name) and value.startswith("/")
                                                                     and ":" not in value and name != "HOME"):
            out[name] = value[:500]
    return out


def _fds(pid: str, sockets: dict[int, dict]) -> tuple[list[dict], list[str], bool]:
    """(listening sockets, open regular files, whether the descriptors could be read) of a process."""
    ports, files = [], []
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return [], [], False
    for fd in names:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inode = int(link[8:-1])
            if inode in sockets and sockets[inode] not in ports:
                ports.append(sockets[inode])
        elif link.startswith("/") and not link.startswith(SKIP_PREFIXES) and len(files) < MAX_OPEN_FILES:
            if not link.endswith(" (deleted)") and os.path.isfile(link) and link not in files:
                files.append(link)
    return ports, sorted(files), True


def processes() -> dict:
    """{processes: [{pid, ppid, comm, argv, cwd, unit, ports, files, env}], listening: [{address, port, pids}],
    complete: whether every process's descriptors could be read}."""
    sockets = listeners()
    procs, complete = [], True
    held: dict[int, list[int]] = {}
    for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
        stat = (_read(f"/proc/{pid}/stat") or b"").decode("utf-8", "replace")
        if not stat or ")" not in stat:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if not fields or fields[0] == "Z":
            continue
        argv = [a.decode("utf-8", "replace")[:300] for a in (_read(f"/proc/{pid}/cmdline") or b"").split(b"\0") if a]
        if not argv:
            continue                    # a kernel thread
        ports, files, readable = _fds(pid, sockets)
        complete = complete and readable
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = None
        for item in ports:
            held.setdefault(item["port"], []).append(int(pid))
        procs.append({"pid": int(pid), "ppid": int(fields[1]), "comm": comm, "argv": argv[:12], "cwd": cwd,
                      "unit": _unit(pid), "ports": sorted(ports, key=lambda p: (p["port"], p["address"])),
                      "files": files, "env": _environment(pid)})
    listening = [{"address": s["address"], "port": s["port"], "pids": sorted(set(held.get(s["port"], [])))}
                 for s in sorted(sockets.values(), key=lambda s: (s["port"], s["address"]))]
    return {"processes": procs, "listening": listening, "complete": complete}
