"""TLS: real TLS servers on 127.0.0.1 with certificates made here — valid, expiring soon, expired, not yet valid,
wrong host, self-signed — and a plain TCP port; each fails with its reason, the valid one passes."""
from __future__ import annotations

import socket
import ssl
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opsproof.config.security import Tls
from opsproof.security.tls import probe

NOW = datetime.now(timezone.utc)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key, issuer: str, issuer_key, start: datetime, end: datetime, sans: list[str], ca=False):
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = _cert("opsproof test CA", self.ca_key, "opsproof test CA", self.ca_key, NOW - timedelta(days=1),
                        NOW + timedelta(days=3650), [], ca=True)
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))

    def leaf(self, name: str, start: datetime, end: datetime, sans=("localhost",), self_signed=False) -> Path:
        key = ec.generate_private_key(ec.SECP256R1())
        issuer, issuer_key = ("localhost", key) if self_signed else ("opsproof test CA", self.ca_key)
        cert = _cert("localhost", key, issuer, issuer_key, start, end, list(sans))
        path = self.folder / f"{name}.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return path


class Server:
    """Accepts connections on 127.0.0.1 and hands each to `serve` in a thread."""

    def __init__(self, serve) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.serve = serve
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn) -> None:
        try:
            self.serve(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


def tls_server(cert: Path) -> Server:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert)

    def serve(conn) -> None:
        conn.settimeout(5)
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)

    return Server(serve)


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


@pytest.fixture
def servers():
    started = []
    yield started
    for server in started:
        server.close()


def run(pki, servers, cert: Path, **kw):
    server = tls_server(cert)
    servers.append(server)
    return probe(Tls(host="127.0.0.1", port=server.port, server_name="localhost", ca_file=str(pki.ca_file), **kw))


def test_valid_certificate_reports_days_left(pki, servers):
    result = run(pki, servers, pki.leaf("valid", NOW - timedelta(days=1), NOW + timedelta(days=60)))
    assert result.error is None and result.problems == [], result
    assert 59.9 < result.days_left <= 60
    assert (result.subject, result.issuer, result.sans) == ("CN=localhost", "CN=opsproof test CA", ["localhost"])
    assert result.not_after.startswith((NOW + timedelta(days=60)).strftime("%Y-%m-%d"))


def test_expiring_soon_is_valid_but_short(pki, servers):
    result = run(pki, servers, pki.leaf("soon", NOW - timedelta(days=80), NOW + timedelta(days=5)))
    assert result.problems == [] and 4.9 < result.days_left <= 5


@pytest.mark.parametrize("kind, words", [
    ("expired", "certificate has expired"),
    ("future", "certificate is not yet valid"),
    ("wronghost", "Hostname mismatch"),
    ("selfsigned", "self-signed certificate"),
])
def test_bad_certificates_fail_with_the_reason(pki, servers, kind, words):
    cert = {"expired": lambda: pki.leaf("expired", NOW - timedelta(days=90), NOW - timedelta(days=1)),
            "future": lambda: pki.leaf("future", NOW + timedelta(days=2), NOW + timedelta(days=90)),
            "wronghost": lambda: pki.leaf("wrong", NOW - timedelta(days=1), NOW + timedelta(days=60),
                                          sans=("other.example",)),
            "selfsigned": lambda: pki.leaf("self", NOW - timedelta(days=1), NOW + timedelta(days=60),
                                           self_signed=True)}[kind]()
    result = run(pki, servers, cert)
    assert result.error is None, "the certificate itself is read and reported"
    assert len(result.problems) == 1 and words in result.problems[0], result.problems
    assert result.days_left is not None


def test_plain_tcp_and_closed_port_and_silence_fail(servers):
    def plain(conn) -> None:
        conn.sendall(b"SSH-2.0-OpenSSH_9.0\r\n")
    tcp = Server(plain)
    def silent_serve(conn) -> None:  # accepts and reads the handshake, never answers it
        while conn.recv(4096):
            pass
    silent = Server(silent_serve)
    servers += [tcp, silent]
    result = probe(Tls(host="127.0.0.1", port=tcp.port, timeout_s=5))
    assert result.error.startswith(f"no TLS on 127.0.0.1:{tcp.port}:"), result
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    result = probe(Tls(host="127.0.0.1", port=closed, timeout_s=5))
    assert result.error.startswith(f"no connection to 127.0.0.1:{closed}: "), result
    result = probe(Tls(host="127.0.0.1", port=silent.port, timeout_s=0.5))
    assert result.error == f"no TLS handshake with 127.0.0.1:{silent.port} within 0.5 s (timeout_s)"


def test_quarterly_check_gates_on_min_days(suite, pki, servers):
    valid = tls_server(pki.leaf("valid", NOW - timedelta(days=1), NOW + timedelta(days=60)))
    soon = tls_server(pki.leaf("soon", NOW - timedelta(days=80), NOW + timedelta(days=5)))
    expired = tls_server(pki.leaf("expired", NOW - timedelta(days=90), NOW - timedelta(days=1)))
    servers += [valid, soon, expired]
    endpoints = [{"name": name, "host": "127.0.0.1", "port": s.port, "server_name": "localhost",
                  "ca_file": str(pki.ca_file), "min_days": 30} for name, s in
                 (("valid", valid), ("soon", soon), ("expired", expired))]
    suite.config({"service": "tls-test", "root": str(pki.folder), "security": {"tls": endpoints}})
    result = suite.run("-m", "quarterly", "checks/test_security.py")
    assert result.ret == 1, result.stdout.str()
    tests = {t["id"].split("[")[1].rstrip("]"): t for t in suite.summary()["tests"] if "test_tls" in t["id"]}
    assert tests["valid"]["outcome"] == "passed"
    days = tests["valid"]["evidence"][0]["data"]["days_left"]
    assert 59.9 < float(days) <= 60
    assert tests["soon"]["outcome"] == "failed"
    assert "security.tls[1].min_days allows >= 30.0 days" in tests["soon"]["message"]
    assert tests["expired"]["outcome"] == "failed" and "certificate has expired" in tests["expired"]["message"]
    assert {t["id"].split("::")[1].split("[")[0] for t in suite.summary()["tests"]} >= {"test_no_unexpected_ports"}


def test_plain_http_on_the_tls_port_fails(servers):
    """A port that answers plain HTTP (a TLS endpoint misconfigured, or the wrong port) is no certificate: it fails
    saying the port answers, but not with TLS."""
    def http(conn) -> None:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    plain = Server(http)
    servers.append(plain)
    result = probe(Tls(host="127.0.0.1", port=plain.port, timeout_s=5))
    assert result.error.startswith(f"no TLS on 127.0.0.1:{plain.port}: "), result
    assert "answers, but not with TLS (plain HTTP?)" in result.error, result
    assert result.days_left is None and result.problems == []
