"""Sections of what guards the service: security (audits, TLS, ports), dependencies, config_audit."""
from __future__ import annotations

import re
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from .judgement import warn_band
from .section import Section

# Advisory severities, lowest first: a gate fails at `fail_at` and above. "unknown" ranks above critical —
# a finding whose severity the tool does not say (pip-audit never does) fails every gate: never a false pass.
SEVERITIES = ("info", "low", "moderate", "high", "critical", "unknown")
Severity = Literal["low", "moderate", "high", "critical"]


def _port(port: int) -> int:
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is outside 1..65535")
    return port


class NpmAudit(Section):
    dir: str = "."                                   # holds package.json and package-lock.json
    fail_at: Severity = "high"
    omit_dev: bool = False                           # npm audit --omit=dev: production dependencies only
    timeout_s: float = Field(60, gt=0, le=3600)      # the registry's answer (npm --fetch-timeout, no retries)


class PipAudit(Section):
    requirements: Optional[str] = Field(None, min_length=1)  # a pinned requirements file; else the environment
    path: Optional[str] = Field(None, min_length=1)  # an environment's site-packages (pip-audit --path)
    command: str = Field("pip-audit", min_length=1)  # the pip-audit executable on the target
    fail_at: Severity = "high"
    resolve: bool = False                            # let pip-audit resolve unpinned requirements (installs them)
    vulnerability_service: Literal["pypi", "osv"] = "pypi"
    osv_url: Optional[str] = None
    index_url: Optional[str] = None
    ignore_vulns: list[str] = []                     # accepted findings, by id (PYSEC-..., GHSA-..., CVE-...)
    timeout_s: float = Field(60, gt=0, le=3600)

    @model_validator(mode="after")
    def _one_source(self) -> "PipAudit":
        if self.requirements and self.path:
            raise ValueError("give requirements or path, not both")
        return self


class Tls(Section):
    host: str = Field(min_length=1)
    port: int = 443
    name: Optional[str] = None
    server_name: Optional[str] = None                # the name the certificate must match; default: host
    min_days: float = Field(30, ge=0)
    warn_days: Optional[float] = Field(None, ge=0)   # a warning (not a failure) with fewer days left than this
    ca_file: Optional[str] = None                    # default: the system trust store (honours SSL_CERT_FILE)
    timeout_s: float = Field(10, gt=0, le=300)

    _warn = warn_band("warn_days")

    @field_validator("port")
    @classmethod
    def _valid_port(cls, value: int) -> int:
        return _port(value)

    @property
    def label(self) -> str:
        return self.name or f"{self.host}:{self.port}"


class Security(Section):
    npm_audit: Optional[NpmAudit] = None
    pip_audit: Optional[PipAudit] = None
    tls: list[Tls] = []
    allowed_ports: Optional[list[int]] = None        # listening TCP ports allowed on the target

    @field_validator("allowed_ports")
    @classmethod
    def _ports(cls, value: Optional[list[int]]) -> Optional[list[int]]:
        for port in value or []:
            _port(port)
        return value


class NpmOutdated(Section):
    dir: str = "."
    timeout_s: float = Field(60, gt=0, le=3600)


class PipOutdated(Section):
    python: str = "python3"                          # the interpreter whose environment is checked
    index_url: Optional[str] = None
    timeout_s: float = Field(60, gt=0, le=3600)


class Dependencies(Section):
    npm_outdated: Optional[NpmOutdated] = None
    pip_outdated: Optional[PipOutdated] = None
    max_major_behind: int = Field(0, ge=0)           # how many major versions a package may trail its latest
    after_update: Optional[str] = None               # update-dependencies: run on the target (in root) after
                                                     # `npm update`, before the health checks (a restart)


_GLOB_SAFE = re.compile(r"^[^\n\"'`$\\;|&<>{}]+$")


class ConfigAudit(Section):
    files: list[str] = Field(min_length=1)           # shell globs (no **), relative to root or absolute
    baseline: str = "config.sha256"                  # sha256sum format, written by `opsproof baseline`
    forbid_world_readable: bool = False

    @field_validator("files")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        for item in value:
            if "**" in item:
                raise ValueError(f"{item!r}: ** is not supported; list each folder's glob")
            if not _GLOB_SAFE.match(item):
                raise ValueError(f"{item!r}: a path glob may not contain quotes, $, ;, |, &, <, >, braces, "
                                 "backslashes or newlines")
        return value


def security_paths(maint, r) -> dict:
    """The security, dependencies and config_audit sections with relative paths made absolute by `r`."""
    changes: dict = {}
    sec = maint.security
    if sec:
        update: dict = {}
        if sec.npm_audit:
            update["npm_audit"] = sec.npm_audit.model_copy(update={"dir": r(sec.npm_audit.dir)})
        if sec.pip_audit:
            pip = sec.pip_audit
            update["pip_audit"] = pip.model_copy(update={k: r(getattr(pip, k)) for k in ("requirements", "path")
                                                         if getattr(pip, k)})
        update["tls"] = [t.model_copy(update={"ca_file": r(t.ca_file)}) if t.ca_file else t for t in sec.tls]
        changes["security"] = sec.model_copy(update=update)
    deps = maint.dependencies
    if deps and deps.npm_outdated:
        changes["dependencies"] = deps.model_copy(
            update={"npm_outdated": deps.npm_outdated.model_copy(update={"dir": r(deps.npm_outdated.dir)})})
    audit = maint.config_audit
    if audit:
        changes["config_audit"] = audit.model_copy(update={"files": [r(f) for f in audit.files],
                                                           "baseline": r(audit.baseline)})
    return changes
