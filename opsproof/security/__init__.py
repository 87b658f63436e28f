"""Security, dependencies and configuration audit on the target: npm/pip audit, outdated packages, the
dependency update, TLS certificates, listening ports, config files against their baseline.

findings: audit findings and the severity gate; tool: running a tool on the target (present? JSON out?);
npm, pip: the audits and outdated lists; outdated: the major-version policy; update: the update-dependencies
action; tls: certificates; ports: listening sockets; confaudit: checksums, baseline, permissions.
Every function takes a Target (or plain values) and returns a dataclass of evidence; none imports pytest.
"""
