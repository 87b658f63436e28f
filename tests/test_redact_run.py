"""Every file a run writes, and everything it prints or posts, is grepped for the secrets and the raw operator
input seeded into it: a real error log, a real webhook receiver on loopback, the JUnit XML, the --textfile,
the state dir, the ledger, the terminal."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT
from helpers.webhook import Hook

FAST = ("-p", "no:hypothesispytest", "-p", "no:benchmark")

# Each secret shape, seeded into error lines of the service's log: (line text, the secret value in it).
SEEDED = [
    ("token=tokFree1a2b", "tokFree1a2b"),
    ("api_key=akFree3c4d", "akFree3c4d"),
    ("apikey=akFree5e6f", "akFree5e6f"),
    ("secret=secFree7g8h", "secFree7g8h"),
    ("password=pwFree9i0j", "pwFree9i0j"),
    ("passwd=pwdFree1k2l", "pwdFree1k2l"),
    ("pwd=pwdFree3m4n", "pwdFree3m4n"),
    ("access_key=acFree5o6p", "acFree5o6p"),
    ("private_key=pkFree7q8r", "pkFree7q8r"),
    ("client_secret=csFree9s0t", "csFree9s0t"),
    ("auth=auFree1u2v", "auFree1u2v"),
    ("session=seFree3w4x", "seFree3w4x"),
    ("cookie=coFree5y6z", "coFree5y6z"),
    ("credential=crFree7a8b", "crFree7a8b"),
    ("db_password=dbFree9c0d", "dbFree9c0d"),
    ("AWS_SECRET_ACCESS_KEY=awsFree1e2f", "awsFree1e2f"),
    ("token: tokColon3g4h", "tokColon3g4h"),
    ("api_key: akColon5i6j", "akColon5i6j"),
    ('{"client_secret": "csJson7k8l"}', "csJson7k8l"),
    ("Authorization: Bearer bearFree9m0n", "bearFree9m0n"),
    ("Authorization: Basic dXNlcjpiYXNpY0ZyZWU=", "dXNlcjpiYXNpY0ZyZWU="),
    ("https://deploy:urlPass1o2p@git.example.com/repo.git", "urlPass1o2p"),
]
SECRETS = [secret for _, secret in SEEDED]
REASON_SECRET = "apiReason3q4r"   # typed by the operator into --reason: reaches the webhook text and the header


def _every_output(suite, out: Path, result: pytest.RunResult, hook: Hook) -> dict[str, str]:
    """Each output by name: every file under the report dir, the state dir and out/, the terminal, the webhook."""
    texts = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    for root in (suite.reports, suite.path / ".opsproof", out):
        texts.update({str(p): p.read_text(errors="replace") for p in root.rglob("*") if p.is_file()})
    texts.update({f"webhook POST {n}": got["raw"] for n, got in enumerate(hook.received)})
    return texts


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


def test_no_seeded_secret_reaches_any_output_of_a_run(suite, tmp_path, hook):
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [f"2026-01-01T00:00:{n:02d}Z ERROR upstream refused: {text} (tokens=5)" for n, (text, _) in enumerate(SEEDED)]
    (logs / "error.log").write_text("2026-01-01T00:00:00Z INFO started\n" + "\n".join(lines) + "\n")
    suite.config({"service": "shop", "root": str(tmp_path), "logs": {"error_log": "logs/error.log", "show_lines": 50},
                  "notify": {"webhook": hook.url(), "selections": ["postmaintenance"]}})
    out = tmp_path / "out"
    result = suite.run("-m", "postmaintenance", "-k", "errors or notified", "-rA", "-v", *FAST,
                       f"--junitxml={out / 'junit.xml'}", f"--textfile={out / 'metrics.prom'}", "--ignore-window",
                       "--approved-by", "Ada", "--reason", f"rotating keys, old api_key={REASON_SECRET}")
    assert result.ret == 1, result.stdout.str()
    texts = _every_output(suite, out, result, hook)
    written = {Path(name).name for name in texts}
    assert {"junit.xml", "metrics.prom", "ledger.jsonl"} <= written and len(hook.received) == 2, sorted(written)
    assert any("/.opsproof/" in name for name in texts), "the state dir was not written where the test looks"
    assert "ERROR upstream refused" in texts["stdout"] and "tokens=5" in suite.html(), "the lines are shown, masked"
    leaks = {secret: sorted(Path(name).name for name, text in texts.items() if secret in text)
             for secret in [*SECRETS, REASON_SECRET]}
    found = {secret: where for secret, where in leaks.items() if where}
    assert not found, json.dumps(found)


# Operator input with a line break (the rest would read as a header line of its own) and terminal escapes
# (set the window title, clear the screen): shown escaped, as one line, wherever it goes.
RAW_BY = "Ada\nopsproof: approved by the CTO"
RAW_REASON = "disk full\x1b]0;owned\x07\x1b[2J\rnow"
RAW_OPERATOR = "eve\nopsproof: operator root"
FAKE_LINES = ("opsproof: approved by the CTO", "opsproof: operator root")
SHOWN_BY, SHOWN_REASON = "Ada\\nopsproof: approved by the CTO", "disk full\\x1b]0;owned\\x07\\x1b[2J\\x0dnow"


def _raw_input_in(texts: dict[str, str]) -> dict[str, list[str]]:
    """Where a terminal escape arrived raw, or a line of its own starts with what followed a line break."""
    found = {name: [c for c in ("\x1b", "\x07") if c in text] for name, text in texts.items()}
    for name, text in texts.items():
        found[name] += [line for line in text.splitlines() if line.lstrip(" '\"").startswith(FAKE_LINES)]
    return {name: what for name, what in found.items() if what}


def test_operator_input_is_shown_escaped_in_the_terminal_report_notices_and_ledger(suite, tmp_path, hook):
    suite.config({"service": "shop", "root": ".", "rollback_plan": "rollback.md", "notify": {"webhook": hook.url()}})
    (suite.path / "rollback.md").write_text("# Rollback\nRestore the last backup.\n")
    out = tmp_path / "out"
    result = suite.run("-m", "premaintenance", "-k", "team or rollback", "-v", *FAST, "--ignore-window",
                       "--approved-by", RAW_BY, "--reason", RAW_REASON, f"--junitxml={out / 'junit.xml'}",
                       env={"OPSPROOF_OPERATOR": RAW_OPERATOR})
    assert result.ret == 0, result.stdout.str()
    texts = _every_output(suite, out, result, hook)
    assert _raw_input_in(texts) == {}
    approval = suite.summary()["approval"]
    assert (approval["by"], approval["reason"]) == (SHOWN_BY, SHOWN_REASON)
    ledger_line = json.loads((suite.reports / "ledger.jsonl").read_text().splitlines()[-1])
    assert ledger_line["approval"] == approval and ledger_line["operator"] == "eve\\nopsproof: operator root"
    start = hook.received[0]["json"]
    assert start["approval"] == approval and f"approved by {SHOWN_BY}: {SHOWN_REASON}" in start["text"]
    assert f"approved by {SHOWN_BY} at" in result.stdout.str() and SHOWN_BY.replace("\\", "\\\\") in suite.html()


def test_an_acknowledgement_shows_who_and_why_escaped_in_the_terminal_state_and_ledger(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "error.log").write_text("ERROR payment gateway refused\n")
    config = tmp_path / "maintenance.yaml"
    config.write_text(f"service: ack-test\nroot: {tmp_path}\nlogs: {{error_log: logs/error.log}}\n")
    done = subprocess.run([sys.executable, "-m", "opsproof.cli", "ack", "errorlog", "--by", RAW_BY, "--reason",
                           RAW_REASON, f"--maint-config={config}"], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    texts = {"stdout": done.stdout, "stderr": done.stderr}
    texts.update({str(p): p.read_text() for root in ("reports", ".opsproof") for p in (tmp_path / root).rglob("*")
                  if p.is_file()})
    assert _raw_input_in(texts) == {}
    line = json.loads((tmp_path / "reports" / "ledger.jsonl").read_text().splitlines()[-1])
    assert (line["operator"], line["ack"]["reason"]) == (SHOWN_BY, SHOWN_REASON)
    assert f"by {SHOWN_BY}; recorded in" in done.stdout
