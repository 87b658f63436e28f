"""An HTTP server on 127.0.0.1 whose answers the test controls (status, body, delay, hang, requests held until
several are in flight): the `http_server` fixture, and the health tests' endpoints."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Behaviour:
    """What the test HTTP server answers; tests change it between requests."""

    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = b'{"status": "ok"}'
        self.delay_s = 0.0
        self.hang = False
        self.fail_first = 0
        self.requests: list[dict] = []
        self.gather = 0             # hold each request until this many are in flight at once (bounded wait)
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Condition()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        b: Behaviour = self.server.behaviour  # type: ignore[attr-defined]
        b.requests.append({"path": self.path, "headers": dict(self.headers)})
        with b.lock:
            b.in_flight += 1
            b.max_in_flight = max(b.max_in_flight, b.in_flight)
            b.lock.notify_all()
            b.lock.wait_for(lambda: b.max_in_flight >= b.gather, timeout=30)
        counted = [True]

        def leave() -> None:
            # Out of flight just before the last write: once that byte is out the client may send its next request
            # before this thread runs again, and counting it then would see one more in flight than there is.
            if counted[0]:
                counted[0] = False
                with b.lock:
                    b.in_flight -= 1
        try:
            self._answer(b, leave)
        finally:
            leave()

    def _answer(self, b: "Behaviour", leave) -> None:
        if b.hang:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"{")
            self.wfile.flush()
            time.sleep(60)
            return
        if b.delay_s:
            time.sleep(b.delay_s)
        status = b.status
        if b.fail_first > 0:
            b.fail_first -= 1
            status = 503
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b.body)))
        self.end_headers()
        leave()
        self.wfile.write(b.body)


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: 200 probes connecting at once overflow it, and the kernel drops
    # their SYNs to be retried after 1, 2, 4, 8, 16, 32 s — past a probe's timeout on a loaded machine.
    request_queue_size = 1024


class HTTPServerFixture:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.behaviour = self.behaviour  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/health") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
