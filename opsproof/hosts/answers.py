"""What a survey (opsproof/hosts/survey.py) already read on a host, and, while it is planned, what is still wanted.

A Target holding Answers (the run's Targets of one host share one) answers a command or a shipped call from them
without a round trip; the evidence is the same, since the same command ran on the target and its output is what
the library parses. While planning, a read with no answer is noted as wanted and refused (Target raises
Unanswered), so a measurement planned against the Target lists what it would read without reaching the host.

An action forgets them (Target.changing): inside it every read reaches the host; after it the answers are *stale*,
and the first read no answer holds asks the survey again (`refresh`, set by the survey: one more shipped call for
every read still to come, instead of one per read).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class Answered:
    """A command's answer, as testinfra's CommandResult reads: rc, stdout, stderr (text and bytes)."""

    command: str
    rc: int
    stdout_bytes: bytes = b""
    stderr_bytes: bytes = b""

    @property
    def exit_status(self) -> int:
        return self.rc

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode(errors="replace")

    @property
    def succeeded(self) -> bool:
        return self.rc == 0

    @property
    def failed(self) -> bool:
        return self.rc != 0


def call_key(function: str, kwargs: dict[str, Any]) -> str:
    return json.dumps([function, kwargs], sort_keys=True, default=str)


@dataclass
class Answers:
    """One host's answers (command text -> Answered, call key -> result) and, while planning, the reads wanted."""

    commands: dict[str, Answered] = field(default_factory=dict)
    calls: dict[str, Any] = field(default_factory=dict)
    planning: bool = False
    wanted_commands: list[str] = field(default_factory=list)
    wanted_calls: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    refresh: Optional[Callable[[Callable[[list, list], bool]], bool]] = None   # the survey again, after an action
    stale: bool = False                           # an action acted since the answers were read
    acting: int = 0                               # inside an action: every read reaches the host

    def _asked_again(self, asked: Callable[[list, list], bool], lookup: Callable[[], Any]) -> Any:
        """After an action, the first read with no answer that a plan would make (`asked(commands, calls)` of the
        plan's reads) surveys the host again; then the lookup again. Other reads (the lock) leave the answers stale."""
        if self.stale and not self.acting and not self.planning and self.refresh is not None:
            self.stale = False           # the survey's own call must not ask again
            if self.refresh(asked):
                return lookup()
            self.stale = True
        return None

    def command(self, text: str) -> Optional[Answered]:
        """The answer to this command, or None (noted as wanted while planning)."""
        found = self.commands.get(text)
        if found is None:
            found = self._asked_again(lambda commands, _: text in commands, lambda: self.commands.get(text))
        if found is None and self.planning and text not in self.wanted_commands:
            self.wanted_commands.append(text)
        return found

    def call(self, function: str, kwargs: dict[str, Any], timeout_s: float) -> Optional[Any]:
        """The result of this call (its JSON value), or None (noted as wanted while planning)."""
        key = call_key(function, kwargs)
        found = self.calls.get(key)
        if found is None:
            found = self._asked_again(lambda _, calls: key in {call_key(f, k) for f, k, _ in calls},
                                      lambda: self.calls.get(key))
        if found is None and self.planning and key not in {call_key(f, k) for f, k, _ in self.wanted_calls}:
            self.wanted_calls.append((function, kwargs, timeout_s))
        return found

    def take_wanted(self) -> tuple[list[str], list[tuple[str, dict[str, Any], float]]]:
        commands, calls = self.wanted_commands, self.wanted_calls
        self.wanted_commands, self.wanted_calls = [], []
        return commands, calls

    def forget(self) -> None:
        """Drop every answer: the host changed (an action acted), so what was read before no longer holds."""
        self.commands.clear()
        self.calls.clear()

    def acted(self) -> None:
        """An action is done: what it changed is asked again at the next read no answer holds (`refresh`)."""
        self.forget()
        self.stale = True
