"""The service's ports, asked from the host it runs on: does it speak TLS (and with which certificate), which health
paths answer. Standard library only (shipped to a target); every connection is bounded by a timeout.
"""
from __future__ import annotations

import base64
import http.client
import socket
import ssl
import time
from typing import Optional

HEALTH_PATHS = ("/health", "/healthz", "/status", "/-/ready")
BODY = 8192                     # bytes of a health answer kept
TIMEOUT_S = 3.0


def connect_address(address: str) -> str:
    """Where to connect for a socket listening on `address`: a wildcard listener is asked on loopback."""
    if address in ("0.0.0.0", "*"):
        return "127.0.0.1"
    if address == "::":
        return "::1"
    return address


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE     # to read whatever certificate is there; the TLS check verifies it
    return context


def certificate(address: str, port: int, timeout_s: float = TIMEOUT_S) -> Optional[str]:
    """The port's TLS certificate (DER, base64), or None when it does not complete a TLS handshake."""
    try:
        with socket.create_connection((address, port), timeout=timeout_s) as raw:
            raw.settimeout(timeout_s)
            with _unverified().wrap_socket(raw, server_hostname=None) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError, ValueError):
        return None
    return base64.b64encode(der).decode() if der else None


def get(address: str, port: int, path: str, tls: bool, timeout_s: float = TIMEOUT_S) -> dict:
    """One GET: {path, status, latency_ms, content_type, body} or {path, error}."""
    host = f"[{address}]" if ":" in address else address
    conn = (http.client.HTTPSConnection(address, port, timeout=timeout_s, context=_unverified()) if tls
            else http.client.HTTPConnection(address, port, timeout=timeout_s))
    started = time.perf_counter()
    try:
        conn.request("GET", path, headers={"User-Agent": "opsproof-init", "Accept": "*/*", "Host": f"{host}:{port}"})
        resp = conn.getresponse()
        body = resp.read(BODY)
        latency = (time.perf_counter() - started) * 1000
        return {"path": path, "status": resp.status, "latency_ms": round(latency, 1),
                "content_type": resp.getheader("Content-Type") or "",
                "body": body.decode("utf-8", "replace")[:4096]}
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return {"path": path, "error": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        conn.close()


def ports(listening: list[dict], deadline: float) -> list[dict]:
    """For each listening socket {address, port}: {address, port, connect, tls_der, answers: [get(...) per path]}."""
    out = []
    for sock in listening:
        if time.monotonic() > deadline:
            break
        address = connect_address(sock["address"])
        der = certificate(address, sock["port"])
        answers = [get(address, sock["port"], path, der is not None) for path in HEALTH_PATHS
                   if time.monotonic() < deadline]
        out.append({"address": sock["address"], "port": sock["port"], "connect": address, "tls_der": der,
                    "answers": answers})
    return out
