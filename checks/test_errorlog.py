"""Error log: the guide's `tail -50 logs/error.log`, as new error lines since the last run."""
import pytest

pytestmark = [pytest.mark.daily, pytest.mark.postmaintenance, pytest.mark.postdeploy]


def test_no_new_errors(error_scan, maint, evidence):
    """No more lines matching logs.error_pattern were written to the error log since the last run than logs.max_new_errors."""
    assert error_scan.error is None, error_scan.error
    shown = "\n".join(error_scan.sample)
    evidence.compare(f"new error lines in {error_scan.path} ({error_scan.reference})", error_scan.matches, "<=",
                     "logs.max_new_errors",
                     hint=f"read them and fix the cause; the next run counts only lines written after this one\n{shown}")
