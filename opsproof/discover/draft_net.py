"""The sections about what the service answers: health, services, monitoring, slo (from its access log), security.

Health and TLS are probed by the suite from the machine running it: on a remote target, a port listening on loopback
only cannot be reached from there, so its endpoint is written with its loopback URL and a comment (the check skips it
for a remote host, saying why); a port listening on every address is written with `{host}`.
"""
from __future__ import annotations

from typing import Any, Optional

from ..config import inputs
from . import decide
from .certs import Certificate
from .draft_files import rel
from .procs import is_loopback
from .yamltext import Block, comment, item, pair

def _host(sock: dict, remote: bool) -> tuple[str, str]:
    """(the host part of a URL for this listener, a note when the suite cannot reach it from where it runs)."""
    if not remote:
        host = sock["connect"]
        return (f"[{host}]" if ":" in host else host), ""
    if is_loopback(sock["address"]):
        host = sock["connect"]
        return (f"[{host}]" if ":" in host else host), "listens on loopback only: skipped for a remote host"
    return "{host}", ""


def _json_subset(body: str, url: str) -> Optional[dict]:
    """{status: <value>} when the answer is a JSON object with a plain `status`, else None."""
    try:
        value = inputs.json_of(body.encode(), url)
    except inputs.InputError:
        return None
    if isinstance(value, dict) and isinstance(value.get("status"), (str, bool, int)):
        return {"status": value["status"]}
    return None


def health(survey: dict, remote: bool, tls: dict[int, Certificate]) -> Block:
    """`tls`: the ports' certificates (certs.of_ports)."""
    entries, found, silent = [], [], []
    service = survey.get("service") or "service"
    for sock in survey.get("ports", []):
        good = [a for a in sock["answers"] if "status" in a and 200 <= a["status"] < 300]
        if not good:
            silent.append(str(sock["port"]))
            continue
        answer = good[0]
        scheme = "https" if sock.get("tls_der") else "http"
        host, note = _host(sock, remote)
        url = f"{scheme}://{host}:{sock['port']}{answer['path']}"
        limit, why = decide.latency_limit(answer["latency_ms"])
        entry: dict[str, Any] = {"name": f"{service}-{sock['port']}", "url": url, "status": answer["status"]}
        subset = _json_subset(answer["body"], url)
        if subset:
            entry["json"] = subset
        entry.update(max_latency_ms=limit, timeout_s=5)
        if scheme == "https" and tls[sock["port"]].self_signed:
            entry["verify_tls"] = False
            note = (note + "; " if note else "") + "self-signed certificate: security.tls checks it"
        entries.append((entry, note, why))
        found.append(f"GET {answer['path']} on port {sock['port']} answered {answer['status']} in "
                     f"{answer['latency_ms']:g} ms ({answer['body'][:80]!r})")
    tried = "GET /health, /healthz, /status and /-/ready"
    if not entries:
        return Block("health", [f"health (daily, postmaintenance, postdeploy): {tried} on the service's ports "
                                f"({', '.join(silent) or 'none listening'}) found no endpoint answering 2xx. Add its "
                                "health URL."],
                     ["health:", "  - {name: api, url: \"http://127.0.0.1:8080/health\", status: 200, timeout_s: 5}"],
                     False, "health: left out (no health endpoint answered)")
    body = ["health:"]
    for entry, note, why in entries:
        body += comment(f"max_latency_ms: {why}", 2)
        body.append(item(entry, note))
    return Block("health", [f"health (daily, postmaintenance, postdeploy): each endpoint answers its status (and JSON) "
                            f"in time. {tried} on the service's ports: " + "; ".join(found) + "."], body,
                 summary=f"health: {', '.join(e['url'] for e, _, _ in entries)}")


def services(survey: dict) -> Block:
    procs = survey.get("processes", [])
    names = sorted({p["comm"] for p in procs})
    ports = sorted({s["port"] for p in procs for s in p["ports"]})
    unit = survey.get("unit") or {}
    where = f" It runs as the systemd unit {unit['name']}" + (f" ({unit['path']})." if unit.get("path") else ".") \
        if unit else ""
    return Block("services", [f"services (postmaintenance, postdeploy): the service's processes run and its ports "
                              f"listen. Found {len(procs)} process(es) named {', '.join(names)} (pids "
                              f"{', '.join(str(p['pid']) for p in procs)}), listening on {ports or 'no TCP port'}."
                              + where],
                 ["services:", pair("processes", names, "matched exactly on the process name (comm)"),
                  pair("ports", ports, "TCP, listening on any address")],
                 summary=f"services: {', '.join(names)} on {ports}")


def monitoring(survey: dict, remote: bool) -> Block:
    ready = []
    for sock in survey.get("monitoring", []):
        if any(a["path"] == "/-/ready" and a.get("status") == 200 for a in sock["answers"]):
            host, note = _host(sock, remote)
            ready.append((f"http://{host if host != '{host}' else survey.get('hostname')}:{sock['port']}/-/ready", note))
    if ready:
        url, note = ready[0]
        also = f"; also answering: {', '.join(u for u, _ in ready[1:])} — keep the one that watches this service" \
            if len(ready) > 1 else ""
        return Block("monitoring", [f"monitoring (premaintenance): the monitoring system answers before maintenance "
                                    f"starts. Found Prometheus: {url} answered 200{also}."],
                     ["monitoring:", pair("url", url, note), pair("timeout_s", 5)], summary=f"monitoring: {url}")
    return Block("monitoring", ["monitoring (premaintenance): no Prometheus answering /-/ready was found on this host. "
                                "Name the monitoring system that must be up before maintenance."],
                 ["monitoring: {url: \"http://127.0.0.1:9090/-/ready\"}"], False,
                 "monitoring: left out (no Prometheus /-/ready found)")


def rollback(survey: dict) -> Block:
    docs = survey.get("found", {}).get("docs", [])
    if docs:
        path = rel(sorted(docs, key=lambda d: ("rollback" not in d.lower(), d))[0], survey.get("root"))
        return Block("rollback_plan", [f"rollback_plan (premaintenance): the plan exists and is not empty. Found {path}."],
                     [pair("rollback_plan", path, "", 0)], summary=f"rollback_plan: {path}")
    return Block("rollback_plan", ["rollback_plan (premaintenance): no rollback or runbook document was found. Write "
                                   "one and name it."], ["rollback_plan: docs/rollback.md"], False,
                 "rollback_plan: left out (no rollback document)")


def slo(survey: dict) -> Block:
    logs = [log for log in survey.get("found", {}).get("logs", []) if log.get("attainment")]
    logs.sort(key=lambda log: (not log["held"], -log["attainment"]["total"]))
    if not logs or not logs[0]["attainment"]["total"]:
        what = "its access log has no request in the last 30 days" if logs else \
            "no access log in nginx/Apache combined format was found"
        return Block("slo", [f"slo (daily, weekly, quarterly, postmaintenance): {what}. Point it at an access log or a "
                             "Prometheus: an empty window fails as 'could not observe'."],
                     ["slo:", "  source: {access_log: logs/access.log}   # or {prometheus: \"http://127.0.0.1:9090\"}",
                      "  objectives:", "    - {name: availability, sli: availability, target: 99.0, window: 30d}"],
                     False, "slo: left out (no access log with traffic)")
    log, seen = logs[0], logs[0]["attainment"]
    target, why = decide.slo_target(seen["total"], seen["bad"])
    path = rel(log["path"], survey.get("root"))
    body = ["slo:", pair("source", {"access_log": path}), "  objectives:",
            *comment(f"target: {why}", 4),
            item({"name": "availability", "sli": "availability", "target": target, "window": "30d"}, "", 4)]
    if seen["with_duration"] == seen["total"]:
        body.append("    # - {name: fast-responses, sli: latency, threshold_ms: 300, target: 99.0, window: 30d}   "
                    "# every line carries $request_time: choose the threshold users notice")
    return Block("slo", [f"slo (daily, weekly, quarterly, postmaintenance): requests answered without a 5xx over a "
                         f"rolling 30 days. Found {path} in combined format: {seen['total']} requests in the last 30 "
                         f"days, {seen['bad']} of them 5xx."], body,
                 summary=f"slo: {path}, availability target {target:g} %")
