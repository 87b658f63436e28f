"""A TCP relay on loopback that counts the bytes it passes each way: what an SSH session really moved; with
`delay_s`, each chunk is held that long in each direction (a round trip costs twice it: a slow link, not a slow pipe).

Point an ssh_config `Host` entry at `relay.port` (Sshd.add_host) and every byte between the client and the
server goes through it: key exchange, commands, output. Used by the remote error-log test and its benchmark, and
(`listen` on a fleet host's own 127.0.0.x) by the fleet benchmark, one relay per host.
"""
from __future__ import annotations

import heapq
import socket
import threading
import time


class CountingRelay:
    """Accepts on a free port of `listen` and relays each connection to `host`:`port`, counting bytes."""

    def __init__(self, port: int, delay_s: float = 0.0, host: str = "127.0.0.1", listen: str = "127.0.0.1") -> None:
        self.upstream, self.upstream_host, self.delay_s = port, host, delay_s
        self.sock = socket.create_server((listen, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.to_server = self.to_client = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="counting-relay", daemon=True)
        self._thread.start()

    @property
    def total(self) -> int:
        with self._lock:
            return self.to_server + self.to_client

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            server = socket.create_connection((self.upstream_host, self.upstream), timeout=10)
            server.settimeout(None)
            self._conns += [client, server]
            for src, dst, up in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(src, dst, up), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        if self.delay_s > 0:
            return self._pump_late(src, dst, up)
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                with self._lock:  # counted before it is passed on: a reader that saw it sees it counted
                    if up:
                        self.to_server += len(data)
                    else:
                        self.to_client += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _pump_late(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        """Each chunk passed on `delay_s` after it arrived, in order, by a sender thread (no throughput limit)."""
        queue: list = []
        ready = threading.Condition()

        def send() -> None:
            while True:
                with ready:
                    while not queue:
                        ready.wait()
                    due, n, data = queue[0]
                    wait = due - time.monotonic()
                    if wait > 0:
                        ready.wait(wait)
                        continue
                    heapq.heappop(queue)
                try:
                    if data is None:
                        dst.shutdown(socket.SHUT_WR)
                        return
                    dst.sendall(data)
                except OSError:
                    return

        threading.Thread(target=send, daemon=True).start()
        n = 0
        while True:
            try:
                data = src.recv(1 << 16)
            except OSError:
                data = b""
            with self._lock:
                if up:
                    self.to_server += len(data)
                else:
                    self.to_client += len(data)
            n += 1
            with ready:
                heapq.heappush(queue, (time.monotonic() + self.delay_s, n, data or None))
                ready.notify()
            if not data:
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._conns:
            conn.close()
        self.sock.close()
