"""Listening TCP sockets on the target (`ss -H -l -t -n -p`), against the allow-list, with the process behind each."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from ..hosts.target import Target, TargetError

COMMAND = "ss -H -l -t -n -p"
_USERS = re.compile(r'\("([^"]*)",pid=(\d+)')


@dataclass(frozen=True)
class Listener:
    port: int
    address: str
    processes: str = ""                              # "nginx (pid 12), nginx (pid 13)", or "" when ss may not say

    def line(self) -> str:
        return f"{self.address} ({self.processes or 'process not visible: run as root to see it'})"


@dataclass
class PortsResult:
    allowed: list[int]
    command: str = COMMAND
    listening: list[int] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)   # one line per socket on a port not allowed
    error: Optional[str] = None


def listeners(target: Target) -> list[Listener]:
    return parse(target.run(COMMAND).stdout)


def parse(out: str) -> list[Listener]:
    """ss's lines (`State Recv-Q Send-Q Local Peer Process`): local `127.0.0.1:80`, `[::1]:80`, `[::]:80`, `*:80`
    (dual-stack), `127.0.0.53%lo:53`; every process sharing the socket, by name and pid. A header line is skipped."""
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4 or not parts[3].rsplit(":", 1)[-1].isdigit():
            continue
        local = parts[3]
        procs = ", ".join(f"{name} (pid {pid})" for name, pid in _USERS.findall(line))
        found.append(Listener(int(local.rsplit(":", 1)[1]), local, procs))
    return sorted(set(found), key=lambda x: (x.port, x.address))


def open_ports(target: Target, allowed: list[int]) -> PortsResult:
    result = PortsResult(sorted(allowed))
    try:
        found = listeners(target)
    except TargetError as exc:
        result.error = f"{exc} — ss comes with iproute2 (apt-get install iproute2)"
        return result
    result.listening = sorted({x.port for x in found})
    result.unexpected = [f"tcp {x.port}: {x.line()}" for x in found if x.port not in allowed]
    return result
