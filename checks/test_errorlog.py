"""Error log: the guide's `tail -50 logs/error.log`, as new error lines since the last run."""
import pytest

from opsproof.report.evidence import one_line

pytestmark = [pytest.mark.daily, pytest.mark.postmaintenance, pytest.mark.postdeploy]


def test_no_new_errors(error_scan, maint, evidence):
    """No more lines matching logs.error_pattern than logs.max_new_errors since this selection last passed or the errors were acknowledged."""
    evidence.require(error_scan.error is None, f"{error_scan.error} (logs.error_log)")
    evidence.require(not error_scan.unread, "; ".join(error_scan.unread) + " — read what is left of it by hand, then "
                     "`opsproof ack errorlog --reason TEXT` once the errors in it are handled")
    shown = " | ".join(one_line(line, 160) for line in error_scan.sample[:3])
    stay = ("the next run counts only lines written after this one" if maint.logs.since == "last_run" else
            "they stay counted until the cause is fixed and `opsproof ack errorlog --reason TEXT` acknowledges them")
    evidence.compare(f"new error lines in {error_scan.path} ({error_scan.reference})", error_scan.matches, "<=",
                     maint.logs.setting("max_new_errors"), hint=f"read them (the first: {shown}; all in the evidence) and fix the cause; {stay}")
