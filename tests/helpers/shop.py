"""A second real service for `opsproof init`'s tests, unlike the example: `shop-api`, an HTTP and an HTTPS port (a
self-signed certificate), nginx-format access and error logs (`log/access.log`, `log/shop.err`), a PostgreSQL database
named by DATABASE_URL (password included) in its environment and in config/app.yml, opsproof archives of it in
backups/ and pg_dump custom-format dumps in dumps/. Started in a temporary root on free ports; `stop()` ends it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
import ssl
from pathlib import Path

from helpers import free_port, wait_for

SERVER = r'''
import ctypes, json, os, signal, ssl, sys, threading, time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.environ["SHOP_ROOT"]
ctypes.CDLL(None).prctl(15, ctypes.c_char_p(b"shop-api"), 0, 0, 0)
os.makedirs(os.path.join(ROOT, "log"), exist_ok=True)
ACCESS = open(os.path.join(ROOT, "log", "access.log"), "a", buffering=1)
ERRORS = open(os.path.join(ROOT, "log", "shop.err"), "a", buffering=1)
LOCK = threading.Lock()


def error(level, text):
    with LOCK:
        ERRORS.write(f"{datetime.now():%Y/%m/%d %H:%M:%S} [{level}] {os.getpid()}#0: {text}\n")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def do_GET(self):
        started = time.perf_counter()
        if self.path == "/healthz":
            broken = os.path.exists(os.path.join(ROOT, "run", "broken"))
            status, body = (503, {"status": "fail"}) if broken else (200, {"status": "pass", "db": "up"})
        elif self.path == "/boom":
            error("error", "upstream timed out while reading response header")
            status, body = 500, {"error": "boom"}
        else:
            status, body = 404, {"error": "not found"}
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)
        stamp = datetime.now().astimezone().strftime("%d/%b/%Y:%H:%M:%S %z")
        with LOCK:
            ACCESS.write(f'{self.client_address[0]} - - [{stamp}] "{self.requestline}" {status} {len(raw)} "-" '
                         f'"{self.headers.get("User-Agent", "-")}" {time.perf_counter() - started:.3f}\n')


plain = ThreadingHTTPServer(("127.0.0.1", int(os.environ["SHOP_HTTP_PORT"])), Handler)
secure = ThreadingHTTPServer(("127.0.0.1", int(os.environ["SHOP_TLS_PORT"])), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(os.path.join(ROOT, "tls", "cert.pem"), os.path.join(ROOT, "tls", "key.pem"))
secure.socket = context.wrap_socket(secure.socket, server_side=True)
for server in (plain, secure):
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
os.makedirs(os.path.join(ROOT, "run"), exist_ok=True)
with open(os.path.join(ROOT, "run", "shop.pid"), "w") as fh:
    fh.write(str(os.getpid()))
error("notice", "shop-api started")
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
'''


class Shop:
    """shop-api in `root` (server.py written there), on two free loopback ports, using the database at `dsn`."""

    def __init__(self, root: Path, dsn: str) -> None:
        self.root = root
        self.dsn = dsn
        self.http_port, self.tls_port = free_port(), free_port()
        self.proc: subprocess.Popen | None = None
        for sub in ("log", "run", "tls", "config", "backups", "dumps", "docs"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "server.py").write_text(SERVER)
        (root / "config" / "app.yml").write_text(f"database:\n  url: {dsn}\n  pool: 5\n")
        (root / "docs" / "runbook.md").write_text("# Runbook\n\nRollback: redeploy the previous release.\n")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "90", "-subj",
                        "/CN=shop.test", "-keyout", str(root / "tls" / "key.pem"), "-out", str(root / "tls" / "cert.pem")],
                       check=True, capture_output=True, timeout=60)

    def start(self) -> "Shop":
        env = dict(os.environ, SHOP_ROOT=str(self.root), SHOP_HTTP_PORT=str(self.http_port),
                   SHOP_TLS_PORT=str(self.tls_port), DATABASE_URL=self.dsn)
        with open(self.root / "log" / "stdout.txt", "ab") as out:
            self.proc = subprocess.Popen([sys.executable, str(self.root / "server.py")], env=env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/",
                                         start_new_session=True)
        wait_for(lambda: self.get("/healthz") == 200 or self.proc.poll() is not None, 20, "shop-api to answer")
        assert self.proc.poll() is None, (self.root / "log" / "stdout.txt").read_text()
        return self

    def get(self, path: str, tls: bool = False) -> int | None:
        """One request as a user would make it; its status, or None when nothing answered."""
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        url = f"https://127.0.0.1:{self.tls_port}{path}" if tls else f"http://127.0.0.1:{self.http_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5, context=context if tls else None) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def traffic(self, count: int = 300) -> None:
        for i in range(count):
            self.get("/healthz", tls=i % 3 == 0)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
