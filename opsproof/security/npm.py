"""npm on the target: `npm audit --json` (exit 1 when it finds something: data) and `npm outdated --json`."""
from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import unquote

from ..config.security import NpmAudit
from ..hosts.target import Target
from .findings import AuditResult, Finding, counted, ordered
from .outdated import Outdated, OutdatedResult, major_behind
from .tool import ToolError, require, require_dir, require_file, run_json

NPM_FIX = "install Node.js and npm on the target (npm ships with Node.js; e.g. apt-get install nodejs npm)"
LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json")
# `--loglevel=http` logs each request; npm outdated skips a package whose packument answers 404 or 403.
_SKIPPED = re.compile(r"^npm http fetch GET (40[34]) (\S+)", re.M)


def fetch_options(timeout_s: float) -> str:
    """npm's own bound on each registry request, without retries: the audit fails fast with npm's reason; no check
    for a newer npm (its request for the `npm` packument is not the project's)."""
    return f"--fetch-timeout={int(timeout_s * 1000)} --fetch-retries=0 --no-update-notifier"


def _prepare(target: Target, directory: str) -> None:
    require(target, "npm", NPM_FIX)
    require_dir(target, directory, "npm folder")
    require_file(target, posixpath.join(directory, "package.json"), "not an npm project",
                 "point dir at the folder holding package.json")


def _npm_error(data: Any) -> str:
    """npm's error object ({"error": {code, summary, detail}} or {"message", "error"}) as one line, else ''."""
    if not isinstance(data, dict) or "error" not in data:
        return ""
    err = data["error"] if isinstance(data["error"], dict) else {"summary": str(data["error"])}
    parts = [data.get("message", ""), err.get("code", ""), err.get("summary", ""), err.get("detail", "")]
    return " — ".join(" ".join(str(p).split()) for p in parts if p)


def npm_audit(target: Target, cfg: NpmAudit) -> AuditResult:
    """The real `npm audit --json` in cfg.dir; findings highest first. No lockfile: an error naming the fix."""
    result = AuditResult("npm audit", cfg.dir)
    try:
        _prepare(target, cfg.dir)
        if not any(target.stat(posixpath.join(cfg.dir, name)).exists for name in LOCKFILES):
            raise ToolError(f"npm audit needs a lockfile and {cfg.dir} has none (no package-lock.json)",
                            f"create it: cd {cfg.dir} && npm i --package-lock-only (and commit it)")
        omit = " --omit=dev" if cfg.omit_dev else ""
        data, result.command, _ = run_json(target, f"cd %s && npm audit --json{omit} {fetch_options(cfg.timeout_s)}",
                                           cfg.dir, ok=(0, 1))
        if _npm_error(data) or "vulnerabilities" not in data:
            raise ToolError(f"npm audit could not run: {_npm_error(data) or 'no vulnerabilities in its answer'}",
                            "check that the registry answers from the target (npm config get registry)")
    except ToolError as exc:
        result.error, result.fix = exc.reason, exc.fix
        return result
    deps = data.get("metadata", {}).get("dependencies", {})
    # A lockfile of no package is a project with no npm dependency (the example's): nothing vulnerable, and the
    # evidence says "0 packages audited". (pip differs: an empty requirements file says nothing of the environment.)
    result.dependencies = deps.get("total") if isinstance(deps, dict) else deps
    result.findings = ordered([_finding(name, entry) for name, entry in data["vulnerabilities"].items()])
    result.counts = counted(result.findings)
    return result


def _finding(name: str, entry: dict) -> Finding:
    """One package of npm audit's report: its own advisories (via objects) or the packages it pulls them from."""
    own = [v for v in entry.get("via", []) if isinstance(v, dict)]
    through = [v for v in entry.get("via", []) if isinstance(v, str)]
    title = "; ".join(sorted({v.get("title", "") for v in own if v.get("title")})) or \
        (f"depends on vulnerable {', '.join(through)}" if through else "advisory")
    url = " ".join(sorted({v.get("url", "") for v in own if v.get("url")}))
    fix = entry.get("fixAvailable")
    if isinstance(fix, dict):
        fix_text = f"fix available: {fix.get('name')}@{fix.get('version')}" + \
            (" (a major update)" if fix.get("isSemVerMajor") else "")
    else:
        fix_text = "fix available (npm audit fix)" if fix else "no fix available"
    return Finding(name, entry.get("severity", "unknown"), title, url, entry.get("range", ""), fix_text)


def npm_outdated(target: Target, directory: str, timeout_s: float) -> OutdatedResult:
    """The real `npm outdated --json` (exit 1 when anything is outdated); a package listed several times
    (several dependents) is one entry per location."""
    result = OutdatedResult("npm outdated", directory)
    try:
        _prepare(target, directory)
        data, result.command, stderr = run_json(
            target, f"cd %s && npm outdated --json --loglevel=http {fetch_options(timeout_s)}", directory, ok=(0, 1))
        if _npm_error(data):
            raise ToolError(f"npm outdated could not run: {_npm_error(data)}",
                            "check that the registry answers from the target (npm config get registry)")
        skipped = {unquote(url.rstrip("/").rsplit("/", 1)[-1]): f"{code} for {url}"
                   for code, url in _SKIPPED.findall(stderr)}
        if skipped:
            name = sorted(skipped)[0]
            raise ToolError(f"the registry has no {name} (HTTP {skipped[name]}) and npm outdated skips it, so it "
                            f"would read as up to date" + (f"; {len(skipped) - 1} more like it" if len(skipped) > 1
                                                           else ""),
                            "point the project at the registry that serves it (.npmrc; npm config get registry)")
    except ToolError as exc:
        result.error, result.fix = exc.reason, exc.fix
        return result
    for name, entries in sorted(data.items()):
        for entry in entries if isinstance(entries, list) else [entries]:
            current = entry.get("current") or ""
            result.packages.append(Outdated(
                name, current or "not installed", entry.get("wanted", ""), entry.get("latest", ""),
                major_behind(current or entry.get("wanted", ""), entry.get("latest", "")),
                entry.get("dependent", "")))
    return result
