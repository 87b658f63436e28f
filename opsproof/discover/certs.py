"""A TLS certificate found on a port, read on the machine running opsproof: whom it names, who signed it, days left."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID


@dataclass(frozen=True)
class Certificate:
    subject: str = ""
    issuer: str = ""
    sans: list[str] = field(default_factory=list)
    not_after: str = ""
    days_left: Optional[float] = None
    self_signed: bool = False
    error: Optional[str] = None


def _cn(name: x509.Name) -> str:
    found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(found[0].value) if found else name.rfc4514_string()


def read(der_b64: str, now: Optional[datetime] = None) -> Certificate:
    """The certificate in `der_b64` (DER, base64), or one whose `error` says why it cannot be read."""
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(der_b64))
    except ValueError as exc:
        return Certificate(error=f"not a certificate: {exc}")
    try:
        sans = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        names = [str(v) for v in sans.get_values_for_type(x509.DNSName)]
        names += [str(v) for v in sans.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    end = cert.not_valid_after_utc
    now = now or datetime.now(timezone.utc)
    return Certificate(subject=_cn(cert.subject), issuer=_cn(cert.issuer), sans=names,
                       not_after=end.strftime("%Y-%m-%d"), days_left=round((end - now).total_seconds() / 86400, 1),
                       self_signed=cert.subject == cert.issuer)


def of_ports(ports: list[dict]) -> dict[int, Certificate]:
    """The certificate of each port that completed a TLS handshake (the survey's `ports`), by port: read once for
    every section that uses it (health's verify_tls, security.tls)."""
    return {sock["port"]: read(sock["tls_der"]) for sock in ports if sock.get("tls_der")}
