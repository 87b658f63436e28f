"""The survey's rounds through one SSH session (opsproof/hosts/stream.py): one session for both calls, the second one's
modules sent when it needs them, the same answers as in process, and an unreachable host still unreachable."""
from __future__ import annotations

import socket

import pytest
import testinfra

from helpers.sshd import ALIAS
from helpers import require_tool
from opsproof.hosts import ship, stream
from opsproof.hosts.answers import Answers
from opsproof.hosts.survey import quietly, survey
from opsproof.hosts.target import Target, TargetError


def _sessions(sshd) -> int:
    return sshd.log.read_text(errors="replace").count("Starting session")


def _remote(sshd, alias: str = ALIAS, down: dict | None = None) -> Target:
    host = testinfra.get_host(f"ssh://{alias}?timeout=5", ssh_config=str(sshd.ssh_config))
    return Target(host, 20, down=down, answers=Answers())


def _old_files(folder):
    (folder / "keep").mkdir(parents=True)
    for name in ("a.tmp", "b.tmp"):
        (folder / name).write_text(name)
    return {"root": str(folder), "max_age_s": 0, "apply": False, "exclude": [], "remove_empty": False, "keep": [], "now": 4e9}


def test_both_rounds_of_a_survey_share_one_ssh_session(sshd, tmp_path):
    """Round 1 lists a folder; round 2 cleans (plans) what the listing named, with modules round 1 did not carry.
    Without the stream each round was a session of its own (two); now sshd logs one, and the answers are those of
    the same calls made in this process."""
    kwargs = _old_files(tmp_path / "tmp")
    target = _remote(sshd)
    seen = []

    def plan(t: Target) -> None:
        def both() -> None:
            listing = t.run("ls -1 %s", kwargs["root"]).stdout.split()
            seen.append(listing)
            ship.call(t, "opsproof.temp.walk:clean", {**kwargs, "exclude": [n for n in listing if n == "keep"]},
                      20, dict)
        quietly(both)

    before = _sessions(sshd)
    done = survey(target, plan)
    assert (done.calls, done.error) == (2, ""), done
    assert _sessions(sshd) - before == 1, _sessions(sshd) - before
    assert done.functions == ["opsproof.temp.walk:clean"] and done.commands == [f"ls -1 {kwargs['root']}"]
    assert seen[-1] == ["a.tmp", "b.tmp", "keep"]
    remote = ship.call(target, "opsproof.temp.walk:clean", {**kwargs, "exclude": ["keep"]}, 20, dict)   # answered
    local = ship.call(Target(testinfra.get_host("local://"), 20), "opsproof.temp.walk:clean",
                      {**kwargs, "exclude": ["keep"]}, 20, dict)
    assert remote == local and local
    assert _sessions(sshd) - before == 1     # the answer came from the survey, not from another session


def test_modules_go_once_and_a_call_needing_more_gets_them(sshd, tmp_path):
    kwargs = _old_files(tmp_path / "tmp")
    target = _remote(sshd)
    session = stream.open_stream(target)
    assert session is not None
    try:
        listed = session.call("opsproof.hosts.gather:gather", {"commands": ["echo hi"], "calls": [],
                                                                 "timeout_s": 10}, 20, dict)
        first = set(session._sent)
        cleaned = session.call("opsproof.temp.walk:clean", kwargs, 20, dict)
        again = session.call("opsproof.temp.walk:clean", kwargs, 20, dict)
    finally:
        session.close(wait=True)
    assert listed["commands"][0][0] == 0
    assert "opsproof.temp.walk" not in first and "opsproof.temp.walk" in session._sent
    assert cleaned == again == ship.call(Target(testinfra.get_host("local://"), 20), "opsproof.temp.walk:clean",
                                         kwargs, 20, dict)
    assert session.answered == 3


def test_an_unreachable_host_is_unreachable_at_the_first_call(sshd):
    require_tool("ssh")
    with socket.socket() as probe:          # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sshd.add_host("opsproof-stream-closed", "127.0.0.1", port)
    down: dict[str, str] = {}
    target = _remote(sshd, "opsproof-stream-closed", down)

    def plan(t: Target) -> None:
        quietly(lambda: t.run("echo hi"))

    with pytest.raises(TargetError, match="unreachable") as info:
        survey(target, plan)
    assert target.name in down and "refused" in str(info.value).lower(), (down, info.value)
    with pytest.raises(TargetError, match="not retried"):   # not asked again
        stream.open_stream(target).call("opsproof.hosts.gather:gather", {"commands": [], "calls": [],
                                                                          "timeout_s": 5}, 5, dict)


def test_only_testinfras_ssh_backend_streams(sshd):
    assert stream.open_stream(Target(testinfra.get_host("local://"), 5)) is None
    paramiko = testinfra.get_host(f"paramiko://{ALIAS}", ssh_config=str(sshd.ssh_config))
    assert stream.open_stream(Target(paramiko, 5, answers=Answers())) is None
    assert stream.open_stream(_remote(sshd)) is not None


def test_a_surveys_commands_run_side_by_side_each_under_its_timeout(tmp_path):
    """gather runs a host's independent reads at once: two commands that each wait for the other both finish (one
    after the other, the first would wait out its timeout), and a command past its timeout still answers 124."""
    from opsproof.hosts.gather import TIMED_OUT, gather

    a, b = tmp_path / "a", tmp_path / "b"
    wait = "touch {mine}; i=0; while [ ! -e {other} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; test -e {other}"
    got = gather([wait.format(mine=a, other=b), wait.format(mine=b, other=a)], [], timeout_s=20)
    assert [answer[0] for answer in got["commands"]] == [0, 0], got
    got = gather(["sleep 30"], [], timeout_s=0.5)
    assert got["commands"][0][0] == TIMED_OUT


def test_a_command_the_deadline_left_no_time_for_is_not_started(tmp_path):
    """A queued command takes its time when it starts: with every worker busy until the deadline has passed, the
    ninth is not started (None: asked again on its own later) rather than run past the survey's deadline."""
    import time

    from opsproof.hosts.gather import TIMED_OUT, WORKERS, gather

    got = gather(["sleep 30"] * (WORKERS + 1), [], timeout_s=1, deadline=time.monotonic() + 1)
    assert [a[0] for a in got["commands"][:WORKERS]] == [TIMED_OUT] * WORKERS and got["commands"][WORKERS] is None
