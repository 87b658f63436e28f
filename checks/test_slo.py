"""SLOs: the guide's weekly `check_slo_status.sh`, "SLOs met" after maintenance, the post-deploy burn gate, the quarterly review."""
import pytest


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.postmaintenance
def test_objective_met(slo_status, objective, evidence):
    """Each SLO is met over its rolling window: good requests / all requests >= slo.objectives[].target."""
    evidence.require(slo_status.error is None, f"{slo_status.error} (slo.source)")
    what = "requests answered without a server error" if objective.sli == "availability" else \
        f"requests answered within {objective.threshold_ms:g} ms"
    evidence.compare(f"{objective.name}: {what} over {slo_status.window} ({slo_status.measured})",
                     slo_status.sli_percent, ">=", objective.setting("target"), unit=" %",
                     hint=f"{slo_status.bad:g} bad requests spent {100 - (slo_status.budget_remaining_percent or 0):.0f} % "
                          f"of the error budget; find what failed in that window before more changes go out")


@pytest.mark.postdeploy
def test_no_fast_burn(slo_burn, burn_alert, evidence):
    """No page-level error-budget burn is firing (SRE Workbook 1h/5m and 6h/30m alerts, scaled to the SLO window)."""
    evidence.require(slo_burn.error is None, f"{slo_burn.error} (slo.source)")
    (alert,) = slo_burn.numbers
    name = burn_alert.objective.name
    evidence.within(f"{name}: {alert['alert']} burn rate (lower of long and short window)",
                    min(alert["long_burn"], alert["short_burn"]), "<", alert["factor"],
                    f"{burn_alert.objective.setting('window').key} (SRE Workbook page factor)",
                    hint="the deploy is burning error budget fast: roll back or fix now")


@pytest.mark.weekly
def test_performance_report(slo_performance, maint, evidence):
    """Weekly performance report: request rate, 5xx rate and p50/p95/p99 latency per day, from the SLO source."""
    evidence.require(slo_performance.error is None, f"{slo_performance.error} (slo.source)")
    evidence.compare(f"requests in {slo_performance.period}", slo_performance.requests, ">=",
                     maint.slo.setting("min_requests"),
                     hint=f"could not observe: no traffic in {slo_performance.source} — is it the right source?")


@pytest.mark.quarterly
def test_slo_review(slo_review, objective, evidence):
    """SLO review: each objective's attainment and error budget used over the last quarter, and whether its target fits."""
    evidence.require(slo_review.error is None, f"{slo_review.error} (slo.source)")
    evidence.compare(f"{objective.name}: attainment over the quarter", slo_review.attained_percent, ">=",
                     objective.setting("target"), unit=" %", hint=slo_review.hint)
