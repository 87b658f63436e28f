"""The ledger as input: what is not a regular file, a line past the bound, a lock held too long, a ledger this user
cannot write. Each is refused with one line, in bounded time (a subprocess timeout) and memory (an address-space
limit), and nothing is half done: no state saved, no line appended.

Permission cases run the suite as `nobody` (setpriv) keeping only CAP_DAC_READ_SEARCH, so that user can read the
Python under /root but writes only where `nobody` may: a real non-root writer, as a cron job or a CI runner is.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsproof.report import ledger

from helpers import require_tool, unavailable
from helpers.logfiles import count_preads

CHECK = "checks/test_errorlog.py"
NOBODY = 65534
MIB = 1 << 20
BIG = 100 * MIB          # far past any line bound: a line this long is not a ledger line

# The opsproof command in a fresh process under an address-space limit: /dev/zero read whole hits the limit at once.
_CLI = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from opsproof.cli import main
code = main(sys.argv[2:])
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
open(sys.argv[1], "w").write(str(hwm // 1024))
sys.exit(code)
"""


def _cli(tmp_path: Path, *args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess, int]:
    """(the finished command, its peak resident MiB); a command that blocks fails the test at the timeout."""
    peak = tmp_path / "peak-mib"
    done = subprocess.run([sys.executable, "-c", _CLI, str(peak), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=tmp_path)
    return done, int(peak.read_text()) if peak.exists() else -1


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in text and "Error:" not in text, text[-3000:]
    return lines[0]


def _line(n: int) -> dict:
    return {"format": ledger.FORMAT, "run_id": f"run{n}", "started": "2026-12-06T02:00:00Z",
            "ended": "2026-12-06T02:01:00Z", "outcome": {"passed": 1}, "files": [], "exit_status": 0,
            "selection": "daily", "hosts": "local"}


def _ledger(directory: Path, runs: int = 2, tail: bytes = b"", after: int = 0) -> Path:
    """A ledger of `runs` good lines, then `tail` written as it is, then `after` entries (written, not appended)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ledger.NAME
    for n in range(runs):
        ledger.append(path, _line(n))
    with open(path, "ab") as fh:
        fh.write(tail)
        for n in range(after):
            fh.write(json.dumps({**_line(runs + 1 + n), "prev": ledger.GENESIS}).encode() + b"\n")
    return path


def _special(directory: Path, kind: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ledger.NAME
    if kind == "fifo":
        os.mkfifo(path)
    else:
        os.symlink("/dev/zero", path)
    return path


# ---- verify-ledger and status read the ledger

@pytest.mark.parametrize("command", ["verify-ledger", "status"])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_ledger_that_is_not_a_regular_file_is_refused_at_once(tmp_path, command, kind):
    """A FIFO blocked both commands with no output; a link to /dev/zero read 3.8 GB, then MemoryError."""
    path = _special(tmp_path / "reports", kind)
    done, peak = _cli(tmp_path, command, str(tmp_path / "reports"))
    assert done.returncode == 4, done
    said = _one_line(done.stderr)
    assert f"{path}: not an opsproof ledger: not a regular file" in said, said
    assert peak < 200, peak


@pytest.mark.parametrize("where", ["last", "middle"])
def test_a_line_over_the_bound_is_named_and_read_in_bounded_memory(tmp_path, where):
    """verify-ledger names the line and exits 1; the line never sits in memory whole; status still reads the rest."""
    reports = tmp_path / "reports"
    _ledger(reports, 2, b"x" * BIG + b"\n", after=1 if where == "middle" else 0)
    done, peak = _cli(tmp_path, "verify-ledger", str(reports))
    assert done.returncode == 1, done
    assert f"line 3 is over {ledger.MAX_LINE_BYTES} bytes: not a ledger line" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and peak < 200, (peak, done.stderr[-2000:])
    done, peak = _cli(tmp_path, "status", str(reports))
    assert done.returncode == 0 and "daily      local" in done.stdout, done
    assert "problem(s) in the ledger" in done.stderr and peak < 200, (peak, done.stderr[-2000:])


def test_the_last_line_is_found_in_a_few_growing_reads_of_at_most_the_bound(tmp_path, monkeypatch):
    """Finding the last line read it backwards 4 KiB at a time, each time copying all it had read (1.8 s at 5 MB,
    28 s at 20 MB, quadratic). Now: blocks that double, at most MAX_LINE_BYTES of the line in all."""
    path = _ledger(tmp_path, 1, (b"y" * 1023 + b"\n") * 2048)
    ledger.append(path, {**_line(1), "pad": "z" * (3 * MIB)})           # a long last line, under the bound
    last = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[1]
    read = count_preads(monkeypatch)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert ledger._last_line(fd) == last
    finally:
        os.close(fd)
    assert sum(read) <= ledger.MAX_LINE_BYTES + 2, f"{sum(read)} bytes read to find a {len(last)}-byte line"
    assert len(read) <= 8, f"{len(read)} reads to find a {len(last)}-byte line"
    monkeypatch.undo()
    record = ledger.append(path, _line(2))
    assert record["prev"] == ledger.line_hash(last)


_APPEND = """
import json, sys
from pathlib import Path
from opsproof.report import ledger
limit = {"lock_timeout_s": float(sys.argv[3])} if sys.argv[3] else {}
try:
    ledger.append(Path(sys.argv[1]), json.loads(sys.argv[2]), **limit)
except ledger.LedgerError as exc:
    print(exc)
    sys.exit(4)
"""


def test_appending_after_a_100_mb_last_line_is_refused_at_once(tmp_path):
    """The append read that line backwards, quadratically, holding the lock (hours at 100 MB): now refused."""
    path = _ledger(tmp_path, 1, b"x" * BIG)            # unterminated, as a torn write would leave it
    before = path.stat().st_size
    done = subprocess.run([sys.executable, "-c", _APPEND, str(path), json.dumps(_line(5)), ""],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 4, done
    assert f"its last line is over {ledger.MAX_LINE_BYTES} bytes: not a ledger line" in done.stdout, done
    assert path.stat().st_size == before


def test_a_lock_held_too_long_is_a_clear_error_not_a_hang(tmp_path):
    path = _ledger(tmp_path, 1)
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\n"
                               "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.read()\n",
                               str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        done = subprocess.run([sys.executable, "-c", _APPEND, str(path), json.dumps(_line(5)), "1"],
                              capture_output=True, text=True, timeout=60)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert done.returncode == 4, done
    assert f"{path}: locked by another process for over 1 s" in done.stdout, done
    assert len(ledger.read_entries(path)) == 1


# ---- a run and an acknowledgement check the ledger before anything

def _setup(suite, tmp_path: Path, **logs) -> None:
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "logs" / "error.log").write_text("INFO up\n")
    suite.config({"service": "hostile-ledger", "root": str(tmp_path),
                  "logs": {"error_log": "logs/error.log", "since": "last_run", **logs}})


def _state(suite) -> list[Path]:
    return sorted(suite.path.glob(".opsproof/*/errorlog.json"))


def _refused_run(result, reason: str) -> None:
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    text = result.stdout.str() + "\n".join(result.errlines)
    assert result.ret == 4, text[-3000:]
    assert len(errors) == 1 and reason in errors[0], result.errlines
    assert "Traceback" not in text and "INTERNALERROR" not in text, text[-3000:]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "long-line"])
def test_a_run_refuses_a_ledger_it_cannot_append_to_before_any_check(suite, tmp_path, kind):
    """pytest -m daily blocked on a FIFO, hit INTERNALERROR on /dev/zero, hung in the append on a 100 MB line."""
    _setup(suite, tmp_path)
    if kind == "long-line":
        path = _ledger(suite.reports, 1, b"x" * BIG + b"\n")
        reason = f"line 2 is over {ledger.MAX_LINE_BYTES} bytes: not a ledger line"
    else:
        path = _special(suite.reports, kind)
        reason = "is not a regular file"
    size = path.lstat().st_size
    _refused_run(suite.run("-m", "daily", CHECK, timeout=120), reason)
    assert not _state(suite), "the error log was read: its offset moved on"
    assert path.lstat().st_size == size and not list(suite.reports.glob("*.html"))


def test_an_ack_refuses_a_ledger_with_a_line_over_the_bound(suite, tmp_path):
    _setup(suite, tmp_path)
    path = _ledger(suite.reports, 1, b"x" * BIG + b"\n")
    size = path.stat().st_size
    done, _ = _cli(tmp_path, "ack", "errorlog", "--reason", "read", f"--maint-config={suite.path / 'maintenance.yaml'}")
    assert done.returncode == 4, done
    said = _one_line(done.stderr)
    assert "not acknowledged, nothing changed" in said and f"line 2 is over {ledger.MAX_LINE_BYTES} bytes" in said
    assert path.stat().st_size == size and not _state(suite)


# ---- a ledger this user cannot write

def _as_nobody(suite, *args: str, timeout: float = 180, **extra: str) -> subprocess.CompletedProcess:
    """The suite run by `nobody` (see the module's docstring), in its own folder."""
    if os.geteuid() != 0:
        unavailable("running as another user needs root")
    require_tool("setpriv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OPSPROOF_"))}
    env.update(HOME=str(suite.path), MPLCONFIGDIR=str(suite.path / ".mpl"), **extra)
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                           "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
                           sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=suite.path, env=env, capture_output=True, text=True, timeout=timeout)


def _give_to_nobody(top: Path) -> None:
    for here, dirs, files in os.walk(top):
        for name in [here, *(os.path.join(here, d) for d in dirs), *(os.path.join(here, f) for f in files)]:
            os.lchown(name, NOBODY, NOBODY)


def test_a_ledger_this_user_cannot_write_stops_the_run_before_any_check(suite, tmp_path):
    """Another owner's ledger, mode 0644, in a report folder this user can write: a PermissionError traceback at the
    end, a passing run exiting 1 with no ledger line, and the error-log offset moved. Now: exit 4 at the start."""
    _setup(suite, tmp_path)
    path = _ledger(suite.reports, 1)
    _give_to_nobody(suite.path)
    os.chown(path, 0, 0)
    os.chmod(path, 0o644)
    before = path.read_bytes()
    done = _as_nobody(suite, "-m", "daily", CHECK)
    assert done.returncode == 4, done.stdout[-3000:] + done.stderr[-3000:]
    said = _one_line(done.stderr)
    assert said == (f"ERROR: the ledger {path} cannot be written (Permission denied): fix its owner or permissions "
                    "(a run appends its line there)"), said
    assert path.read_bytes() == before and not _state(suite) and not list(suite.reports.glob("*.html"))
    os.chown(path, NOBODY, NOBODY)                      # the owner fixed: the same run passes and records
    done = _as_nobody(suite, "-m", "daily", CHECK)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(ledger.read_entries(path)) == 2 and _state(suite)


LOCKOUT = """
import os
from pathlib import Path


def pytest_sessionfinish(session):
    # After the checks ran and the reports were written, before the ledger line: the ledger turns unwritable (here
    # its owner makes it read-only; also: another process replaced it, the disk filled).
    if not hasattr(session.config, "workerinput"):
        path = Path(session.config.rootpath, "reports", "ledger.jsonl")
        if os.environ.get("LOCKOUT") == "chmod":
            os.chmod(path, 0o444)
        else:
            os.replace(path, path.with_name("was-ledger"))
            os.symlink("/dev/zero", path)
"""


@pytest.mark.parametrize("how, workers", [("chmod", ()), ("link", ()), ("link", ("-n", "2"))])
def test_a_ledger_append_that_fails_at_the_end_saves_no_state(suite, tmp_path, how, workers):
    """The run's state (here the `since: last_run` error-log offset) is saved only once its ledger line is written:
    a failed append says so in one line, exits non-zero, and the next run reads the same lines again."""
    if workers:
        pytest.importorskip("xdist")
    _setup(suite, tmp_path)
    path = _ledger(suite.reports, 1)
    (suite.path / "lockout.py").write_text(LOCKOUT)
    if how == "chmod":
        _give_to_nobody(suite.path)
        done = _as_nobody(suite, "-m", "daily", CHECK, "-p", "lockout", *workers, LOCKOUT=how)
        ret, out, err = done.returncode, done.stdout, done.stderr
    else:
        result = suite.run("-m", "daily", CHECK, "-p", "lockout", *workers, env={"LOCKOUT": how})
        ret, out, err = result.ret, result.stdout.str(), "\n".join(result.errlines)
    assert ret == 4, out[-3000:] + err[-3000:]
    assert "Traceback" not in out + err and "INTERNALERROR" not in out + err, out[-3000:] + err[-3000:]
    (said,) = [line for line in err.splitlines() if line.startswith("opsproof:")]
    assert said.startswith(f"opsproof: no ledger line written ({path}") and "state not saved" in said, said
    assert not _state(suite), "the offset moved on without a ledger line"
    assert len(ledger.read_entries(path if how == "chmod" else path.with_name("was-ledger"))) == 1
    if how != "chmod":
        os.replace(path.with_name("was-ledger"), path)
        result = suite.run("-m", "daily", CHECK, *workers)             # the same run, the ledger whole again
        assert result.ret == 0, result.stdout.str()[-3000:]
        assert len(ledger.read_entries(path)) == 2 and _state(suite), "the state was not saved after the line"


# ---- in process: what each refusal says (mutation testing, tests/MUTANTS.md)

def test_what_is_not_a_regular_file_is_named_for_what_it_is(tmp_path):
    fifo = _special(tmp_path / "fifo", "fifo")
    zero = _special(tmp_path / "zero", "dev-zero")
    (tmp_path / "dir" / ledger.NAME).mkdir(parents=True)
    (tmp_path / "block").mkdir()
    os.symlink("/dev/loop0", tmp_path / "block" / ledger.NAME)
    for where, kind in ((fifo, "a FIFO"), (zero, "a symbolic link to /dev/zero, a character device"),
                        (tmp_path / "dir", "a directory"), (tmp_path / "block", "a symbolic link to /dev/loop0, a block device")):
        if kind.endswith("block device") and not os.path.exists("/dev/loop0"):
            continue
        result = ledger.verify(where)
        assert (result.exit_status, result.not_ledger) == (4, f"not a regular file ({kind})"), where
        with pytest.raises(ledger.NotRegular) as info:
            ledger.read_entries(where)
        assert (info.value.kind, info.value.why, info.value.path) == (kind, f"not a regular file ({kind})",
                                                                       ledger.ledger_path(where))
        assert str(info.value) == f"{ledger.ledger_path(where)}: not a regular file ({kind})"


def test_an_append_does_not_follow_a_link_even_to_a_ledger(tmp_path):
    real = _ledger(tmp_path / "real", 1)
    before = real.read_bytes()
    (tmp_path / "link").mkdir()
    os.symlink(real, tmp_path / "link" / ledger.NAME)
    with pytest.raises(ledger.NotRegular) as info:
        ledger.append(tmp_path / "link" / ledger.NAME, _line(5))
    assert info.value.kind == f"a symbolic link to {real}" and real.read_bytes() == before
    assert info.value.path == tmp_path / "link" / ledger.NAME
    assert ledger.verify(tmp_path / "link").exit_status == 0            # a reader follows it


def test_refusal_says_why_a_line_could_not_be_appended(tmp_path):
    assert ledger.refusal(tmp_path / "none" / ledger.NAME) is None
    good = _ledger(tmp_path / "good", 2)
    assert ledger.refusal(good) is None
    fifo = _special(tmp_path / "fifo", "fifo")
    assert ledger.refusal(fifo) == (f"the ledger {fifo} is not a regular file (a FIFO): a run appends only to one; "
                                    "move it aside")
    (tmp_path / "link").mkdir()
    os.symlink(good, tmp_path / "link" / ledger.NAME)
    assert ledger.refusal(tmp_path / "link" / ledger.NAME) == (
        f"the ledger {tmp_path / 'link' / ledger.NAME} is not a regular file (a symbolic link to {good}): a run "
        "appends only to one; move it aside")
    directory = tmp_path / "dir" / ledger.NAME
    directory.mkdir(parents=True)
    assert ledger.refusal(directory) == (f"the ledger {directory} cannot be written (Is a directory): fix its owner or "
                                         "permissions (a run appends its line there)")
    long = _ledger(tmp_path / "long", 1, b"x" * (ledger.MAX_LINE_BYTES + 1) + b"\n", after=1)
    assert ledger.refusal(long) == (f"the ledger {long}: line 2 is over {ledger.MAX_LINE_BYTES} bytes: not a ledger "
                                    "line (opsproof verify-ledger names what else is wrong); move it aside to start "
                                    "a new one")
    at_bound = _ledger(tmp_path / "bound", 1, b"x" * ledger.MAX_LINE_BYTES + b"\n")
    assert ledger.refusal(at_bound) is None                                  # exactly the bound is a line


def test_the_lock_is_waited_for_in_doubling_pauses_up_to_the_limit(tmp_path, monkeypatch):
    """In process, on a fake clock: the pauses double from 5 ms to at most 250 ms, the last one only what is left,
    and a lock released while waiting is taken."""
    import fcntl
    import types

    path = _ledger(tmp_path, 1)
    now, pauses = [100.0], []
    holder = os.open(path, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)

    def sleep(seconds):
        pauses.append(round(seconds, 6))
        now[0] += seconds
    monkeypatch.setattr(ledger, "time", types.SimpleNamespace(monotonic=lambda: now[0], sleep=sleep))
    try:
        with pytest.raises(ledger.LedgerError) as info:
            ledger.append(path, _line(5), lock_timeout_s=1)
        assert pauses == [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.25, 0.25, 0.185]
        assert str(info.value) == (f"{path}: locked by another process for over 1 s (a run or `opsproof ack` appending "
                                   f"takes milliseconds: `fuser {path}` names the holder); nothing appended")
        assert len(ledger.read_entries(path)) == 1
        pauses.clear()

        def release(seconds):
            sleep(seconds)
            if len(pauses) == 3:
                fcntl.flock(holder, fcntl.LOCK_UN)
        monkeypatch.setattr(ledger.time, "sleep", release)
        ledger.append(path, _line(6), lock_timeout_s=1)
        assert pauses == [0.005, 0.01, 0.02] and len(ledger.read_entries(path)) == 2
    finally:
        os.close(holder)


@pytest.mark.parametrize("blank", [b"   \n", b"\t \r\n", b" \n\n  \n", b"  "])
def test_an_append_after_blank_lines_chains_to_the_last_line_verify_reads(tmp_path, blank):
    """A ledger ending in whitespace-only lines (an editor's stray spaces): verify skips them, so the append must
    chain past them to the last real line — it chained to the blank one, and verify then called a good ledger
    broken (a false red)."""
    from opsproof.report.ledger_verify import verify

    path = _ledger(tmp_path, 2, tail=blank)
    ledger.append(path, _line(3))
    found = verify(path)
    assert (found.problems, found.exit_status) == ([], 0)
    before, last = ledger.read_entries(path)[-2:]
    assert last["prev"] == ledger.line_hash(json.dumps(before, sort_keys=True, separators=(",", ":")).encode())


@pytest.mark.parametrize("content", [b"x", b"\nx", b"x\n \n"])
def test_a_last_line_of_one_byte_is_still_the_line_an_append_chains_to(tmp_path, content):
    """However short, the last non-blank line is what verify reads before the new one: a torn one-byte line too."""
    path = tmp_path / ledger.NAME
    path.write_bytes(content)
    record = ledger.append(path, _line(1))
    assert record["prev"] == ledger.line_hash(b"x")
