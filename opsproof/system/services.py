"""Services on the target: processes by exact name (comm), TCP ports listening on any address."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..hosts.target import Target, TargetError


@dataclass(frozen=True)
class ProcessState:
    name: str
    pids: list[int] = field(default_factory=list)
    command: str = ""
    error: Optional[str] = None


@dataclass(frozen=True)
class PortState:
    port: int
    listening: bool = False
    addresses: list[str] = field(default_factory=list)
    command: str = ""
    error: Optional[str] = None


def process_state(target: Target, name: str) -> ProcessState:
    """PIDs whose comm is exactly `name` (Linux truncates comm to 15 characters); a zombie is not running."""
    command = "ps -A -o pid= -o stat= -o comm="
    try:
        out = target.run(command).stdout
    except TargetError as exc:
        return ProcessState(name, command=command, error=str(exc))
    wanted = name[:15]
    rows = (line.split(None, 2) for line in out.splitlines() if line.strip())
    pids = [int(pid) for pid, stat, comm in rows if comm.strip() == wanted and not stat.startswith("Z")]
    return ProcessState(name, pids=sorted(pids), command=command)


def port_state(target: Target, port: int) -> PortState:
    """Whether a TCP socket listens on `port`, on any address (IPv4 or IPv6)."""
    command = "ss -H -l -t -n"
    try:
        out = target.run(command).stdout
    except TargetError as exc:
        return PortState(port, command=command, error=str(exc))
    addresses = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            local = parts[3]
            if local.rsplit(":", 1)[-1] == str(port):
                addresses.append(local)
    return PortState(port, listening=bool(addresses), addresses=sorted(set(addresses)), command=command)
