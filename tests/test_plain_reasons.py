"""Plain reasons (issue 23, item 2): a failed check says, in one sentence, what was measured or found, the limit and the
key it came from and what to do — in the terminal, the HTML report's failure text, the JSON summary's `message` and the
coverage table's reason; never an AssertionError, a traceback or a record's repr. A genuine crash keeps its traceback,
marked as opsproof's internal error.

Suite runs make each kind of check fail (a comparison with a runbook, library results that failed: health, backup
integrity, services, the rollback plan, the error log); unit tests pin the pure pieces.
"""
from __future__ import annotations

import ast
import html
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from helpers import ROOT, free_port
from helpers.backups import make_db
from helpers.http import HTTPServerFixture
from opsproof.backups.archive import Verification
from opsproof.backups.restore import RestoreResult
from opsproof.backups.take import BackupResult, take_backup
from opsproof.backups.work import unfinished
from opsproof.report.evidence import Comparison, internal_error, one_line, plain_assertion, unexplained
from opsproof.report.judgement import with_lines
from opsproof.system.health import HealthResult, unanswered, unhealthy

RUNBOOK = "https://wiki.example/runbooks/disk-full"
CODE_NOISE = re.compile(r"AssertionError|Traceback|\b(HealthResult|Verification|RestoreResult|BackupResult|Recency|"
                        r"ProcessResult|PortResult|ErrorScan)\(|\+  where |^E  |: AssertionError|\bassert ", re.M)
CHECKS = ["checks/test_disk.py", "checks/test_health.py", "checks/test_backup_integrity.py", "checks/test_services.py",
          "checks/test_premaintenance.py", "checks/test_errorlog.py"]


def _noise(text: str) -> list[str]:
    return CODE_NOISE.findall(text)


def _html_logs(page: str) -> dict[str, str]:
    """Each test's failure text as pytest-html shows it (its JSON blob holds every phase's log, HTML-escaped)."""
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob, "no pytest-html data blob in the report"
    data = json.loads(html.unescape(blob.group(1)))
    return {nodeid: "\n".join(html.unescape(str(row.get("log", ""))) for row in rows)
            for nodeid, rows in data["tests"].items()}


@pytest.fixture
def failing_target(tmp_path: Path):
    """A target where each kind of check fails: a full disk (by its limit), endpoints that refuse, answer 503 or
    report themselves degraded, a damaged backup, a missing process and port, no rollback plan, errors in the log."""
    root = tmp_path / "target"
    (root / "logs").mkdir(parents=True)
    (root / "logs" / "error.log").write_text("2026-12-06T10:00:00Z ERROR database is down\n"
                                             "2026-12-06T10:00:01Z ERROR retry failed\n")
    (root / "data").mkdir()
    make_db(root / "data" / "app.db", rows=200)
    (root / "backups").mkdir()
    taken = take_backup(str(root / "backups"), "daily_*.tar.gz", 14, "sqlite", path=str(root / "data" / "app.db"),
                        now=datetime.now(timezone.utc))
    assert taken.ok, taken.error
    archive = Path(taken.path)
    archive.write_bytes(archive.read_bytes()[:-4])          # the gzip trailer cut off: the CRC cannot be read
    down, degraded = HTTPServerFixture(), HTTPServerFixture()
    down.behaviour.status = 503
    degraded.behaviour.body = b'{"status": "degraded"}'
    closed = free_port()
    config = {
        "service": "plain", "root": str(root),
        "disk": {"paths": ["/"], "max_used_percent": 0},
        "runbooks": {"test_disk_space": RUNBOOK},
        "health": [{"name": "refused", "url": f"http://127.0.0.1:{closed}/health", "timeout_s": 2},
                   {"name": "down", "url": down.url("/health"), "timeout_s": 5},
                   {"name": "degraded", "url": degraded.url("/health"), "json": {"status": "ok"}, "timeout_s": 5}],
        "backups": {"dir": "backups", "pattern": "daily_*.tar.gz", "min_size_bytes": 1},
        "services": {"processes": ["no-such-daemon-x"], "ports": [closed]},
        "rollback_plan": "docs/rollback.md",
        "logs": {"error_log": "logs/error.log", "max_new_errors": 0},
    }
    yield config, archive
    down.close()
    degraded.close()


def test_every_kind_of_failure_reads_as_a_plain_sentence_everywhere(suite, failing_target):
    config, archive = failing_target
    suite.config(config)
    result = suite.run("-m", "daily or premaintenance or postmaintenance", *CHECKS, timeout=240)
    out = result.stdout.str()
    assert result.ret == 1, out
    tests = {t["id"]: t for t in suite.summary()["tests"]}
    failed = {i: t for i, t in tests.items() if t["outcome"] in ("failed", "error")}

    def one(name: str, param: str = "") -> dict:
        (found,) = [t for i, t in failed.items() if f"::{name}" in i and param in i]
        return found

    # Every failure: one plain line, no code noise, in the JSON, the terminal and the HTML report.
    assert len(failed) >= 9, sorted(tests)
    logs = _html_logs(suite.html())
    for nodeid, test in failed.items():
        message = test["message"]
        assert "\n" not in message.strip() and not _noise(message), (nodeid, message)
        assert message.strip() in logs[nodeid], (nodeid, logs[nodeid])
        assert not _noise(logs[nodeid]), (nodeid, logs[nodeid])
    assert not _noise(out), out

    disk = one("test_disk_space")["message"]   # what was measured, the key and its limit, the hint, then the runbook
    assert re.match(r"space used on / is [\d.]+%; disk\.max_used_percent allows <= 0(\.0)?% — free space: .+ — runbook: "
                    + re.escape(RUNBOOK) + "$", disk), disk

    refused = one("test_endpoint_healthy", "[refused")["message"]
    assert refused.startswith("refused (http://127.0.0.1:") and "did not answer: ConnectionError: Connection refused" \
        in refused and "health[refused].timeout_s = 2 s" in refused and " — is the service running" in refused, refused
    down = one("test_endpoint_healthy", "[down")
    assert re.match(r"HTTP status of down \(http://127\.0\.0\.1:\d+/health\) is 503; health\[down\]\.status asks for "
                    "200 — ", down["message"]), down
    assert any(c["key"] == "health[down].status" and not c["passed"] for c in down["comparisons"]), down
    degraded = one("test_endpoint_healthy", "[degraded")["message"]
    assert "answered 200 but is not healthy: $.status is 'degraded', expected 'ok'" in degraded, degraded
    assert "(the body begins: {\"status\": \"degraded\"})" in degraded and "health[degraded].json" in degraded

    integrity = one("test_newest_archive_is_intact")["message"]
    assert integrity.startswith(f"1 of 1 archive(s) checked do not read end to end: {archive.name}: truncated: ") \
        and f"(in backups.dir {archive.parent}) — " in integrity and "take a fresh one" in integrity, integrity
    assert "no process named no-such-daemon-x is running (services.processes" in one("test_process_running")["message"]
    assert "nothing listens on TCP port" in one("test_port_listening")["message"]
    assert "rollback plan" in one("test_rollback_plan_ready")["message"]
    errors = one("test_no_new_errors")["message"]
    assert "logs.max_new_errors allows <= 0 — read them (the first: 2026-12-06T10:00:00Z ERROR database is down | " \
        in errors, errors

    # The coverage table's reason is the sentence (the measurement before the runbook), never a code location.
    rows = suite.summary()["coverage"]
    whys = " ".join(r.get("why", "") for r in rows if r["outcome"] == "failed")
    assert "disk.max_used_percent allows <= 0" in whys and "do not read end to end" in whys, rows
    assert f"end to end: {archive.name}: truncated: " in whys, whys
    assert not _noise(whys) and not re.search(r"\.py:\d", whys), whys


CRASHES = '''"""Checks that go wrong the ways a bug would."""
from dataclasses import dataclass

import pytest

pytestmark = [pytest.mark.daily]


@dataclass
class Outcome:
    ok: bool
    detail: str = "hidden"


@pytest.fixture
def broken_wiring():
    raise RuntimeError("the wiring broke: no target")


def test_crashing_fixture(broken_wiring):
    """A check whose fixture crashes."""


def test_crashing_check():
    """A check whose own code crashes."""
    {}["missing"]


def test_assert_with_a_message():
    """A check that asserts with a message."""
    outcome = Outcome(False)
    assert outcome.ok, "the outcome was not ok:\\nsee the detail"


def test_assert_without_a_message():
    """Every outcome is ok."""
    outcome = Outcome(False)
    assert outcome.ok
'''


def test_a_crash_is_an_internal_error_with_its_traceback_and_asserts_are_plain(suite):
    suite.config({"service": "plain", "root": "."})
    (suite.path / "checks" / "test_zz_crashes.py").write_text(CRASHES)
    result = suite.run("-m", "daily", "checks/test_zz_crashes.py")
    assert result.ret == 1, result.stdout.str()
    tests = {t["id"].split("::")[1].split("[")[0]: t for t in suite.summary()["tests"]}
    logs = {k.split("::")[1].split("[")[0]: v for k, v in _html_logs(suite.html()).items()}

    fixture = tests["test_crashing_fixture"]
    assert fixture["outcome"] == "error"
    for text in (fixture["message"], logs["test_crashing_fixture"]):
        lines = text.strip().splitlines()
        assert lines[0].startswith("opsproof internal error: RuntimeError: the wiring broke: no target (at "
                                   "checks/test_zz_crashes.py:") and "not a finding about the service" in lines[0]
        assert lines[-1] == lines[0] and "raise RuntimeError" in text, text   # the traceback between
    crash = tests["test_crashing_check"]
    assert crash["message"].startswith("opsproof internal error: KeyError: 'missing' (at checks/test_zz_crashes.py:")
    assert "opsproof internal error: RuntimeError" in result.stdout.str()

    said = tests["test_assert_with_a_message"]["message"]
    assert said == "the outcome was not ok: see the detail", said
    bare = tests["test_assert_without_a_message"]["message"]
    assert bare.startswith("not met: Every outcome is ok. (checks/test_zz_crashes.py:") and "Outcome(" not in bare
    for name in ("test_assert_with_a_message", "test_assert_without_a_message"):
        assert not _noise(tests[name]["message"]) and not _noise(logs[name]), logs[name]


def test_no_check_fails_with_a_bare_assert_or_a_traceback():
    """Fitness: a check fails through evidence (compare, within, require, fail), so its reason is its sentence; an
    `assert` would show pytest's rewriting (reprs of records), `pytest.fail` with a traceback a code dump."""
    found = []
    for source in sorted((ROOT / "checks").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Assert):
                found.append(f"{source.name}:{node.lineno}: assert")
            elif isinstance(node, ast.Call) and ast.unparse(node.func) == "pytest.fail":
                found.append(f"{source.name}:{node.lineno}: pytest.fail")
    assert not found, f"fail through evidence.require/fail/compare instead: {found}"


# --- the pure pieces ---------------------------------------------------------------------------------------------

def test_plain_assertion_keeps_the_message_and_drops_what_rewriting_added():
    rewritten = "line one\n  line two x\n  y\nassert False\n +  where False = R(ok=False, note='x\\ny').ok"
    assert plain_assertion(rewritten) == "line one line two x y"
    assert plain_assertion("assert False\n +  where False = R(ok=False).ok") == ""
    assert plain_assertion("HealthResult(name='api', url='x')\nassert False") == ""
    assert plain_assertion("Outcome()\nassert False") == ""
    assert plain_assertion("the archive is damaged: CRC (checked 3)") == "the archive is damaged: CRC (checked 3)"
    assert unexplained("Every outcome is ok.", "checks/a.py:3") == (
        "not met: Every outcome is ok. (checks/a.py:3 failed without saying why; the check should name what it found)")


def test_an_internal_error_has_its_headline_first_and_last_around_the_traceback():
    text = internal_error("KeyError: 'x'\nmore", "engine/a.py:9", "Traceback...\n  raise\nKeyError: 'x'\n")
    lines = text.splitlines()
    assert lines[0] == lines[-1] == ("opsproof internal error: KeyError: 'x' (at engine/a.py:9) — a fault in opsproof "
                                     "or its wiring, not a finding about the service")
    assert lines[1:-1] == ["Traceback...", "  raise", "KeyError: 'x'"]


def test_the_runbook_ends_the_last_line_after_the_measurement():
    sentence = Comparison("space used on /", 24, "<=", 20, "disk.max_used_percent", "%", False).message("free space")
    assert sentence == "space used on / is 24%; disk.max_used_percent allows <= 20% — free space"
    assert with_lines(sentence + "\n", ["runbook: https://w/disk"]) == sentence + " — runbook: https://w/disk"
    assert with_lines("head\nlast", ["a", "b"]) == "head\nlast — a — b"
    assert with_lines("unchanged\n", []) == "unchanged\n"
    equal = Comparison("HTTP status of api", 503, "==", 200, "health[api].status", passed=False).message()
    assert equal == "HTTP status of api is 503; health[api].status asks for 200"


def test_library_results_say_what_failed_in_a_sentence():
    assert unanswered(HealthResult("api", "http://h/health", error="ConnectionError: Connection refused", attempts=2)) \
        == "api (http://h/health) did not answer: ConnectionError: Connection refused, after 2 attempt(s)"
    sick = HealthResult("api", "http://h/health", 200, body_excerpt='{"status":\n "down"}', problems=["$.status: x"])
    assert unhealthy(sick) == ('api (http://h/health) answered 200 but is not healthy: $.status: x (the body begins: '
                                '{"status": "down"})')
    assert unhealthy(HealthResult("api", "u", 500, problems=["p"])).endswith("(the body is empty)")
    assert Verification("b/daily_1.tar.gz", False, "gzip CRC mismatch").damage() == "b/daily_1.tar.gz: gzip CRC mismatch"
    assert Verification("/b/daily_1.tar.gz", False, "CRC").damage(within="/b/") == "daily_1.tar.gz: CRC"
    assert Verification("/bx/daily_1.tar.gz", False, "CRC").damage(within="/b") == "/bx/daily_1.tar.gz: CRC"
    assert Verification("b/x", False).damage() == "b/x: did not read end to end"
    assert RestoreResult(False, "b/x", reason="smoke query failed").failure() == "b/x did not restore: smoke query failed"
    assert RestoreResult(False, "b/x").failure() == "b/x did not restore: the drill reported no reason"
    failed = BackupResult(False, "sqlite", "data/app.db", "backups", error="disk full")
    assert unfinished(failed) == "the backup of data/app.db into backups failed: disk full"
    odd = BackupResult(True, "sqlite", "data/app.db", "backups", steps=[{"step": "dump"}, {"step": "verify"}])
    assert unfinished(odd) == ("the backup of data/app.db into backups ended without a verified archive under its "
                                "final name (steps done: dump, verify)")
    assert one_line("a\n  b\tc") == "a b c" and one_line("x" * 10, 5) == "xxxx…"
