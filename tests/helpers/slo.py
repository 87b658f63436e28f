"""What the SLO tests configure and feed: objectives as maintenance.yaml lists them, a config with an `slo`
section, nginx access-log lines (with $request_time) at a chosen age; and an OpenSLO SLI/SLO pair."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

AVAILABILITY = {"name": "availability", "sli": "availability", "target": 99.0, "window": "30d"}
FAST = {"name": "fast-responses", "sli": "latency", "threshold_ms": 300, "target": 99.0, "window": "30d"}


def access_log_lines(n: int, status: int = 200, ago_s: float = 60, seconds: float = 0.02,
                     tz_hours: float = -7) -> str:
    """`n` identical nginx combined-format lines `ago_s` seconds old, each `status` and taking `seconds`."""
    at = datetime.fromtimestamp(time.time() - ago_s, timezone(timedelta(hours=tz_hours)))
    stamp = at.strftime("%d/%b/%Y:%H:%M:%S %z")
    return f'10.1.1.1 - - [{stamp}] "GET /a HTTP/1.1" {status} 99 "-" "probe" {seconds:.3f}\n' * n


def slo_config(root: Path, *objectives: dict, **source) -> dict:
    """A maintenance config (as a dict) whose `slo` reads `source` (default: logs/access.log under `root`)."""
    return {"service": "slo-test", "root": str(root),
            "slo": {"source": source or {"access_log": "logs/access.log"}, "objectives": list(objectives)}}


# An OpenSLO SLI (latency under 250 ms, computed by opsproof) and the SLO that references it.
OPENSLO_LATENCY = """\
apiVersion: openslo/v1
kind: SLI
metadata: {name: fast-enough}
spec:
  ratioMetric:
    counter: true
    good: {metricSource: {type: opsproof, spec: {sli: latency, threshold_ms: 250}}}
    total: {metricSource: {type: opsproof}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-latency}
spec:
  budgetingMethod: Occurrences
  timeWindow: [{duration: 1w, isRolling: true}]
  indicatorRef: fast-enough
  objectives: [{targetPercent: 99.5}]
"""
