"""Configuration audit (monthly): config files match their approved baseline and are not open to everyone."""
import pytest

pytestmark = [pytest.mark.monthly]


def test_config_matches_baseline(config_audit_result, evidence):
    """Every file under config_audit.files matches the baseline checksums: no file added, removed or changed."""
    result = config_audit_result
    evidence.require(result.error is None, f"{result.error}" + (f" — {result.fix}" if result.fix else ""))
    evidence.require(not result.unmatched, "config_audit.files audits nothing for: " + "; ".join(
        f"{p} matches no file" for p in result.unmatched) + " — fix the pattern, or remove it if the file is gone "
        "for good (and record the baseline again)")
    evidence.require(not result.drift, f"{len(result.drift)} configuration file(s) differ from the baseline "
                     f"{result.baseline} (config_audit.baseline): " + "; ".join(result.drift) + " — review the change; "
                     "once approved, record it with opsproof baseline --maint-config=PATH")


def test_config_permissions(config_audit_result, maint, evidence):
    """No config file is world-writable, nor world-readable when config_audit.forbid_world_readable is set."""
    result = config_audit_result
    evidence.require(result.error is None, f"{result.error}" + (f" — {result.fix}" if result.fix else ""))
    evidence.require(not result.world_writable, "world-writable configuration file(s): "
                     + ", ".join(result.world_writable) + " (config_audit.files) — chmod o-w them")
    if maint.config_audit.forbid_world_readable:
        evidence.require(not result.world_readable, "world-readable configuration file(s) "
                         "(config_audit.forbid_world_readable): " + ", ".join(result.world_readable)
                         + " — chmod o-r them")
