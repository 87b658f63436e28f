"""The update-dependencies action: `npm update` within the ranges package.json allows, then the audit and the
health checks again (at each endpoint's URL for the target: opsproof/system/health_url.py); a failed health check
restores the saved manifest and lockfile and reinstalls them. Without a health: section nothing could say an update
may stay, so none is made."""
from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..config.security import NpmAudit
from ..hosts.target import Target, TargetError
from ..system.health_url import problems as health_problems
from .npm import fetch_options, npm_audit, npm_outdated

SAVED = ("package.json", "package-lock.json")


@dataclass
class UpdateResult:
    dir: str
    mode: str = "plan"                                # plan | apply
    planned: list[str] = field(default_factory=list)  # "name current -> wanted" within the manifest's ranges
    held_back: list[str] = field(default_factory=list)  # newer majors the ranges do not allow: a manual change
    saved_to: str = ""
    steps: list[str] = field(default_factory=list)    # what was run, in order, with its outcome
    audit_after: dict[str, int] = field(default_factory=dict)
    health_after: list[str] = field(default_factory=list)  # problems seen by the health checks after the update
    rolled_back: bool = False
    error: Optional[str] = None


def plan_update(target: Target, directory: str, timeout_s: float) -> UpdateResult:
    result = UpdateResult(directory)
    outdated = npm_outdated(target, directory, timeout_s)
    if outdated.error:
        result.error = f"{outdated.error} — {outdated.fix}" if outdated.fix else outdated.error
        return result
    for p in outdated.packages:
        if p.wanted and p.wanted != p.current:
            result.planned.append(f"{p.package} {p.current} -> {p.wanted}")
        if p.latest and p.latest != p.wanted:
            result.held_back.append(f"{p.package} {p.wanted or p.current} (latest {p.latest}: outside the range "
                                    "in package.json)")
    return result


def planned(plan: UpdateResult) -> str:
    """What the action would do, for a run that only plans."""
    held = f"; newer majors held back by package.json: {', '.join(plan.held_back)}" if plan.held_back else ""
    return (f"plan only (no --apply, in the window or with --ignore-window): npm update would change "
            f"{', '.join(plan.planned) or 'nothing'}{held}")


def update_dependencies(target: Target, maint: Any) -> UpdateResult:
    """The action, once the gate let it act: apply_update with the config's health checks as the gate that decides
    whether the update stays; refused (nothing changed) when the config has no health: section."""
    cfg = maint.dependencies.npm_outdated
    if not maint.health:
        return UpdateResult(cfg.dir, mode="apply", error=(
            f"update-dependencies keeps an update only if the health checks pass, and {os.path.basename(maint.path)} "
            "has no health: section: nothing was changed — add the service's health endpoints"))
    return apply_update(target, cfg.dir, maint.work_dir, cfg.timeout_s, maint.root, maint.dependencies.after_update,
                        lambda: health_problems(maint.health, target, maint.health_concurrency))


def _step(target: Target, result: UpdateResult, what: str, command: str, *args: object) -> bool:
    try:
        run = target.run(command, *args, check=False)
    except TargetError as exc:
        result.steps.append(f"{what}: {exc}")
        return False
    tail = (run.stderr or run.stdout).strip().splitlines()[-1:] if run.rc else []
    result.steps.append(f"{what}: " + ("ok" if run.rc == 0 else f"exited {run.rc}: {' '.join(tail)[:300]}"))
    return run.rc == 0


def apply_update(target: Target, directory: str, work_dir: str, timeout_s: float, root: str,
                 after_update: Optional[str], health: Callable[[], list[str]]) -> UpdateResult:
    """Save, update, (restart), audit, health-check; on failed health restore, reinstall, (restart), re-check."""
    result = plan_update(target, directory, timeout_s)
    result.mode = "apply"
    if result.error:
        return result
    result.saved_to = posixpath.join(work_dir, "update-dependencies")
    saved = [n for n in SAVED if target.stat(posixpath.join(directory, n)).exists]
    copy = " && ".join("cp -p %s %s" for _ in saved)
    pairs = [a for n in saved for a in (posixpath.join(directory, n), posixpath.join(result.saved_to, n))]
    if not _step(target, result, f"save {', '.join(saved)} to {result.saved_to}",
                 "mkdir -p %s && " + copy, result.saved_to, *pairs):
        result.error = "could not save the lockfile before updating: nothing was changed"
        return result
    fetch = fetch_options(timeout_s)
    updated = _step(target, result, "npm update", f"cd %s && npm update {fetch}", directory)
    if updated and after_update:
        updated = _step(target, result, f"after_update: {after_update}", "cd %s && sh -c %s", root, after_update)
    if updated:
        audit = npm_audit(target, NpmAudit(dir=directory, timeout_s=timeout_s))
        result.audit_after = audit.counts
        result.steps.append(f"npm audit after the update: {audit.error or (audit.counts or 'no findings')}")
        result.health_after = health()
        result.steps.append("health after the update: " + ("; ".join(result.health_after) or "ok"))
        if not result.health_after:
            return result
    result.rolled_back = True
    restore = " && ".join("cp -p %s %s" for _ in saved)
    back = [a for n in saved for a in (posixpath.join(result.saved_to, n), posixpath.join(directory, n))]
    ok = _step(target, result, "restore the saved lockfile", restore, *back)
    ok = ok and _step(target, result, "reinstall it (npm ci)", f"cd %s && npm ci {fetch}", directory)
    if ok and after_update:
        ok = _step(target, result, f"after_update: {after_update}", "cd %s && sh -c %s", root, after_update)
    problems = health()
    result.steps.append("health after the rollback: " + ("; ".join(problems) or "ok"))
    if not updated:
        result.error = "npm update failed; the saved lockfile was restored and reinstalled"
    if not ok:
        result.error = (result.error or "") + "; the rollback itself failed: see steps"
    return result
