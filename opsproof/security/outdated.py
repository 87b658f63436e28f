"""Outdated packages (npm outdated, pip list --outdated) and the policy: how many majors behind latest."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Outdated:
    package: str
    current: str
    wanted: str                                      # the newest the manifest's range allows (npm); latest for pip
    latest: str
    major_behind: Optional[int]                      # None when a version is not numbered major.minor...
    dependent: str = ""

    def line(self) -> str:
        behind = "?" if self.major_behind is None else self.major_behind
        return (f"{self.package}: current {self.current}, wanted {self.wanted}, latest {self.latest} "
                f"({behind} major behind)")


@dataclass
class OutdatedResult:
    tool: str
    source: str
    command: str = ""
    packages: list[Outdated] = field(default_factory=list)
    error: Optional[str] = None
    fix: str = ""

    def over(self, max_major_behind: int) -> list[Outdated]:
        """Packages more than `max_major_behind` majors behind (an unnumbered version counts: never a false pass)."""
        return sorted((p for p in self.packages if p.major_behind is None or p.major_behind > max_major_behind),
                      key=lambda p: (-(p.major_behind if p.major_behind is not None else 999), p.package))

    @property
    def most_major_behind(self) -> int:
        return max((p.major_behind if p.major_behind is not None else 999 for p in self.packages), default=0)


_MAJOR = re.compile(r"^\s*v?(\d+)")


def major_behind(current: str, latest: str) -> Optional[int]:
    """latest's major minus current's (0 for a minor or patch update); None when either is not numbered."""
    a, b = _MAJOR.match(current or ""), _MAJOR.match(latest or "")
    if not a or not b:
        return None
    return max(0, int(b.group(1)) - int(a.group(1)))
