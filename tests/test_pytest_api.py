"""pytest's private API, used in one guarded place (engine/pytest_api.py), still works on the installed pytest:
`-k` evaluated against an item. pyproject allows pytest>=9; CI runs this on the pytest it installs, so a pytest that
moved it fails here, named."""
from __future__ import annotations

import pytest

from engine.pytest_api import keyword_match

SOURCE = '''
import pytest

@pytest.fixture
def disk_usage():
    return 1

@pytest.mark.daily
def test_disk_space(disk_usage):
    pass
'''


def test_the_installed_pytest_is_one_pyproject_allows():
    assert int(pytest.__version__.split(".")[0]) >= 9, pytest.__version__


def test_a_k_expression_selects_as_minus_k_does(pytester: pytest.Pytester):
    item = pytester.getitems(SOURCE)[0]
    for pattern in ("disk", "DISK_space", "daily", "test_disk_space and not weekly", "disk or nothing"):
        assert keyword_match(pattern, item), pattern
    for pattern in ("weekly", "not disk", "backup"):
        assert not keyword_match(pattern, item), pattern
    with pytest.raises(SyntaxError):
        keyword_match("disk and", item)
    with pytest.raises(pytest.UsageError):
        keyword_match("daily(key=1)", item)  # -k refuses the call form when it evaluates one
