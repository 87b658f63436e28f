"""TLS certificates, probed from the machine running the suite: days left, host name, chain of trust.

Two handshakes, each bounded by the endpoint's timeout_s: one that accepts any certificate, to read it
(subject, issuer, SANs, validity) whatever is wrong with it; one that verifies it against ca_file or the
system store (which honours SSL_CERT_FILE) and the host name, to say what is wrong in OpenSSL's words.
"""
from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from ..config.security import Tls


# OpenSSL's reasons when the first bytes back are not a TLS record (an HTTP response, an SSH banner...).
_NOT_TLS = ("WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "UNKNOWN_PROTOCOL")


@dataclass
class TlsResult:
    endpoint: str
    server_name: str
    subject: str = ""
    issuer: str = ""
    sans: list[str] = field(default_factory=list)
    not_before: str = ""
    not_after: str = ""
    days_left: Optional[float] = None
    trusted_by: str = ""                              # ca_file, or "the system trust store"
    problems: list[str] = field(default_factory=list) # verification failures: expired, self-signed, wrong host...
    error: Optional[str] = None                       # no certificate read at all: no TLS there, unreachable


def _handshake(cfg: Tls, context: ssl.SSLContext, server_name: str) -> bytes:
    with socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout_s) as raw:
        raw.settimeout(cfg.timeout_s)
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.getpeercert(binary_form=True) or b""


def _name(name: x509.Name) -> str:
    cn = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"CN={cn[0].value}" if cn and len(name) == 1 else name.rfc4514_string()


def probe(cfg: Tls, now: Optional[datetime] = None) -> TlsResult:
    server_name = cfg.server_name or cfg.host
    result = TlsResult(f"{cfg.host}:{cfg.port}", server_name,
                       trusted_by=cfg.ca_file or "the system trust store")
    reader = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    reader.check_hostname, reader.verify_mode = False, ssl.CERT_NONE
    try:
        der = _handshake(cfg, reader, server_name)
    except (socket.timeout, TimeoutError):
        result.error = f"no TLS handshake with {result.endpoint} within {cfg.timeout_s:g} s (timeout_s)"
        return result
    except ssl.SSLError as exc:
        plain = " — the port answers, but not with TLS (plain HTTP?)" if exc.reason in _NOT_TLS else ""
        result.error = f"no TLS on {result.endpoint}: {exc.reason or exc}{plain}"
        return result
    except OSError as exc:
        result.error = f"no connection to {result.endpoint}: {exc.strerror or exc}"
        return result
    cert = x509.load_der_x509_certificate(der)
    result.subject, result.issuer = _name(cert.subject), _name(cert.issuer)
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        result.sans = [str(v) for v in san.get_values_for_type(x509.DNSName)] + \
            [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    after, before = cert.not_valid_after_utc, cert.not_valid_before_utc
    result.not_after, result.not_before = after.isoformat(), before.isoformat()
    result.days_left = round((after - (now or datetime.now(timezone.utc))).total_seconds() / 86400, 2)
    result.problems = _verify(cfg, server_name)
    return result


def _verify(cfg: Tls, server_name: str) -> list[str]:
    """What a verifying client says about the certificate (empty when it is trusted and names the host)."""
    try:
        context = ssl.create_default_context(cafile=cfg.ca_file) if cfg.ca_file else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        return [f"ca_file {cfg.ca_file} cannot be read: {getattr(exc, 'strerror', None) or exc}"]
    try:
        _handshake(cfg, context, server_name)
    except ssl.SSLCertVerificationError as exc:
        return [f"verification failed: {exc.verify_message or exc.reason}"]
    except (ssl.SSLError, OSError) as exc:
        return [f"the verifying handshake failed: {exc}"]
    return []
