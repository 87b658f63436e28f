"""A real OpenSSH server on 127.0.0.1 for the remote-host tests, with an ssh_config that reaches it.

Everything lives in one temporary folder: host and client keys, sshd_config, authorized_keys, the pid
file, sshd's log and the client's ssh_config (`Host opsproof-target`). Extra `Host` entries point at
things that are not an sshd (a closed port, a listener that never speaks) for the unreachable cases.

The ssh_config sets a ControlPath, so testinfra's ssh backend (which passes `-o ControlMaster=auto -o
ControlPersist=60s` but no path) multiplexes its commands over one connection, as it means to: without
it every command is a new SSH login, and a check run over `ssh://` took seconds per check. The sockets
live in a short folder of their own (a Unix socket path is limited to 108 bytes).
"""
from __future__ import annotations

import getpass
import os
import signal
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

from helpers import free_port

SSHD = "/usr/sbin/sshd"  # sshd refuses to re-exec itself unless started by an absolute path
ALIAS = "opsproof-target"
BACKENDS = ("ssh", "paramiko")  # testinfra's two ways over SSH: the `ssh` command, and paramiko in process


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True, timeout=30)


class SilentListener:
    """Accepts TCP connections and never sends a banner: a host that hangs rather than refuses."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.held.append(conn)  # keep it open, say nothing

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


class Sshd:
    """`sshd -D -e` on a free port of a loopback address (127.0.0.x: several on one machine), key-only login for
    the current user."""

    def __init__(self, directory: Path, connect_timeout: int = 5, address: str = "127.0.0.1") -> None:
        self.dir = Path(directory).absolute()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.address = address
        self.port = free_port(address)
        self.user = getpass.getuser()
        self.connect_timeout = connect_timeout
        self.host_key = self.dir / "host_ed25519"
        self.client_key = self.dir / "client_ed25519"
        self.authorized_keys = self.dir / "authorized_keys"
        self.sshd_config = self.dir / "sshd_config"
        self.ssh_config = self.dir / "ssh_config"
        self.log = self.dir / "sshd.log"
        self.pid_file = self.dir / "sshd.pid"
        self.control_dir = Path(tempfile.mkdtemp(prefix="opsproof-ssh-"))
        self.proc: Optional[subprocess.Popen] = None
        self._log_fh = None
        self._entries: dict[str, tuple[str, int]] = {ALIAS: (address, self.port)}

    # -- configuration ---------------------------------------------------------------------------
    def write_files(self) -> None:
        _keygen(self.host_key, "opsproof-test-host")
        _keygen(self.client_key, "opsproof-test-client")
        self.authorized_keys.write_text(Path(f"{self.client_key}.pub").read_text())
        os.chmod(self.authorized_keys, 0o600)
        self.sshd_config.write_text(self.sshd_config_text())
        self.write_ssh_config()

    def sshd_config_text(self, extra: str = "") -> str:
        return "\n".join([
            f"ListenAddress {self.address}",
            f"Port {self.port}",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            f"AllowUsers {self.user}",
            "UsePAM no",
            "StrictModes no",           # the temp folder's permissions are not sshd's business here
            f"PidFile {self.pid_file}",
            "MaxStartups 64:30:128",    # the ssh backend opens one connection per command
            "MaxSessions 64",
            "LogLevel VERBOSE",
            extra,
        ]) + "\n"

    def add_host(self, alias: str, hostname: str, port: int) -> None:
        """Another `Host` entry in ssh_config (e.g. a closed port: an unreachable host)."""
        self._entries[alias] = (hostname, port)
        self.write_ssh_config()

    def host(self, backend: str = "ssh", alias: str = ALIAS, **kwargs):
        """A testinfra host reaching `alias` through this server's ssh_config by `backend` (one of BACKENDS)."""
        import testinfra

        return testinfra.get_host(f"{backend}://{alias}", ssh_config=str(self.ssh_config), **kwargs)

    def port_of(self, alias: str) -> int:
        return self._entries[alias][1]

    def write_ssh_config(self) -> None:
        blocks = []
        for alias, (hostname, port) in self._entries.items():
            blocks.append("\n".join([
                f"Host {alias}",
                f"  HostName {hostname}",
                f"  Port {port}",
                f"  User {self.user}",
                f"  IdentityFile {self.client_key}",
                "  IdentitiesOnly yes",
                "  StrictHostKeyChecking no",
                "  UserKnownHostsFile /dev/null",
                "  BatchMode yes",
                f"  ConnectTimeout {self.connect_timeout}",
                "  ServerAliveInterval 5",
                "  ServerAliveCountMax 2",
                "  LogLevel ERROR",
                f"  ControlPath {self.control_dir}/%C",
            ]))
        self.ssh_config.write_text("\n\n".join(blocks) + "\n")

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 30) -> "Sshd":
        self.write_files()
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # the privilege-separation directory
        check = subprocess.run([SSHD, "-t", "-f", str(self.sshd_config)], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"sshd -t rejects {self.sshd_config}: {check.stderr.strip()}")
        # OpenSSH >= 9.8 penalises sources with many failed connections; the unreachable cases make some.
        probe = self.sshd_config_text("PerSourcePenalties no")
        self.sshd_config.write_text(probe)
        if subprocess.run([SSHD, "-t", "-f", str(self.sshd_config)], capture_output=True, timeout=30).returncode:
            self.sshd_config.write_text(self.sshd_config_text())
        self._log_fh = open(self.log, "ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.sshd_config)], stdout=self._log_fh,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection((self.address, self.port), timeout=1):
                    pass
            except OSError as exc:
                last = str(exc)
                time.sleep(0.1)
                continue
            done = self.ssh("echo opsproof-ready", check=False)
            if done.returncode == 0 and "opsproof-ready" in done.stdout:
                return self
            last = done.stderr.strip()
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"sshd on {self.address}:{self.port} did not accept `ssh {ALIAS}` within {timeout} s: "
                           f"{last}\n{self.log.read_text()[-2000:]}")

    def ssh(self, command: str, alias: str = ALIAS, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["ssh", "-F", str(self.ssh_config), alias, command], capture_output=True, text=True,
                              timeout=self.connect_timeout + 30, check=check)

    def children(self) -> list[int]:
        """PIDs of sshd's per-connection processes (to freeze a live session in a test)."""
        if not self.proc:
            return []
        out = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True, text=True).stdout
        pids, frontier = [], {self.proc.pid}
        rows = [tuple(map(int, line.split())) for line in out.splitlines() if line.strip()]
        while frontier:
            nxt = {pid for pid, ppid in rows if ppid in frontier}
            pids.extend(nxt)
            frontier = nxt
        return pids

    def stop(self) -> None:
        for alias in self._entries:  # the multiplexing masters, before their server goes
            subprocess.run(["ssh", "-F", str(self.ssh_config), "-O", "exit", alias], capture_output=True, timeout=30)
        if self.proc and self.proc.poll() is None:
            for pid in self.children():  # a test may have frozen them; let them see the end
                for sig in (signal.SIGCONT, signal.SIGTERM):
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None
        shutil.rmtree(self.control_dir, ignore_errors=True)
