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
