"""Security scan (weekly) and security audit (quarterly): known vulnerabilities under the severity gate,
TLS certificates valid and not about to expire, no listening port outside the allow-list."""
import pytest

from opsproof.config import Setting
from opsproof.security.findings import AuditResult


def _gate(evidence, result: AuditResult, fail_at: Setting) -> None:
    __tracebackhide__ = True
    evidence.require(not result.error, f"{result.tool} on {result.source}: {result.error}"
                     + (f" — {result.fix}" if result.fix else ""))
    if result.dependencies == 0:  # "0 packages audited" checked nothing: not a pass (the task reads not checked)
        pytest.skip(f"{result.tool} audited no package in {result.source}: nothing was checked")
    over = result.at_or_above(fail_at.value)
    evidence.within(f"{result.tool} findings at or above {fail_at.value} ({result.dependencies} packages audited)",
                    len(over), "<=", 0, f"{fail_at.key} = {fail_at.value}",
                    hint="; ".join(f.line() for f in over[:20]) + (f"; and {len(over) - 20} more" if len(over) > 20
                                                                   else "") + " — update them or accept the risk")


@pytest.mark.weekly
def test_npm_audit(npm_audit_result, maint, evidence):
    """npm audit finds no vulnerability at or above security.npm_audit.fail_at in the service's dependencies."""
    _gate(evidence, npm_audit_result, maint.security.npm_audit.setting("fail_at"))


@pytest.mark.weekly
def test_pip_audit(pip_audit_result, maint, evidence):
    """pip-audit finds no known vulnerability in the Python dependencies (it gives no severity: each one counts)."""
    _gate(evidence, pip_audit_result, maint.security.pip_audit.setting("fail_at"))


@pytest.mark.quarterly
@pytest.mark.postdeploy
def test_tls_certificate(tls_result, tls_index, maint, evidence):
    """Each security.tls endpoint presents a trusted certificate for its host name with at least min_days left."""
    tls = tls_result
    evidence.require(tls.error is None, f"{tls.error} (security.tls) — is the endpoint up and reachable from here?")
    evidence.require(not tls.problems, f"{tls.endpoint} (name {tls.server_name}, subject {tls.subject}, issuer "
                     f"{tls.issuer}, not after {tls.not_after}): " + "; ".join(tls.problems) + f" — checked against "
                     f"{tls.trusted_by} (security.tls[].ca_file, else the system's); fix the certificate chain or name")
    evidence.compare(f"days left on the certificate of {tls_result.endpoint}", tls_result.days_left, ">=",
                     maint.security.tls[tls_index].setting("min_days"), unit=" days", hint="renew the certificate")


@pytest.mark.quarterly
def test_no_unexpected_ports(ports_result, evidence):
    """Every listening TCP port on the target is in security.allowed_ports; each other one is named with its process."""
    evidence.require(ports_result.error is None, f"cannot list the listening ports: {ports_result.error}")
    evidence.require(not ports_result.unexpected, (
        f"{len(ports_result.unexpected)} listening socket(s) on ports not in security.allowed_ports "
        f"({', '.join(map(str, ports_result.allowed)) or 'none'}): " + "; ".join(ports_result.unexpected)
        + " — close them, or add the port to security.allowed_ports if it is meant to be open"))
