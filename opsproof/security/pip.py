"""Python packages on the target: pip-audit (its JSON: {"dependencies": [...], "fixes": [...]}) and
`pip list --outdated --format=json`, whose unreachable index would otherwise read as "nothing outdated"."""
from __future__ import annotations

import json
import re

from ..config.security import PipAudit, PipOutdated
from ..hosts.target import Target, TargetError
from .findings import AuditResult, Finding, counted, ordered
from .outdated import Outdated, OutdatedResult, major_behind
from .tool import ToolError, require, require_dir, require_file, run_json

PIP_AUDIT_FIX = "install pip-audit on the target (pip install pip-audit), or set security.pip_audit.command"
# pip -vv prints these for an index it could not read, and then reports that package as up to date.
_UNREACHABLE = re.compile(r"Could not fetch URL (\S+): (connection error|.*timed out|.*Max retries).*", re.I)


def _pip_audit_command(cfg: PipAudit) -> tuple[str, list[str]]:
    parts, args = [f"%s -f json --progress-spinner off --timeout {max(1, int(cfg.timeout_s))}"], [cfg.command]
    if cfg.requirements:
        parts.append("-r %s" + ("" if cfg.resolve else " --no-deps --disable-pip"))
        args.append(cfg.requirements)
    elif cfg.path:
        parts.append("--path %s")
        args.append(cfg.path)
    parts.append("-s %s")
    args.append(cfg.vulnerability_service)
    for option, value in (("--osv-url", cfg.osv_url), ("--index-url", cfg.index_url)):
        if value:
            parts.append(f"{option} %s")
            args.append(value)
    for ident in cfg.ignore_vulns:
        parts.append("--ignore-vuln %s")
        args.append(ident)
    return " ".join(parts), args


def pip_audit(target: Target, cfg: PipAudit) -> AuditResult:
    """The real pip-audit; it reports no severity, so each finding is "unknown" and fails every fail_at."""
    result = AuditResult("pip-audit", cfg.requirements or cfg.path or f"the environment of {cfg.command}")
    try:
        require(target, cfg.command, PIP_AUDIT_FIX)
        if cfg.requirements:
            require_file(target, cfg.requirements, "pip-audit has no requirements file",
                         "fix security.pip_audit.requirements (relative paths resolve against root)")
        if cfg.path:
            require_dir(target, cfg.path, "pip-audit environment")
        command, args = _pip_audit_command(cfg)
        data, result.command, stderr = run_json(target, command, *args, ok=(0, 1))
        if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
            raise ToolError(f"pip-audit answered without a dependencies list: {str(data)[:200]}")
        _audited_something(data["dependencies"], result.source)
    except ToolError as exc:
        result.error, result.fix = exc.reason, exc.fix or (
            "pin every requirement (==), e.g. with pip-compile or pip freeze, or set resolve: true"
            if "not pinned" in exc.reason else
            f"check that the vulnerability service ({cfg.vulnerability_service}) answers from the target")
        return result
    findings = []
    for dep in data["dependencies"]:
        if "skip_reason" in dep:
            result.ignored.append(f"{dep.get('name')}: skipped — {dep['skip_reason']}")
        for vuln in dep.get("vulns", []):
            ids = [vuln.get("id", "")] + [a for a in vuln.get("aliases", []) if a]
            fixes = vuln.get("fix_versions") or []
            findings.append(Finding(dep["name"], "unknown", f"{' / '.join(ids)}: {vuln.get('description', '')}"[:300],
                                    f"https://osv.dev/vulnerability/{ids[0]}", dep.get("version", ""),
                                    f"fix available: {', '.join(fixes)}" if fixes else "no fix available"))
    result.ignored += [f"{i}: ignored (security.pip_audit.ignore_vulns)" for i in cfg.ignore_vulns]
    result.findings = ordered(findings)
    result.counts = counted(result.findings)
    result.dependencies = len(data["dependencies"])
    return result


def _audited_something(dependencies: list, source: str) -> None:
    """ToolError when pip-audit checked no package: it says "No known vulnerabilities found" of nothing too."""
    skipped = [d for d in dependencies if "skip_reason" in d]
    if len(skipped) < len(dependencies):
        return
    why = (f"all {len(skipped)} skipped, e.g. {skipped[0].get('name')}: {skipped[0]['skip_reason']}" if skipped
           else "an empty requirements file, or an environment with nothing installed")
    raise ToolError(f"pip-audit audited no package in {source} ({why}): nothing was checked",
                    "point security.pip_audit at the service's pinned requirements or the environment it runs in")


def _unreachable(target: Target, command: str, args: list) -> tuple[object, list[str]]:
    """Run a pip command with -vv; ToolError naming a package page the index did not answer, else (run, lines)."""
    try:
        run = target.run(command, *args, check=False)
    except TargetError as exc:
        raise ToolError(str(exc), "raise command_timeout_s or find why the index does not answer") from exc
    lines = (run.stdout + "\n" + run.stderr).splitlines()
    unreachable = sorted({m.group(1) for line in lines if (m := _UNREACHABLE.search(line))})
    if unreachable:
        raise ToolError(f"the package index did not answer for {len(unreachable)} package page(s), e.g. "
                        f"{unreachable[0]} — pip would report those as up to date",
                        "check the index (pip config list; dependencies.pip_outdated.index_url) from the target")
    return run, run.stdout.splitlines()


def pip_outdated(target: Target, cfg: PipOutdated) -> OutdatedResult:
    """`pip list --outdated` of cfg.python's environment; an index it could not read is an error, not "none".

    One page is asked first (`pip index versions pip`): pip's timeout is per request and `pip list` asks one
    per installed package, so a silent index would otherwise take timeout_s times the packages to say so."""
    result = OutdatedResult("pip list --outdated", f"the environment of {cfg.python}")
    options = (f" --disable-pip-version-check -vv --retries 0 --timeout {max(1, int(cfg.timeout_s))}"
               + (" --index-url %s" if cfg.index_url else ""))
    command = "%s -m pip list --outdated --format=json" + options
    args = [cfg.python] + ([cfg.index_url] if cfg.index_url else [])
    result.command = command % tuple(args)
    try:
        require(target, cfg.python, f"install {cfg.python} on the target, or set dependencies.pip_outdated.python")
        _unreachable(target, "%s -m pip index versions pip" + options, args)
        run, lines = _unreachable(target, command, args)
        data = next((json.loads(line) for line in reversed(lines) if line.startswith("[")), None)
        if run.rc != 0 or data is None:
            raise ToolError(f"`{result.command}` exited {run.rc} without a JSON list: "
                            f"{(run.stderr or run.stdout).strip()[-300:]}")
    except ToolError as exc:
        result.error, result.fix = exc.reason, exc.fix
        return result
    for entry in data:
        latest = entry.get("latest_version", "")
        result.packages.append(Outdated(entry["name"], entry.get("version", ""), latest, latest,
                                        major_behind(entry.get("version", ""), latest)))
    return result
