"""The pre- and post-maintenance checklists' own decisions, beside what they measure (maintenance.py: the start and
the errors since; attest.py: attestations and the docs' history): what each item reads from the config, and why
one does not apply. Pure: config sections and records in, an endpoint, tasks and one-line reasons out.
"""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Optional

from ..config import Docs, Endpoint, Maint, Monitoring
from .approval import TASK as EMERGENCY_APPROVAL
from .maintenance import Reference


def start_skipped(maint: Maint) -> Optional[str]:
    """Why the premaintenance run records no start (nothing is counted from it); None when it records one."""
    if maint.logs is None and maint.docs is None:
        return f"no logs or docs section in {os.path.basename(maint.path)}: nothing is counted from the start"
    return None


def plan_skipped(maint: Maint) -> Optional[str]:
    """Why the rollback plan is not checked: the config names none."""
    return f"no rollback_plan in {os.path.basename(maint.path)}" if maint.rollback_plan is None else None


def errors_skipped(reference: Reference) -> Optional[str]:
    """Why errors since the start are not counted (no start, no window): the since-last-run check counts them."""
    if reference.kind == "none":
        return f"{reference.detail}: errors are counted since the last run by test_no_new_errors"
    return None


def monitoring_endpoint(monitoring: Monitoring) -> Endpoint:
    """The monitoring system's readiness URL (e.g. Prometheus /-/ready) as a health endpoint: answering within its
    timeout is fast enough."""
    return Endpoint(url=monitoring.url, name="monitoring", status=monitoring.status, contains=monitoring.contains,
                    timeout_s=monitoring.timeout_s, max_latency_ms=monitoring.timeout_s * 1000)


def known_tasks(maint: Maint) -> set[str]:
    """The attested tasks the config knows (a record of another task is bad): attestations.tasks, the docs' task, and
    --ignore-window's emergency approval."""
    tasks = set(maint.attestations.tasks) if maint.attestations else set()
    return tasks | ({maint.docs.task} if maint.docs else set()) | {EMERGENCY_APPROVAL}


def docs_period(docs: Docs) -> timedelta:
    """How old the docs' review (a commit, or an attestation of docs.task) may be: docs.max_age_days."""
    return timedelta(days=docs.max_age_days)
