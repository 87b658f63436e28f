"""The console command's usage errors exit 4, the status the README gives bad usage (argparse's own is 2)."""
from __future__ import annotations

import subprocess
import sys

import pytest


def _opsproof(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "opsproof.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, said", [
    (["frobnicate"], "opsproof: error: argument command: invalid choice: 'frobnicate'"),
    (["ack", "errorlog"], "opsproof ack: error: the following arguments are required: --reason"),
    (["ack", "everything", "--reason", "x"], "opsproof ack: error: argument what: invalid choice: 'everything' "
                                             "(choose from 'errorlog')"),
    (["schedule"], "opsproof schedule: error: one of the arguments"),
    (["verify-ledger", "--no-such-option"], "opsproof: error: unrecognized arguments: --no-such-option"),
])
def test_a_usage_error_exits_4_with_one_line_saying_what_is_wrong(args, said):
    done = _opsproof(*args)
    assert done.returncode == 4, done
    assert done.stdout == "" and "Traceback" not in done.stderr, done
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1 and errors[0].startswith(said), done.stderr
    assert done.stderr.startswith("usage: opsproof"), done.stderr   # the usage line first, as argparse prints it


@pytest.mark.parametrize("args", [["--help"], ["ack", "--help"], ["--version"]])
def test_help_and_version_still_exit_0(args):
    done = _opsproof(*args)
    assert done.returncode == 0 and done.stdout.startswith(("usage: opsproof", "opsproof ")), done
