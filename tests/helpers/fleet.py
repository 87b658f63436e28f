"""A fleet of real sshd on 127.0.0.x for the fleet tests and benchmark: one Sshd (helpers/sshd.py) per host, each
with its own HostKey, ListenAddress and port; an Ansible inventory naming them; one ssh_config that reaches all.

All of them are this machine, so every host sees the same files, processes and ports: a check that passes
locally passes on each, and what differs between hosts is only what the test makes differ (a host stopped,
one frozen, a group's overrides).
"""
from __future__ import annotations

import getpass
import os
import shutil
import signal
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from helpers.sshd import Sshd


class Fleet:
    """`count` sshd on 127.0.0.2, 127.0.0.3, ... (the first address of each is its own), started in parallel."""

    def __init__(self, directory: Path, names: list[str], connect_timeout: int = 3) -> None:
        self.dir = Path(directory)
        self.names = names
        self.hosts = {name: Sshd(self.dir / name, connect_timeout, address=f"127.0.0.{i + 2}")
                      for i, name in enumerate(names)}
        self.control_dir = tempfile.mkdtemp(prefix="opsproof-fleet-")
        self.ssh_config = self.dir / "ssh_config"
        self.frozen: list[int] = []

    def start(self) -> "Fleet":
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda s: s.start(), self.hosts.values()))
        keys = "".join(Path(f"{s.client_key}.pub").read_text() for s in self.hosts.values())
        for s in self.hosts.values():  # any host's key logs in anywhere: a spec needs no key of its own
            s.authorized_keys.write_text(keys)
        # One ssh_config for every 127.0.0.x; the key and port come from the inventory (or the spec).
        self.ssh_config.write_text("\n".join([
            "Host 127.0.0.*",
            f"  User {getpass.getuser()}",
            f"  IdentityFile {next(iter(self.hosts.values())).client_key}",
            "  IdentitiesOnly yes",
            "  StrictHostKeyChecking no",
            "  UserKnownHostsFile /dev/null",
            "  BatchMode yes",
            "  ServerAliveInterval 5",
            "  ServerAliveCountMax 2",
            "  LogLevel ERROR",
            f"  ControlPath {self.control_dir}/%C",
        ]) + "\n")
        return self

    def inventory(self, groups: dict[str, list[str]], path: Path) -> Path:
        """An INI inventory: each group's hosts with ansible_host, ansible_port and their own client key."""
        lines = []
        for group, members in groups.items():
            lines.append(f"[{group}]")
            for name in members:
                s = self.hosts[name]
                lines.append(f"{name} ansible_host={s.address} ansible_port={s.port} "
                             f"ansible_ssh_private_key_file={s.client_key}")
            lines.append("")
        path.write_text("\n".join(lines))
        return path

    def spec(self, name: str) -> str:
        s = self.hosts[name]
        return f"ssh://{s.address}:{s.port}"

    def identity(self, name: str) -> str:
        return str(self.hosts[name].client_key)

    def stop_host(self, name: str) -> None:
        """Stop one host's sshd: connections to it are refused."""
        self.hosts[name].stop()

    def freeze(self, name: str) -> None:
        """SIGSTOP one host's sshd (and its sessions): it accepts TCP connections but never answers."""
        s = self.hosts[name]
        for pid in [s.proc.pid, *s.children()]:
            os.kill(pid, signal.SIGSTOP)
            self.frozen.append(pid)

    def thaw(self) -> None:
        for pid in self.frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.frozen.clear()

    def sessions(self) -> int:
        """SSH sessions the hosts have started so far (one per command or shipped call), from each sshd's log."""
        return sum(s.log.read_text(errors="replace").count("Starting session") for s in self.hosts.values())

    def cpu_seconds(self) -> float:
        """CPU seconds the hosts' sshd have used so far, with every session they reaped (its shell, the commands and
        shipped python3 it ran): /proc/PID/stat's utime, stime, cutime and cstime. A session still open is not in
        it until it ends."""
        ticks = 0
        for s in self.hosts.values():
            if s.proc is None:
                continue
            with open(f"/proc/{s.proc.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ticks += sum(int(x) for x in fields[11:15])   # fields 14-17 of proc(5), counted after "pid (comm)"
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.thaw()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda s: s.stop(), self.hosts.values()))
        shutil.rmtree(self.control_dir, ignore_errors=True)
