"""Audit findings (npm audit, pip-audit) and the severity gate: fail at `fail_at` and above, highest first."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..config.security import SEVERITIES


@dataclass(frozen=True)
class Finding:
    package: str
    severity: str                                    # one of SEVERITIES; "unknown" when the tool does not say
    title: str
    url: str = ""
    version: str = ""                                # the installed or locked version(s)
    fix: str = ""                                    # "fix available: 1.2.3", "fix needs a major update", "no fix"

    def line(self) -> str:
        where = f"{self.package}@{self.version}" if self.version else self.package
        return f"{self.severity}: {where} — {self.title}" + (f" ({self.url})" if self.url else "") + \
            (f"; {self.fix}" if self.fix else "")


@dataclass
class AuditResult:
    """What one audit found: its findings highest first, the counts per severity, or why it could not run."""

    tool: str
    source: str                                      # the directory or requirements file audited
    command: str = ""
    dependencies: Optional[int] = None               # how many packages the audit covered
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    error: Optional[str] = None                      # the audit could not run: the check fails with this
    fix: str = ""                                    # what to do about the error

    def at_or_above(self, level: str) -> list[Finding]:
        return [f for f in self.findings if rank(f.severity) >= rank(level)]


def rank(severity: str) -> int:
    """A severity's place in SEVERITIES; a word the list does not know ranks as unknown (fails every gate)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else SEVERITIES.index("unknown")


def ordered(findings: list[Finding]) -> list[Finding]:
    """Highest severity first, then by package name."""
    return sorted(findings, key=lambda f: (-rank(f.severity), f.package, f.title))


def counted(findings: list[Finding]) -> dict[str, int]:
    return {level: n for level in reversed(SEVERITIES) if (n := sum(f.severity == level for f in findings))}
