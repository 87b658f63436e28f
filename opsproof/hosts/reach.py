"""The one way to build a Target (what reaches a host): this machine, a testinfra spec, or a member of a run's fleet.

`local(timeout_s)` and `at(spec, timeout_s)` are for one-off uses (listing local files at collection, the `opsproof`
command); `FleetTargets(down)` is a run's factory: every Target it makes shares one unreachable-host map, so a host
found unreachable once is not asked again by any of them. tests/test_wiring.py holds that no other place builds one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .answers import Answers
from .target import Target


def at(spec: Optional[str], timeout_s: float) -> Target:
    """A Target on a testinfra host spec (`ssh://web1`, `local://`; None: this machine), commands bounded by
    `timeout_s` (the config's command_timeout_s)."""
    import testinfra  # here: the library reads no host at import (and ship.py's bundles carry no testinfra)

    return Target(testinfra.get_host(spec or "local://"), timeout_s)


def local(timeout_s: float) -> Target:
    """This machine as a Target."""
    return at(None, timeout_s)


@dataclass(frozen=True)
class FleetTargets:
    """A run's Targets: made from fleet members (hosts/fleet.py), all sharing `down` (host id -> why unreachable);
    the Targets of one remote host share its survey's answers (hosts/survey.py) too."""

    down: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Answers] = field(default_factory=dict)

    def __call__(self, member: Any) -> Target:
        """The Target of a fleet member: its host, its config's command timeout, its id as the name."""
        return Target(member.host, member.maint.command_timeout_s, member.id, down=self.down,
                      answers=self.answers.setdefault(member.id, Answers()))
