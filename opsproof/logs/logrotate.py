"""logrotate's side of rotation: its config rendered from the policy, and its output read (what it decided, its
errors). It exits 0 after skipping a config, so its "error:" lines are what says it failed."""
from __future__ import annotations

from ..config import Rotate


def size_bytes(policy: Rotate) -> int:
    return max(1, int(policy.max_size_mb * 1024 * 1024))


def render(policy: Rotate, files: list[str], root: str, source: str = "") -> str:
    """logrotate's config for the policy (files are absolute paths, already matched)."""
    from ..config import logrotate_period

    body = [f"rotate {policy.keep}"]
    if policy.every:
        body += [logrotate_period(policy.every), f"maxsize {size_bytes(policy)}"]
    else:
        body.append(f"size {size_bytes(policy)}")
    body += ["missingok", "notifempty", "nodateext", "nomail", "noolddir"]
    if policy.copytruncate:
        body += ["copytruncate"] + (["compress"] if policy.compress else ["nocompress"])
    else:
        body.append("create")
        body += ["compress", "delaycompress"] if policy.compress else ["nocompress"]
    if policy.su:
        body.append(f"su {policy.su}")
    if policy.postrotate:
        script = [f"cd '{root}' || exit 1"] + policy.postrotate.splitlines()
        body += ["sharedscripts", "postrotate"] + [f"    {line}" for line in script] + ["endscript"]
    head = f"# rendered by opsproof from {source or 'logs.rotate'}; do not edit, it is rewritten on every run\n"
    names = " ".join(f'"{f}"' for f in files)
    return head + names + " {\n" + "".join(f"    {line}\n" for line in body) + "}\n"


def decisions(output: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("considering log "):
            current = line[len("considering log "):]
        elif current and line.startswith("log needs rotating"):
            out[current] = "needs rotating"
        elif current and line.startswith("log does not need rotating"):
            out[current] = line.replace("log does not need rotating", "not needed").strip()
    return out


def errors_in(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("error:")]
