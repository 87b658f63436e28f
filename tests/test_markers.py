"""A green means all checked: a misspelt marker or an empty selection stops the run with exit 4, on any pytest."""
from __future__ import annotations

import pytest

from engine.selection import marker_words

DISK_OK = {"paths": ["/"], "max_used_percent": 100, "max_inodes_used_percent": 100}
KNOWN = "known markers: daily, weekly, monthly, quarterly, premaintenance, postmaintenance, postdeploy"


@pytest.mark.parametrize("expression, words", [
    ("daily", ["daily"]),
    ("not daily", ["daily"]),
    ("daily or weekley", ["daily", "weekley"]),
    ("(daily or weekly) and not(monthly)", ["daily", "weekly", "monthly"]),
    ("device(serial='a b', n=1) and daily", ["device", "daily"]),
])
def test_the_words_of_a_marker_expression(expression, words):
    assert marker_words(expression) == words


@pytest.mark.parametrize("expression, named", [
    ("weekley", "'weekley' is not a registered marker"),
    ("daily or weekley", "'weekley' is not a registered marker"),
    ("dayly and not weekley", "'dayly', 'weekley' are not registered markers"),
])
def test_an_unknown_marker_stops_the_run_naming_the_known_ones(suite, expression, named):
    suite.config({"service": "shop", "disk": DISK_OK})
    result = suite.run("-m", expression)
    assert result.ret == 4, result.stdout.str()
    err = result.stderr.str()
    assert named in err and KNOWN in err
    assert not list(suite.reports.glob("*.html")) and not (suite.reports / "ledger.jsonl").exists()


def test_a_negated_real_marker_still_runs(suite):
    suite.config({"service": "shop", "disk": DISK_OK})
    result = suite.run("-m", "not daily")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    tests = suite.summary()["tests"]
    assert tests and not any("test_disk" in t["id"] for t in tests)


def test_a_selection_of_no_check_exits_4(suite):
    suite.config({"service": "shop", "disk": DISK_OK})
    result = suite.run("-m", "daily", "-k", "no_check_is_called_this")
    assert result.ret == 4, result.stdout.str()
    err = result.stderr.str()
    assert "no check selected by -m 'daily' -k 'no_check_is_called_this'" in err and KNOWN in err
