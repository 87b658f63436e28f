"""Health endpoints: every configured endpoint answers as expected, in time."""
import pytest

pytestmark = [pytest.mark.daily, pytest.mark.postmaintenance, pytest.mark.postdeploy]


def test_endpoint_healthy(health, endpoint, evidence):
    """Each health endpoint answers with the expected status and body (health[].status, json, contains)."""
    assert health.error is None, f"{health.name} ({health.url}): {health.error} after {health.attempts} attempt(s)"
    assert not health.problems, (f"{health.name} ({health.url}) answered but is not healthy: "
                                 + "; ".join(health.problems) + f" — body: {health.body_excerpt[:200]!r}")
    evidence.compare(f"{health.name} latency", health.latency_ms, "<=", endpoint.setting("max_latency_ms"), unit=" ms",
                     hint="the endpoint answers, but slowly: look at load and dependencies")
