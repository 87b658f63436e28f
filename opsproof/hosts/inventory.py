"""The hosts of a run: `--hosts` specs, Ansible inventory groups (`ansible://group`), `hosts:` groups in the config.

Built on testinfra rather than beside it. A plain spec goes through `testinfra.get_hosts`, exactly as testinfra's
plugin builds it. An inventory is read once by Ansible itself (`ansible-inventory -i FILE --list`, under a
timeout; testinfra would run it with none) and handed to testinfra's `AnsibleRunner`, whose own pattern
matching expands `ansible://web`; each inventory host then becomes the connection testinfra's ansible backend
would open for it (`get_ansible_host`: ansible_host, ansible_port, ansible_user, the key and ssh args), so its
test id can carry the address and port. A connection type testinfra cannot open directly stays an
`ansible://` host (Ansible runs its commands).
"""
from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Optional

from ..config import inputs
from .target import plain_id

ANSIBLE_PREFIX = "ansible://"
MAX_BYTES = 32 << 20   # `ansible-inventory --list` with every host's vars: 10 000 hosts at 3 KB each


class InventoryError(Exception):
    """The hosts cannot be known: no ansible-inventory, an unreadable inventory, a pattern matching nothing."""


@dataclass(frozen=True)
class Entry:
    """One host of the run before it is reached: what was written, and the inventory groups it belongs to."""

    name: str                          # the spec as written, or the inventory host name
    groups: tuple[str, ...] = ()       # its inventory groups, parents included
    inventory: Optional[str] = None    # the inventory file an ansible:// pattern took it from
    spec: str = ""                     # the spec or ansible:// pattern that brought it in


def _one_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
    detail = [line for line in lines if "Failed to parse" in line or ".ini:" in line or ".yml:" in line
              or ".yaml:" in line]
    return " ".join((errors + detail)[:3])[:500] or "no message"


def _bounded_run(argv: list[str], env: dict[str, str], timeout_s: float,
                 limit: int) -> tuple[Optional[int], bytes, bytes]:
    """Run a command: (exit status, stdout, stderr), stdout cut at `limit` + 1 bytes (the command is then killed:
    it is not read further), stderr kept in a file; exit status None when it outlasted `timeout_s` (killed)."""
    deadline = time.monotonic() + timeout_s
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, env=env)
        chunks, size = [], 0
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)
                while size <= limit:
                    left = deadline - time.monotonic()
                    if left <= 0 or not sel.select(left):
                        proc.kill()
                        proc.wait()
                        return None, b"", b""
                    chunk = os.read(proc.stdout.fileno(), min(1 << 20, limit + 1 - size))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            if size > limit:
                proc.kill()
            rc = proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None, b"", b""
        finally:
            proc.stdout.close()
        errors.seek(0)
        return rc, b"".join(chunks), errors.read(64 << 10)


def read_inventory(path: str, timeout_s: float) -> dict[str, Any]:
    """`ansible-inventory -i PATH --list` as JSON; InventoryError (one line) when it cannot be had."""
    exe = shutil.which("ansible-inventory")
    if exe is None:
        raise InventoryError("--ansible-inventory needs Ansible's ansible-inventory, which is not installed "
                             "(apt-get install ansible-core, or pip install ansible-core)")
    if not os.path.isfile(path):
        raise InventoryError(f"--ansible-inventory={path}: no such file")
    env = dict(os.environ, ANSIBLE_VERBOSITY="0", ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_UNPARSED_FAILED="1",
               ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1", ANSIBLE_DEPRECATION_WARNINGS="0")
    command = f"ansible-inventory -i {path} --list"
    rc, out, err = _bounded_run([exe, "-i", path, "--list"], env, timeout_s, MAX_BYTES)
    if rc is None:
        raise InventoryError(f"{command} did not finish within {timeout_s:g} s")
    if len(out) > MAX_BYTES:
        raise InventoryError(f"{command} printed more than {MAX_BYTES} bytes ({MAX_BYTES >> 20} MiB): not read "
                             "(an inventory script gone wrong? its host vars are read whole)")
    if rc != 0:
        raise InventoryError(f"ansible-inventory cannot read {path}: {_one_line(err.decode(errors='replace'))}")
    try:
        data = inputs.json_of(out, command)
    except inputs.InputError as exc:
        raise InventoryError(f"{command} did not print JSON: {exc.problem}") from None
    if not isinstance(data, dict):
        raise InventoryError(f"ansible-inventory -i {path} --list printed a JSON {type(data).__name__}")
    return data


def runner(path: str, inventory: dict[str, Any]) -> Any:
    """testinfra's AnsibleRunner for `path`, holding the inventory already read (it never runs the tool itself)."""
    from testinfra.utils.ansible_runner import AnsibleRunner

    found = AnsibleRunner.get_runner(path)
    found.__dict__["inventory"] = inventory   # functools.cached_property: the value it would have computed
    return found


def entries(specs: list[str], inventory_file: Optional[str], inventory: Optional[dict[str, Any]]) -> list[Entry]:
    """Each spec as one entry, each `ansible://pattern` as the inventory hosts it matches (none is an error)."""
    out: list[Entry] = []
    for spec in specs:
        if not spec.startswith(ANSIBLE_PREFIX):
            out.append(Entry(spec, spec=spec))
            continue
        if inventory_file is None or inventory is None:
            raise InventoryError(f"{spec} needs --ansible-inventory=FILE (the inventory that defines it)")
        pattern = spec[len(ANSIBLE_PREFIX):].split("?", 1)[0] or "all"
        ansible = runner(inventory_file, inventory)
        names = ansible.get_hosts(pattern) if any(True for _ in _hosts_of(inventory, "all")) else []
        if not names:
            groups = sorted(g for g in inventory if g != "_meta")
            raise InventoryError(f"{spec}: no group or host matches {pattern!r} in {inventory_file} "
                                 f"(its groups: {', '.join(groups) or 'none'})")
        for name in names:
            groups = tuple(g for g in sorted(inventory) if g != "_meta" and name in _hosts_of(inventory, g))
            out.append(Entry(name, groups, inventory_file, spec))
    unique: dict[tuple[str, Optional[str]], Entry] = {}
    for entry in out:
        unique.setdefault((entry.name, entry.inventory), entry)
    return list(unique.values())


def _hosts_of(inventory: dict[str, Any], group: str) -> set[str]:
    from testinfra.utils.ansible_runner import itergroup

    return set(itergroup(inventory, group))


def connect(entry: Entry, inventory: Optional[dict[str, Any]], timeout_s: float, options: dict[str, Any]) -> Any:
    """The testinfra host for an entry; `timeout_s` is its connect timeout unless the spec sets its own."""
    import testinfra
    from testinfra.utils.ansible_runner import get_ansible_host

    timeout = max(1, round(timeout_s))
    if entry.inventory is None:
        found = testinfra.get_hosts([entry.name or None], timeout=timeout, **options)
        if len(found) != 1:
            raise InventoryError(f"{entry.name}: names {len(found)} hosts; give one host per spec")
        return found[0]
    ansible = runner(entry.inventory, inventory or {})
    host = None
    if not options.get("force_ansible"):
        host = get_ansible_host(ansible.ansible_config, ansible.inventory, entry.name,
                                ssh_config=options.get("ssh_config"),
                                ssh_identity_file=options.get("ssh_identity_file"))
    if host is None:  # a connection testinfra cannot open itself: Ansible runs the commands
        return testinfra.get_host(ANSIBLE_PREFIX + entry.name, ansible_inventory=entry.inventory,
                                  force_ansible=True, ssh_config=options.get("ssh_config"))
    if hasattr(host.backend, "timeout"):
        host.backend.timeout = timeout   # get_ansible_host takes no timeout; ssh and paramiko read it per connection
    return host


def host_id(host: Any, entry: Entry) -> str:
    """The host's test id: testinfra's with the port (two sshd on one address must differ); an inventory host's
    name with the address and port it is reached at (`ansible://web1@10.0.0.5:2222`)."""
    backend = host.backend
    if entry.inventory is None or backend.NAME == "ansible":
        return plain_id(host)
    port = getattr(getattr(backend, "host", None), "port", None)
    address = "local" if backend.NAME == "local" else backend.get_hostname()
    return f"{ANSIBLE_PREFIX}{entry.name}@{address}" + (f":{port}" if port else "")
