"""Tell the team: a JSON POST to a webhook at the start and the end of a checklist run.

The body is Slack-compatible (`text`, one line a person reads) and carries structured fields
(`event`, `service`, `selection`, `outcome`, `report`, `hosts`, `time`, and `approval` — who approved an
emergency run outside the window, why, when). Users of a user-facing service (a status page's hook) get
`users_payload`: the service, the event and the time only — no hosts, checks or report names. A webhook that refuses,
fails or hangs never crashes nor holds up the run: the POST runs in a daemon thread bounded by
timeout_s as a whole (connect, send, answer), and the outcome is a Delivery record. Secrets are
masked in the body before it leaves (the caller passes the run's Redactor), and the evidence
shows the webhook as scheme://host/… only — chat webhooks carry their token in the path.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import urlsplit

from ..report.summary import outcome_text

MARGIN_S = 0.5


@dataclass
class Delivery:
    event: str
    webhook: str                 # scheme://host/… (the path may be a token)
    status: Optional[int] = None
    elapsed_ms: Optional[float] = None
    error: Optional[str] = None
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


def shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}/…"


def payload(event: str, service: str, selection: str, hosts: str, outcome: Optional[dict[str, int]] = None,
            report: str = "", apply: bool = False, approval: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """The JSON body: `text` for people (Slack, Mattermost, Teams' Slack mode), fields for machines."""
    what = f"-m {selection}" if selection else "all checks"
    if event == "start":
        text = f"{service}: maintenance run started on {hosts} ({what}{', applying actions' if apply else ''})"
        if approval:
            text += f" — emergency outside the window, approved by {approval['by']}: {approval['reason']}"
    else:
        verdict = "FAILED" if (outcome or {}).get("failed") or (outcome or {}).get("error") else "passed"
        text = f"{service}: maintenance run {verdict} on {hosts} ({what}): {outcome_text(outcome or {})}"
        text += f" — report {report}" if report else ""
    return {"text": text, "event": event, "service": service, "selection": selection, "hosts": hosts,
            "outcome": dict(outcome or {}), "report": report, "apply": apply, "approval": approval, "time": _now()}


def users_payload(event: str, service: str) -> dict[str, Any]:
    """The body for the users' hook (a status page): what users need to know, nothing of the run's insides."""
    text = f"{service}: maintenance {'has started' if event == 'start' else 'has ended'}"
    return {"text": text, "event": event, "service": service, "audience": "users", "time": _now()}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def post(url: str, body: dict[str, Any], timeout_s: float, headers: Optional[dict[str, str]] = None,
         key: str = "notify.timeout_s") -> Delivery:
    """POST `body` as JSON; never raises, returns within timeout_s (+ a small margin); `key` names the timeout."""
    delivery = Delivery(event=str(body.get("event", "")), webhook=shown(url), text=str(body.get("text", "")))
    box: dict[str, Any] = {}
    data = json.dumps(body).encode()
    send_headers = {"Content-Type": "application/json", "User-Agent": "opsproof-notify", **(headers or {})}

    def call() -> None:
        import requests  # here: a run that posts nothing does not pay for importing it

        started = time.perf_counter()
        try:
            with requests.post(url, data=data, headers=send_headers, timeout=(timeout_s, timeout_s),
                               allow_redirects=False, stream=True) as resp:
                resp.raw.read(65536, decode_content=False)  # bounded: a chat hook answers "ok"
                box["status"] = resp.status_code
        except requests.RequestException as exc:
            box["error"] = f"{type(exc).__name__}: {_reason(exc, url)}"
        except Exception as exc:  # a broken webhook must never break the run
            box["error"] = f"{type(exc).__name__}: {exc}"
        box["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)

    worker = threading.Thread(target=call, name="opsproof-notify", daemon=True)
    worker.start()
    worker.join(timeout_s + MARGIN_S)
    if worker.is_alive():
        delivery.error = f"no answer within {key} = {timeout_s:g} s"
        delivery.elapsed_ms = round((timeout_s + MARGIN_S) * 1000, 1)
        return delivery
    delivery.status, delivery.elapsed_ms = box.get("status"), box.get("elapsed_ms")
    delivery.error = box.get("error")
    if delivery.error is None and not delivery.ok:
        delivery.error = f"the webhook answered HTTP {delivery.status}"
    if delivery.error and ("timed out" in delivery.error or "Timeout" in delivery.error):
        delivery.error = f"no answer within {key} = {timeout_s:g} s"
    return delivery


def _reason(exc: Exception, url: str) -> str:
    path = urlsplit(url).path
    text = str(exc).replace(path, "/…") if len(path) > 1 else str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "certificate verify failed", "Temporary failure in name resolution"):
        if marker in text:
            return marker
    return text[:200]
