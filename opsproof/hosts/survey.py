"""A host's measurements for the run's selection, read in one shipped call (or two, when a read depends on another).

Each concern plans its reads by measuring against the Target while its Answers are planning (opsproof/hosts/
answers.py): every command or shipped call it would make is noted instead of run. The notes travel to the target
in one call (opsproof/hosts/gather.py, through opsproof.hosts.ship), the answers come back, and the planning runs
again: a read that depends on an answer (the newest archive to verify, once the listing is known) is noted then,
for a second call. Over testinfra's `ssh` backend both calls go to one `python3` through one SSH session
(opsproof/hosts/stream.py): one login shell and one interpreter start per host instead of two. The checks then
measure as always; what the survey read is answered without a round trip, anything else (an action, a read no plan
foresaw) reaches the host as before. The first call doubles as the reachability probe: an unreachable host fails it
as it would fail the probe. A run with --apply is surveyed too: an action forgets the answers (Target.changing), and
the first read after it no answer holds surveys the host again.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from . import ship, stream
from .gather import gather
from .answers import Answered, call_key
from .target import Target, TargetError

ROUNDS = 2            # calls at most: the reads, then the reads that depend on them
GATHER = "opsproof.hosts.gather:gather"


@dataclass
class Survey:
    """What was read in how many calls (the evidence of the survey itself), or why it stopped."""

    host: str
    calls: int = 0
    commands: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""
    skipped: bool = False   # `needed` said no: nothing was asked


def _planned(target: Target, plan: Callable[[Target], None]) -> tuple[list[str], list[tuple]]:
    answers = target.answers
    answers.planning = True
    try:
        plan(target)
    finally:
        answers.planning = False
    return answers.take_wanted()


def _here(request: dict, timeout_s: float) -> dict:
    """This machine's survey: the same gathering in this process, its answers as a host sends them (JSON)."""
    try:
        return json.loads(json.dumps(gather(**request, deadline=time.monotonic() + timeout_s)))
    except (TypeError, ValueError) as exc:
        raise TargetError(f"the survey's answers are not JSON: {exc}") from None


def survey(target: Target, plan: Callable[[Target], None], rounds: int = ROUNDS,
           needed: Optional[Callable[[list, list], bool]] = None) -> Survey:
    """Read on `target` what `plan(target)` measures, in at most `rounds` shipped calls. `plan` catches nothing of
    ours: a measurement that stops at a read still to be made (TargetError) ends its part of this round. With
    `needed` (of the first round's commands and calls), nothing is asked unless it says yes (`skipped`).
    Raises TargetError when the host is unreachable."""
    out, started = Survey(target.name), time.monotonic()
    if target.answers is None:
        return out
    session = None if target.is_local else stream.open_stream(target)   # one SSH session where the backend allows
    try:
        _rounds(target, plan, rounds, needed, out, session)
    finally:
        if session is not None:
            session.close()
    out.seconds = round(time.monotonic() - started, 3)
    return out


def _rounds(target: Target, plan: Callable[[Target], None], rounds: int,
            needed: Optional[Callable[[list, list], bool]], out: Survey, session: Optional[stream.Stream]) -> None:
    for _ in range(rounds):
        commands, calls = _planned(target, plan)
        if not commands and not calls:
            break
        if needed is not None and not out.calls and not needed(commands, calls):
            out.skipped = True
            break
        carry = tuple(sorted({function.partition(":")[0] for function, _, _ in calls}))
        timeout_s = target.timeout_s + sum(t for _, _, t in calls)
        request = {"commands": commands, "calls": [list(c) for c in calls], "timeout_s": target.timeout_s}
        try:
            if target.is_local and not getattr(target.host.backend, "sudo", False):
                got = _here(request, timeout_s)
            elif session is not None:
                got = session.call(GATHER, request, timeout_s, dict, carry=carry)
            else:   # a remote host without a session, or this machine through sudo: as its commands run
                got = ship.call(target, GATHER, request, timeout_s, dict, carry=carry, ship=target.is_local)
        except TargetError as exc:
            if out.calls == 0 and target.name in target.down:
                raise  # unreachable: the host fails its checks, as it would fail the probe
            out.error = str(exc)  # no python3 there, ...: the reads left are made one by one, as without a survey
            break
        out.calls += 1
        for text, answer in zip(commands, got["commands"]):
            if answer is not None:
                rc, stdout, stderr = answer
                target.answers.commands[text] = Answered(text, rc, base64.b64decode(stdout), base64.b64decode(stderr))
        for (function, kwargs, _), result in zip(calls, got["calls"]):
            if result is not None:
                target.answers.calls[call_key(function, kwargs)] = result
        out.commands += commands
        out.functions += [function for function, _, _ in calls]


def first_contact(target: Target, answered: set[str], plan: Optional[Callable[[Target], None]]) -> Optional[str]:
    """Why `target` cannot be used (unreachable now, or earlier in this run: `target.down`), or None. A host is
    asked once per process (`answered`): by its survey's first call when there is a `plan`, else a trivial command."""
    known = target.down
    if target.name in known:
        return f"{known[target.name]} (first seen earlier in this run; not retried)"
    if target.name not in answered:
        if plan is not None and target.answers is not None:
            target.answers.refresh = lambda needed: not survey(target, plan, needed=needed).skipped  # after an action
        try:
            if plan is None or not survey(target, plan).calls:
                target.ping()
            answered.add(target.name)
        except TargetError as exc:
            known.setdefault(target.name, str(exc))
    return known.get(target.name)


def selection(items: list[Any]) -> tuple[set[str], dict[str, list[Any]]]:
    """What a host's test items read: every fixture name they use, and each parameter's distinct values in order
    (an item is anything with `fixturenames` and, when parametrized, `callspec.params`)."""
    params: dict[str, list[Any]] = {}
    for item in items:
        for name, value in getattr(getattr(item, "callspec", None), "params", {}).items():
            if value not in params.setdefault(name, []):
                params[name].append(value)
    return {name for item in items for name in item.fixturenames}, params


def quietly(*measure: Callable[[], object]) -> None:
    """Run each measurement for a plan, each on its own: one stopping at a read still wanted does not stop the next."""
    for one in measure:
        try:
            one()
        except TargetError:
            pass
