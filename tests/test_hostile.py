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


_FD_LIMITED = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))
from opsproof.config import Endpoint
from opsproof.system.health import probe_all
url = sys.argv[1]
eps = [(Endpoint(url=url + str(i), name=str(i), timeout_s=20), url + str(i)) for i in range(120)]
print(json.dumps([r.error for r in probe_all(eps, concurrency=120)]))
"""


def test_running_out_of_file_descriptors_is_blamed_on_the_tool(http_server):
    """Under a low `ulimit -n`, endpoints that could not get a socket say it was opsproof's limit."""
    import json

    http_server.behaviour.gather = 200      # hold every request: all sockets stay open at once
    done = subprocess.run([sys.executable, "-c", _FD_LIMITED, http_server.url("/")], capture_output=True, text=True,
                          timeout=300)
    http_server.behaviour.gather = 0
    assert done.returncode == 0, done.stderr[-2000:]
    errors = [e for e in json.loads(done.stdout) if e]
    limited = [e for e in errors if "Too many open files" in e]
    assert limited, errors[:5]
    assert all("its own limit, not the endpoint's" in e for e in limited)


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
