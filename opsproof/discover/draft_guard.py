"""The sections that guard the service and the team's own: security, dependencies, config_audit, and the process
sections discovery cannot know (window, notify, docs, attestations), written commented out with what to add.
"""
from __future__ import annotations

from . import decide
from .certs import Certificate
from .draft_files import rel
from .procs import is_loopback
from .yamltext import Block, flow, item, pair


def _npm(survey: dict) -> tuple[str, str] | None:
    """(the folder holding package.json with its lockfile, relative to root; its lockfile), nearest the root first."""
    root = survey.get("root")
    found = [n for n in survey.get("found", {}).get("npm", []) if n["lockfile"]]
    found.sort(key=lambda n: (n["dir"].count("/"), n["dir"]))
    return (rel(found[0]["dir"], root), found[0]["lockfile"]) if found else None


def _tls(survey: dict, remote: bool, tls: dict[int, Certificate]) -> tuple[list[str], list[str]]:
    """(security.tls lines, what was found) for the service's ports that complete a TLS handshake (`tls`: their
    certificates, certs.of_ports)."""
    lines, notes = [], []
    for sock in survey.get("ports", []):
        if not sock.get("tls_der"):
            continue
        cert = tls[sock["port"]]
        local = is_loopback(sock["address"]) or not remote
        host = sock["connect"] if local else survey.get("hostname")
        days, why = decide.tls_days(cert.days_left)
        entry = {"host": host, "port": sock["port"], "min_days": days}
        note = why
        if cert.self_signed:
            note += "; self-signed: give ca_file (the CA that signed it) or the check fails on trust"
        lines.append(item(entry, note, 4))
        notes.append(f"port {sock['port']}: could not read its certificate: {cert.error}" if cert.error else
                     f"port {sock['port']}: {cert.subject}, issued by {cert.issuer}, expires {cert.not_after} "
                     f"({cert.days_left:g} days)")
    return lines, notes


def security(survey: dict, remote: bool, tls: dict[int, Certificate]) -> Block:
    root, found = survey.get("root"), survey.get("found", {})
    body, notes, missing = ["security:"], [], []
    npm = _npm(survey)
    if npm:
        body.append(pair("npm_audit", {"dir": npm[0], "fail_at": "high"}, f"package.json with {npm[1]}"))
        notes.append(f"package.json with {npm[1]} in {'the root' if npm[0] == '.' else npm[0]}")
    else:
        body.append("  # npm_audit: {dir: ., fail_at: high}   # no package.json with a lockfile found")
        missing.append("npm_audit")
    pinned = sorted((r for r in found.get("requirements", []) if r["pinned"]), key=lambda r: r["path"])
    if pinned:
        path = rel(pinned[0]["path"], root)
        body.append(pair("pip_audit", {"requirements": path, "fail_at": "high"},
                         f"{pinned[0]['pinned']} pinned requirement(s)"))
        notes.append(f"{path} with {pinned[0]['pinned']} pinned requirement(s)")
    else:
        names = ", ".join(rel(r["path"], root) for r in found.get("requirements", [])) or "no requirements file"
        body.append(f"  # pip_audit: {{requirements: requirements.txt, fail_at: high}}   # {names}: nothing pinned "
                    "with == to audit")
        missing.append("pip_audit")
    tls_lines, tls_notes = _tls(survey, remote, tls)
    if tls_lines:
        body += ["  tls:"] + tls_lines
        notes += tls_notes
    else:
        body.append("  # tls: [{host: example.com, port: 443, min_days: 30}]   # no port of the service speaks TLS")
    ports = sorted({s["port"] for s in survey.get("listening", [])})
    holders = "; ".join(f"{s['port']} {'/'.join(s['comms']) or '?'}" for s in survey.get("listening", []))
    body.append(pair("allowed_ports", ports, "every TCP port listening now: review, remove what should not be open"))
    text = (f"security (weekly audits; quarterly TLS and ports): dependency audits, certificate expiry, open ports. "
            f"Found: {'; '.join(notes) or 'no manifest, no TLS port'}. Listening now: {holders or 'nothing'}.")
    return Block("security", [text], body, summary=f"security: {', '.join(notes) or 'allowed_ports only'}")


def dependencies(survey: dict) -> Block:
    npm = _npm(survey)
    if not npm:
        return Block("dependencies", ["dependencies (weekly): no package.json with a lockfile found; pip_outdated reads "
                                      "the service's Python environment: add it with the interpreter it runs on."],
                     ["dependencies: {pip_outdated: {python: python3}, max_major_behind: 0}"], False,
                     "dependencies: left out (no package.json with a lockfile)")
    return Block("dependencies", [f"dependencies (weekly): packages trailing their latest major version. Found "
                                  f"package.json in {'the root' if npm[0] == '.' else npm[0]}."],
                 ["dependencies:", pair("npm_outdated", {"dir": npm[0]}),
                  pair("max_major_behind", 0, "the guide's policy: no package a major version behind")],
                 summary=f"dependencies: npm_outdated in {npm[0]}")


def config_audit(survey: dict) -> Block:
    root = survey.get("root")
    files = [rel(path, root) for path in survey.get("found", {}).get("configs", [])][:20]
    unit = (survey.get("unit") or {}).get("path")
    files += [unit] if unit else []
    found = f"Found {', '.join(files)}." if files else "No config file found."
    return Block("config_audit", [f"config_audit (monthly): config files match their recorded baseline. {found} Left "
                                  "commented: it needs a baseline first — enable it, then run `opsproof baseline "
                                  "--maint-config=THIS_FILE`."],
                 ["config_audit:", pair("files", files or ["config/*.yml"]), pair("baseline", "config.sha256"),
                  pair("forbid_world_readable", True)], False,
                 "config_audit: left out (needs `opsproof baseline` first)")


def team() -> list[Block]:
    """What no discovery can see: the maintenance window, notifications, docs review and attestations."""
    return [
        Block("window", ["window (premaintenance; gates disruptive actions): when maintenance may happen. The guide's: "
                         "the first Sunday of each month, 02:00-04:00."],
              [pair("window", {"rrule": "FREQ=MONTHLY;BYDAY=1SU", "start": "02:00", "duration": "2h",
                               "timezone": "UTC", "horizon": "7d"}, "", 0)], False,
              "window: left out (your team's decision)"),
        Block("notify", ["notify (premaintenance, postmaintenance): a webhook told when maintenance starts and ends."],
              [f"notify: {flow({'webhook': 'https://hooks.example.invalid/maintenance'})}"], False,
              "notify: left out (no webhook known)"),
        Block("docs", ["docs and attestations (monthly): documentation reviewed and the team trained, by a commit or "
                       "an attestation record."],
              ["docs: {dir: docs, max_age_days: 31}",
               "attestations: {file: attestations.yaml, tasks: {team-training: 31d, documentation-review: 31d}}"],
              False, "docs, attestations: left out (records your team keeps)"),
    ]
