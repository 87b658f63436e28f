"""Dependency updates: outdated packages within the policy (weekly), the monthly update applied in the window."""
import pytest

from opsproof.security.outdated import OutdatedResult


def _policy(evidence, result: OutdatedResult, maint) -> None:
    __tracebackhide__ = True
    evidence.require(not result.error, f"{result.tool} on {result.source}: {result.error}"
                     + (f" — {result.fix}" if result.fix else ""))
    over = result.over(maint.dependencies.max_major_behind)
    evidence.compare(f"most major versions behind latest ({len(result.packages)} outdated packages)",
                     result.most_major_behind, "<=", maint.dependencies.setting("max_major_behind"),
                     hint="; ".join(p.line() for p in over[:20]) + " — plan the major upgrades")


@pytest.mark.weekly
def test_npm_outdated(npm_outdated_result, maint, evidence):
    """No npm dependency trails its latest release by more than dependencies.max_major_behind major versions."""
    _policy(evidence, npm_outdated_result, maint)


@pytest.mark.weekly
def test_pip_outdated(pip_outdated_result, maint, evidence):
    """No Python package trails its latest release by more than dependencies.max_major_behind major versions."""
    _policy(evidence, pip_outdated_result, maint)


@pytest.mark.monthly
def test_update_dependencies(dependency_update, evidence):
    """The monthly npm update is planned, or applied in the window and kept only if the health checks pass."""
    update = dependency_update
    evidence.require(update.error is None, f"the dependency update failed: {update.error}"
                     + (f" (steps: {'; '.join(update.steps)})" if update.steps else "")
                     + " — fix the cause, then run it again in the next window")
    evidence.require(not update.rolled_back, "the health checks failed after npm update ("
                     + "; ".join(update.health_after) + f"), so the saved lockfile was restored from {update.saved_to} "
                     "and reinstalled: " + "; ".join(update.steps) + " — find which update broke the service before "
                     "trying again")
