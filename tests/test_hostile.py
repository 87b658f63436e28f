"""Hostile input: nothing wrong ever passes, nothing eats the machine, every refusal is one clear line.

One test (or parametrized case) per input class found; new classes get their test here.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from opsproof import config as cfg


def _refused(tmp_path: Path, text: str) -> cfg.ConfigError:
    path = tmp_path / "maintenance.yaml"
    path.write_text(text)
    with pytest.raises(cfg.ConfigError) as caught:
        cfg.load(path)
    assert len(str(caught.value)) < 1000, f"the message is {len(str(caught.value))} characters"
    return caught.value


def test_a_section_written_twice_is_refused_with_both_lines(tmp_path):
    err = _refused(tmp_path, "service: svc\ndisk:\n  paths: ['/']\n  max_used_percent: 1\nlogs: {error_log: e.log}\n"
                             "disk:\n  paths: ['/']\n  max_used_percent: 99\n")
    assert err.key == "disk" and err.problem == "duplicate key 'disk' at line 6 (first at line 2)", err


@pytest.mark.parametrize("text, key", [
    ("service: svc\ndisk: {paths: ['/'], max_used_percent: 1, max_used_percent: 99}\n", "disk.max_used_percent"),
    ("service: svc\nhealth:\n  - {url: 'http://a/', url: 'http://b/'}\n", "health[0].url"),
    ("service: svc\nhealth:\n  - url: 'http://a/'\n    json: {status: ok, status: degraded}\n", "health[0].json.status"),
])
def test_a_key_twice_at_any_depth_is_refused(tmp_path, text, key):
    err = _refused(tmp_path, text)
    assert err.key == key and err.problem.startswith("duplicate key"), err


def _bomb(levels: int = 12, width: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", [
    "service: *a11\n",
    "service: svc\ndisk: {paths: *a11}\n",
    "service: svc\nhealth:\n  - {url: 'http://127.0.0.1:1/', json: {x: *a11}}\n",
])
def test_an_alias_bomb_is_refused_before_it_expands(tmp_path, where):
    # 9**12 nodes if expanded: the refusal comes from the composed graph, and the message does not quote it.
    err = _refused(tmp_path, "x-anchors:\n" + "".join("  " + line + "\n" for line in _bomb().splitlines()) + where)
    assert "aliases expand to more than" in err.problem, err


def test_a_recursive_alias_is_refused(tmp_path):
    err = _refused(tmp_path, "service: svc\ndisk: &d {paths: ['/'], inner: *d}\n")
    assert "refers to a node that contains it" in err.problem, err


def test_sharing_a_block_with_an_alias_is_fine(tmp_path):
    path = tmp_path / "maintenance.yaml"
    path.write_text("service: svc\nx-headers: &h {Authorization: 'Bearer abcdef'}\nhealth:\n"
                    "  - {name: a, url: 'http://127.0.0.1:1/a', headers: *h}\n"
                    "  - {name: b, url: 'http://127.0.0.1:1/b', headers: *h}\n")
    with pytest.raises(cfg.ConfigError) as caught:          # x-headers is not a section: refused for that alone
        cfg.load(path)
    assert caught.value.key == "x-headers" and caught.value.problem == "unknown key"


def test_a_huge_value_is_quoted_short(tmp_path):
    err = _refused(tmp_path, "service: svc\ndisk: {paths: ['/'], max_used_percent: '" + "9" * 1_000_000 + "'}\n")
    assert err.key == "disk.max_used_percent" and "..." in err.problem and len(err.problem) < 300, err


def test_check_config_exits_4_on_a_duplicate_key(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("service: svc\nservice: other\n")
    done = subprocess.run([sys.executable, "-m", "opsproof.cli", "check-config", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 4, done
    assert "duplicate key 'service' at line 2 (first at line 1)" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_an_openslo_document_with_a_key_twice_is_refused(tmp_path):
    (tmp_path / "slo.yaml").write_text("apiVersion: openslo/v1\nkind: SLO\nkind: SLI\nmetadata: {name: x}\n")
    err = _refused(tmp_path, "service: svc\nslo: {source: {access_log: a.log}, openslo: ['slo.yaml']}\n")
    assert err.file.endswith("slo.yaml") and err.problem == "duplicate key 'kind' at line 3 (first at line 2)", err


def test_terminal_escapes_in_an_error_line_are_shown_escaped(suite, tmp_path):
    """An error line holding ESC]0;title BEL and ESC[2J never reaches the terminal, JUnit or JSON raw."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "error.log").write_bytes(b"ERROR pwned \x1b]0;owned-title\x07 then \x1b[2J cleared\n")
    suite.config({"service": "hostile", "root": str(tmp_path), "logs": {"error_log": "logs/error.log"}})
    junit = tmp_path / "junit.xml"
    result = suite.run("-m", "postdeploy", "checks/test_errorlog.py", f"--junitxml={junit}")
    assert result.ret == 1
    shown = "\n".join(result.outlines + result.errlines)
    assert "\x1b" not in shown and "\x07" not in shown, shown
    assert "\\x1b]0;owned-title\\x07" in shown                  # still there to read, escaped
    test = next(t for t in suite.summary()["tests"] if "test_errorlog.py" in t["id"])
    assert "\x1b" not in test["message"] and "\x1b" not in junit.read_text(errors="replace")


def test_a_body_past_the_cap_says_it_was_not_read_in_full(http_server):
    from opsproof.config import Endpoint
    from opsproof.system.health import probe

    http_server.behaviour.body = b'{"status": "ok", "pad": "' + b"x" * (5 << 20) + b'"}'
    as_json = probe(Endpoint(url=http_server.url(), json={"status": "ok"}, timeout_s=20))
    assert as_json.problems == ["body larger than 1 MiB: not read in full, so its JSON was not checked"], as_json
    missing = probe(Endpoint(url=http_server.url(), json=None, contains="never there", timeout_s=20))
    assert missing.problems == ["body larger than 1 MiB: not read in full, and its first 1 MiB do not contain "
                                "'never there'"], missing
    found = probe(Endpoint(url=http_server.url(), json=None, contains='"status": "ok"', timeout_s=20))
    assert found.ok, found          # what was asked for is in what was read


def test_many_endpoints_are_probed_a_bounded_number_at_a_time(http_server):
    from opsproof.config import Endpoint
    from opsproof.system.health import probe_all

    http_server.behaviour.delay_s = 0.05
    endpoints = [(Endpoint(url=http_server.url(f"/{i}"), name=str(i), timeout_s=20), http_server.url(f"/{i}"))
                 for i in range(60)]
    results = probe_all(endpoints, concurrency=4)
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert len(http_server.behaviour.requests) == 60
    assert 1 <= http_server.behaviour.max_in_flight <= 4, http_server.behaviour.max_in_flight


_LIMITED = """
import json, resource, sys
from opsproof.config import Endpoint
from opsproof.system import health
url, what, value = sys.argv[1], sys.argv[2], int(sys.argv[3])
if what == "nofile":                 # ulimit -n VALUE
    resource.setrlimit(resource.RLIMIT_NOFILE, (value, value))
elif what == "taken":                # ulimit -n VALUE, and the descriptors counted free are taken by the time of use
    resource.setrlimit(resource.RLIMIT_NOFILE, (value, value))
    health.fd_room = lambda: (10 * value, value)
else:                                # ulimit -v: VALUE MiB of address space beyond what the process holds now
    used = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:")) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (used + value * 2**20,) * 2)
eps = [(Endpoint(url=url + str(i), name=str(i), timeout_s=20), url + str(i)) for i in range(300)]
probes = health.probe_all(eps, concurrency=300)
print(json.dumps({"errors": [r.error for r in probes if not r.ok], "at_once": getattr(probes, "at_once", None),
                  "limit": getattr(probes, "limit", None)}))
"""


def _probe_300_under(http_server, what: str, value: int) -> dict:
    import json

    done = subprocess.run([sys.executable, "-c", _LIMITED, http_server.url("/"), what, str(value)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_more_endpoints_than_descriptors_are_probed_as_many_at_once_as_ulimit_n_leaves(http_server):
    """300 endpoints at concurrency 300 under `ulimit -n 64`: none fails for a socket it could not open; the probes in
    flight were capped by what the limit leaves, and that is said once."""
    http_server.behaviour.delay_s = 0.02
    probed = _probe_300_under(http_server, "nofile", 64)
    assert probed["errors"] == [], probed["errors"][:3]
    assert 1 <= probed["at_once"] < 64 and "ulimit -n 64 leaves room for" in probed["limit"], probed
    assert len(http_server.behaviour.requests) == 300
    assert http_server.behaviour.max_in_flight <= probed["at_once"]


def test_descriptors_running_out_anyway_hold_the_probes_back_and_fail_none(http_server):
    """Something else took the descriptors counted free: a probe refused a socket (EMFILE) hands its endpoint to the
    other workers instead of failing it, and the run says once that "Too many open files" held it back."""
    http_server.behaviour.delay_s = 0.02
    probed = _probe_300_under(http_server, "taken", 64)
    assert probed["errors"] == [], probed["errors"][:3]
    assert "Too many open files (ulimit -n)" in probed["limit"], probed
    assert http_server.behaviour.max_in_flight < 64
    assert len(http_server.behaviour.requests) == 300


def test_probe_threads_fit_the_address_space_ulimit_v_leaves(http_server):
    """With room for fewer than 300 threads (`ulimit -v` 64 MiB above what the process holds), as many start as fit in
    half of it: all answered, the cap said once; no thread is refused, nothing aborts for want of memory."""
    http_server.behaviour.delay_s = 0.05
    probed = _probe_300_under(http_server, "address-space", 64)
    assert probed["errors"] == [], probed["errors"][:3]
    assert "ulimit -v leaves room for" in probed["limit"] and probed["at_once"] <= 32, probed
    assert len(http_server.behaviour.requests) == 300
    assert http_server.behaviour.max_in_flight <= probed["at_once"]


def test_a_thread_refused_all_the_same_holds_the_probes_back_and_fails_none(http_server, monkeypatch):
    """Past the room counted (taken by another part of the process, or `ulimit -u`), a worker thread is refused as
    Python refuses it: the probes run on the workers that started, or in the calling thread when none did, and the
    refusal is said once, not raised."""
    import threading

    from opsproof.config import Endpoint
    from opsproof.system.health import probe_all

    start, allowed = threading.Thread.start, [3]

    def refusing(thread: threading.Thread) -> None:
        if thread.name == "opsproof-health":
            if not allowed[0]:
                raise RuntimeError("can't start new thread")
            allowed[0] -= 1
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", refusing)
    endpoints = [(Endpoint(url=http_server.url(f"/{i}"), name=str(i), timeout_s=20), http_server.url(f"/{i}"))
                 for i in range(30)]
    for threads in (3, 0):
        allowed[0] = threads
        probes = probe_all(endpoints, concurrency=30)
        assert all(r.ok for r in probes), [r for r in probes if not r.ok][:3]
        assert probes.at_once == max(1, threads), probes.at_once
        assert probes.limit.endswith(f"can't start new thread (ulimit -v or -u) after {threads} threads"), probes.limit
    assert len(http_server.behaviour.requests) == 60


_NOTIFY_NO_THREAD = """
import resource, sys, threading
from opsproof.process.notify import post
threading.stack_size(64 * 2**20)     # a thread's stack would need 64 MiB; the address space leaves 8 MiB
used = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:")) * 1024
resource.setrlimit(resource.RLIMIT_AS, (used + 8 * 2**20,) * 2)
print(post(sys.argv[1], {"event": "start", "text": "maintenance starts"}, 2).error)
"""


def test_a_notice_without_a_thread_to_send_it_is_a_delivery_error_not_a_crash(http_server):
    """post() never raises: a thread refused by `ulimit -v` is its Delivery's error, in one line."""
    done = subprocess.run([sys.executable, "-c", _NOTIFY_NO_THREAD, http_server.url("/hook")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stdout.strip() == ("not sent: can't start new thread — opsproof's own limit (ulimit -v or -u), not "
                                   "the webhook's"), done.stdout
    assert http_server.behaviour.requests == []


@pytest.mark.parametrize("option", ["--report-dir={file}", "--report-dir={file}/sub", "--textfile={dir}"])
def test_an_output_that_cannot_be_written_stops_the_run_before_any_check(suite, tmp_path, option):
    """exit 4 with one line, before any check runs: nothing is read, so no error-log offset moves on."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "error.log").write_text("ERROR one\n")
    (tmp_path / "a-file").write_text("x")
    suite.config({"service": "hostile", "root": str(tmp_path), "logs": {"error_log": "logs/error.log"}})
    result = suite.run("-m", "postdeploy", option.format(file=tmp_path / "a-file", dir=tmp_path))
    assert result.ret == 4, result.stdout.str()
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and ("is a file" in errors[0] or "cannot be written" in errors[0]
                                 or "is a directory" in errors[0]), result.errlines
    assert "Traceback" not in result.stdout.str() + "\n".join(result.errlines)
    assert not list(suite.path.glob(".opsproof/**/*errorlog*")), "the error log was read: its offset moved on"


@pytest.mark.parametrize("text, key", [
    ("security: {pip_audit: {requirements: ''}}", "security.pip_audit.requirements"),
    ("security: {pip_audit: {path: ''}}", "security.pip_audit.path"),
])
def test_an_empty_path_is_refused_not_taken_for_the_default(tmp_path, text, key):
    err = _refused(tmp_path, "service: svc\n" + text + "\n")
    assert err.key == key, err


_LONG_LINE = """
import json, sys
import testinfra
from opsproof.hosts.target import Target
from opsproof.logs.scan import scan_errors
scan, _ = scan_errors(Target(testinfra.get_host("local://"), 120), sys.argv[1], sys.argv[2], {})
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so it would report the parent's (a test worker's) peak.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"matches": scan.matches, "lines": scan.lines_read, "long": scan.long_lines, "sample": scan.sample,
                  "end": scan.end_offset, "peak_mib": hwm / 1024}))
"""


def _scan_in_a_process(path: Path, pattern: str) -> dict:
    import json

    done = subprocess.run([sys.executable, "-c", _LONG_LINE, str(path), pattern], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_an_error_at_the_end_of_a_50_mb_line_counts_in_bounded_memory(tmp_path):
    """As grep would: the line is streamed through the pattern, not cut at 1 MiB, and memory stays flat."""
    path = tmp_path / "error.log"
    with open(path, "wb") as fh:
        fh.write(b"INFO start\n")
        for _ in range(50):
            fh.write(b"x" * (1 << 20))
        fh.write(b" ERROR y\nINFO after\n")
    found = _scan_in_a_process(path, "ERROR|FATAL")
    assert found["matches"] == 1 and found["lines"] == 3 and found["long"] == 1, found
    assert found["end"] == path.stat().st_size
    assert found["sample"][0].startswith("x" * 100) and found["sample"][0].endswith("characters, cut]"), found
    assert found["peak_mib"] < 200, found           # the 50 MB line never sits in memory whole


def test_a_long_line_keeps_its_anchors_and_a_match_across_a_read_boundary(tmp_path):
    body = b"y" * (5 << 20)
    cases = {
        "mid.log": (b"pre " + body + b" ERROR mid\n", r"^ERROR", 0),        # ERROR, but not at the line's start
        "start.log": (b"ERROR first " + body + b"\n", r"^ERROR", 1),
        "end.log": (body + b" it said ERROR\n", r"ERROR$", 1),
        "cut.log": (b"y" * ((4 << 20) - 3) + b"ERROR split over the 4 MiB read\n", r"ERROR split", 1),
        "none.log": (body + b"\n", r"ERROR", 0),
    }
    for name, (data, pattern, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        found = _scan_in_a_process(tmp_path / name, pattern)
        assert found["matches"] == expected and found["long"] == 1, (name, found)


# --- resource limits of the machine running the suite (issue 21, item 5) ---------------------------------------

def _under_limits(suite, args: tuple[str, ...], address_space_kib: int, open_files: int,
                  timeout: float = 240) -> subprocess.CompletedProcess:
    """Run the suite as `ulimit -v KIB -n FILES; python -m pytest ARGS` would, in the suite's copy."""
    import os
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space_kib * 1024,) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files,) * 2)

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(suite.path), os.environ.get("PYTHONPATH")])))
    env.pop("OPSPROOF_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                           "-p", "no:benchmark", "-p", "no:xdist", "-p", "_opsproof_suite_gc", *args],
                          cwd=suite.path, env=env, preexec_fn=limit, capture_output=True, text=True, timeout=timeout)


def test_1200_endpoints_are_probed_under_ulimit_v_and_n(suite, http_server):
    """1 200 endpoints, each answering after 0.2 s, health_concurrency 1024, under `ulimit -v 3000000 -n 512`: every
    item passes, no traceback, and the cap the open-files limit put on the probes in flight is said once."""
    http_server.behaviour.delay_s = 0.2
    suite.config({"service": "many", "root": ".", "health_concurrency": 1024,
                  "health": [{"name": f"e{i}", "url": http_server.url(f"/{i}"), "json": {"status": "ok"},
                              "max_latency_ms": 60000, "timeout_s": 30} for i in range(1200)]})
    done = _under_limits(suite, ("-m", "postdeploy", "checks/test_health.py", "-q"), 3_000_000, 512)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    outcomes = [t["outcome"] for t in suite.summary()["tests"] if "::test_endpoint_healthy[" in t["id"]]
    assert outcomes == ["passed"] * 1200, output[-3000:]
    assert "Traceback" not in output and "can't start new thread" not in output, output[-3000:]
    said = [line for line in output.splitlines() if line.startswith("opsproof: health:")]
    assert len(said) == 1 and "ulimit -n 512" in said[0], said
    assert 1 < http_server.behaviour.max_in_flight < 512, http_server.behaviour.max_in_flight
