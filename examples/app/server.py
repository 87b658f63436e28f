"""The example service: a small real HTTP service with a SQLite database and nginx-style logs.

GET /health answers {"status": "ok", "orders": N} after querying the database; GET /orders
adds an order; GET /fail answers 500 and logs an ERROR. SIGHUP reopens the logs (for rotation),
SIGTERM stops it. Its process name (comm) is `example-app`, so process checks can find it.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import sqlite3
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(os.environ.get("EXAMPLE_ROOT", os.path.dirname(__file__)))
PORT = int(os.environ.get("EXAMPLE_PORT", "8080"))
NAME = b"example-app"


class Logs:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.access = self.error = None
        self.reopen()

    def reopen(self, *_: object) -> None:
        with self.lock:
            for fh in (self.access, self.error):
                if fh:
                    fh.close()
            os.makedirs(os.path.join(ROOT, "logs"), exist_ok=True)
            self.access = open(os.path.join(ROOT, "logs", "access.log"), "a", buffering=1)
            self.error = open(os.path.join(ROOT, "logs", "error.log"), "a", buffering=1)

    def err(self, level: str, message: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.lock:
            self.error.write(f"{stamp} {level} {message}\n")

    def hit(self, client: str, request: str, status: int, size: int, seconds: float, agent: str) -> None:
        stamp = datetime.now().astimezone().strftime("%d/%b/%Y:%H:%M:%S %z")
        with self.lock:
            self.access.write(f'{client} - - [{stamp}] "{request}" {status} {size} "-" "{agent}" {seconds:.3f}\n')


LOGS: Logs


def db() -> sqlite3.Connection:
    return sqlite3.connect(os.path.join(ROOT, "data", "app.db"), timeout=5)


class Handler(BaseHTTPRequestHandler):
    server_version = "example-app/1"

    def log_message(self, *_: object) -> None:  # the access log is written in respond()
        pass

    def respond(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        LOGS.hit(self.client_address[0], self.requestline, status, len(body), time.perf_counter() - self.t0,
                 self.headers.get("User-Agent", "-"))

    def do_GET(self) -> None:
        self.t0 = time.perf_counter()
        if self.path == "/health":
            if os.path.exists(os.path.join(ROOT, "run", "broken")):
                LOGS.err("ERROR", "health: marked broken (run/broken exists)")
                return self.respond(503, {"status": "broken"})
            try:
                with db() as conn:
                    orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
            except sqlite3.Error as exc:
                LOGS.err("ERROR", f"health: database: {exc}")
                return self.respond(503, {"status": "db-error"})
            return self.respond(200, {"status": "ok", "orders": orders})
        if self.path == "/orders":
            with db() as conn:
                conn.execute("INSERT INTO orders(item, qty) VALUES ('widget', 1)")
            return self.respond(201, {"created": True})
        if self.path == "/fail":
            LOGS.err("ERROR", "simulated failure on /fail")
            return self.respond(500, {"error": "simulated"})
        return self.respond(404, {"error": "not found"})


def main() -> None:
    global LOGS
    try:  # the process name checks look for: comm = example-app
        ctypes.CDLL(None).prctl(15, ctypes.c_char_p(NAME), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    LOGS = Logs()
    signal.signal(signal.SIGHUP, LOGS.reopen)
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    os.makedirs(os.path.join(ROOT, "run"), exist_ok=True)
    with open(os.path.join(ROOT, "run", "app.pid"), "w") as fh:
        fh.write(str(os.getpid()))
    LOGS.err("INFO", f"example-app listening on 127.0.0.1:{PORT}")
    server.serve_forever()
    LOGS.err("INFO", "example-app stopped")


if __name__ == "__main__":
    sys.exit(main())
