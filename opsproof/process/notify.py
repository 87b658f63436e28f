"""Tell the team: a JSON POST to a webhook at the start and the end of a checklist run.

Who is told what, and when (the pytest wiring, engine/notify.py, only calls these):
- A run is notified when its -m expression names one of notify.selections (by default the two checklists:
  `selected`). The start notice goes out at session start; the premaintenance check "team notified" asserts it was
  accepted. The completion notice is sent by the postmaintenance check "team notified of completion", which runs
  last and reports the outcome of every other check; when no such check ran (a premaintenance run, or
  pytest-xdist), the controller sends it at the end of the session and prints the delivery. A webhook that fails
  or hangs costs at most notify.timeout_s and fails only the notify check. `not_sent` says why a run sends none.
- Every end notice says the run's verdict word as its report does (PASSED, FAILED, INCOMPLETE: opsproof/report/
  coverage.py), never one guessed from the counts: the completion check's notice the verdict of every other check
  with its own delivery counted as passed, the controller's the run's verdict. A start notice has none yet
  (`verdict: null`).
- A user-facing service (`user_facing: true`) with `notify.users` (a status page's hook) also tells its users, once
  each (`tells_users`): that maintenance has started when a run selects premaintenance (at its start), that it has
  ended when a run selects postmaintenance (with the team's completion notice, and that run's verdict word). Their
  body (`users_payload`) says only the service, the event, the time and the verdict — no hosts, checks or report
  names. The premaintenance check "users notified" asserts the users' start notice was accepted; for a service that
  is not user-facing it is not applicable (`users_not_told`).

The team's body is Slack-compatible (`text`, one line a person reads) and carries structured fields (`event`,
`service`, `selection`, `outcome`, `verdict`, `report`, `hosts`, `time`, and `approval` — who approved an emergency
run outside the window, why, when). A webhook that refuses, fails or hangs never crashes nor holds up the run: the
POST runs in a daemon thread bounded by timeout_s as a whole (connect, send, answer), and the outcome is a Delivery
record. Secrets are masked in every body before it leaves (`send` passes it through the run's Redactor), and the
evidence shows the webhook as scheme://host/… only — chat webhooks carry their token in the path.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from ..config import Maint
from ..config.expression import selects
from ..config.process import Notify, Webhook
from ..report.coverage import NOT_APPLICABLE, VERDICTS
from ..report.redact import Redactor, one_line
from ..report.run import RunRecord
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


def _verdict(event: str, verdict: Optional[str]) -> Optional[str]:
    """An end notice's verdict, checked (one of VERDICTS); a start notice has none yet."""
    if event == "start":
        return None
    if verdict not in VERDICTS:
        raise ValueError(f"an end notice needs the run's verdict, one of {VERDICTS}; got {verdict!r}")
    return verdict


def payload(event: str, service: str, selection: str, hosts: str, outcome: Optional[dict[str, int]] = None,
            report: str = "", apply: bool = False, approval: Optional[dict[str, str]] = None,
            verdict: Optional[str] = None) -> dict[str, Any]:
    """The JSON body: `text` for people (Slack, Mattermost, Teams' Slack mode), fields for machines. An end notice
    needs the run's `verdict` (passed, failed, incomplete) and says it as the report does."""
    what = f"-m {selection}" if selection else "all checks"
    verdict = _verdict(event, verdict)
    if verdict is None:
        text = f"{service}: maintenance run started on {hosts} ({what}{', applying actions' if apply else ''})"
        if approval:
            text += f" — emergency outside the window, approved by {approval['by']}: {approval['reason']}"
    else:
        text = f"{service}: maintenance run {verdict.upper()} on {hosts} ({what}): {outcome_text(outcome or {})}"
        text += f" — report {report}" if report else ""
    return {"text": one_line(text), "event": event, "service": service, "selection": selection, "hosts": hosts,
            "outcome": dict(outcome or {}), "verdict": verdict, "report": report, "apply": apply,
            "approval": approval, "time": _now()}


def users_payload(event: str, service: str, verdict: Optional[str] = None) -> dict[str, Any]:
    """The body for the users' hook (a status page): what users need to know, nothing of the run's insides; the
    end notice (sent by the postmaintenance run) carries that run's verdict word."""
    verdict = _verdict(event, verdict)
    text = f"{service}: maintenance has started" if verdict is None else \
        f"{service}: maintenance has ended (checks {verdict.upper()})"
    return {"text": text, "event": event, "service": service, "audience": "users", "verdict": verdict,
            "time": _now()}


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
    try:
        worker.start()
    except RuntimeError as exc:  # can't start new thread: the process's limit (address space, threads)
        delivery.error = f"not sent: {exc} — opsproof's own limit (ulimit -v or -u), not the webhook's"
        return delivery
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


def tells_users(selection: str, event: str) -> bool:
    """Users hear of maintenance once each way: its start from a premaintenance run, its end from a postmaintenance
    one (a run of both tells both, in order)."""
    return selects(selection, "premaintenance" if event == "start" else "postmaintenance")


def delivery_lines(start: Optional[Delivery], end: Optional[Delivery], users: Mapping[str, Delivery]) -> list[str]:
    """The run's notices as its terminal summary says them, one line each, in the order they went."""
    lines = []
    for label, item in (("start", start), ("end", end), ("users' start", users.get("start")),
                        ("users' end", users.get("end"))):
        if item is not None:
            result = f"HTTP {item.status}" if item.ok else f"FAILED: {item.error}"
            lines.append(f"opsproof: {label} notice to {item.webhook}: {result}")
    return lines


def selected(notify: Optional[Notify], run: RunRecord) -> bool:
    """Whether this run sends notices: its -m expression names one of notify.selections."""
    return notify is not None and any(run.selects(s) for s in notify.selections)


def not_sent(maint: Maint, run: RunRecord) -> Optional[str]:
    """Why this run sends no notice (the notify checks skip with it); None when it sends them."""
    if maint.notify is None:
        return f"no notify section in {os.path.basename(maint.path)}"
    if not selected(maint.notify, run):
        return (f"this run (-m {run.selection or '(none)'!r}) is not in notify.selections {maint.notify.selections}: "
                "no notice is sent")
    return None


def users_not_told(maint: Maint, run: RunRecord) -> Optional[str]:
    """Why this run's users get no start notice (the "users notified" check skips with it); None when they do."""
    file = os.path.basename(maint.path)
    if not maint.user_facing:
        return f"{NOT_APPLICABLE}: the service is not user-facing (user_facing is not true in {file}): users get no notice"
    why = not_sent(maint, run)
    if why is None and maint.notify.users is None:
        why = f"user_facing: true, but {file} has no notify.users webhook (a status page) to tell users through"
    return why


def users_hook(maint: Maint) -> Optional[Webhook]:
    """The users' hook (a status page) of a user-facing service; None for a service that is not one."""
    return maint.notify.users if maint.user_facing and maint.notify else None


@dataclass
class Notices:
    """A run's notices as sent so far: the team's start and end, the users' per event. `plain()` (the start notices)
    is what pytest-xdist's workers are handed, `of` reads it back; `lines()` is what the terminal summary says."""

    start: Optional[Delivery] = None
    end: Optional[Delivery] = None
    users: dict[str, Delivery] = field(default_factory=dict)

    @classmethod
    def of(cls, plain: Optional[Mapping[str, Any]]) -> "Notices":
        plain = plain or {}
        return cls(start=Delivery(**plain["start"]) if plain.get("start") else None,
                   users={event: Delivery(**sent) for event, sent in (plain.get("users") or {}).items()})

    def plain(self) -> dict[str, Any]:
        return {"start": asdict(self.start) if self.start else None,
                "users": {event: asdict(sent) for event, sent in self.users.items()}}

    def start_notice(self, users: bool = False) -> Delivery:
        """The start notice to the team (or to the users), or a "not sent" record when none went."""
        sent = self.users.get("start") if users else self.start
        return sent or Delivery("start", "", error="not sent")

    def lines(self) -> list[str]:
        return delivery_lines(self.start, self.end, self.users)


def send(maint: Maint, run: RunRecord, event: str, red: Redactor, notices: Notices, report: str = "",
         outcome: Optional[dict[str, int]] = None, verdict: Optional[str] = None) -> Delivery:
    """Send the team's notice of `event` and, first, the users' one when this run tells them of it (`tells_users`);
    both are kept in `notices`, the team's returned. Every body passes `red`: no secret leaves in a notice."""
    users = users_hook(maint)
    if users is not None and tells_users(run.selection, event):
        notices.users[event] = post(users.webhook, red.data(users_payload(event, run.service, verdict)),
                                    users.timeout_s, users.headers, "notify.users.timeout_s")
    body = payload(event, run.service, run.selection, run.hosts, outcome, report, run.apply, run.approval, verdict)
    team = post(maint.notify.webhook, red.data(body), maint.notify.timeout_s, maint.notify.headers)
    if event == "start":
        notices.start = team
    else:
        notices.end = team
    return team
