"""Signing the ledger's head line with the operator's SSH key (`ssh-keygen -Y`, namespace `opsproof`).

The head line chains every line before it, so its signature stands behind the whole ledger up to it.
`sign` writes `ledger.jsonl.sig`; `verify_signature` checks it against an allowed-signers file and says
who signed, or why the signature does not hold (unknown key, not the head line, no line at all);
`check_signature`, without such a file, only that it holds over the head line (and with which key).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from ..files import write_atomic

NAMESPACE = "opsproof"
TIMEOUT_S = 30
SEARCH_BACK = 100  # how many lines before the head check_signature tries, to say which line was signed


class SignError(RuntimeError):
    """ssh-keygen could not sign."""


def _lines(ledger: Path) -> list[bytes]:
    return [line for line in ledger.read_bytes().split(b"\n") if line.strip()]


def signature_path(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + ".sig")


def _keygen(args: list[str], data: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(["ssh-keygen", "-Y", *args], input=data, capture_output=True, timeout=TIMEOUT_S)


def sign(ledger: Path, key: Path) -> Path:
    """Sign the ledger's head line with `key` (a private key, or a public key whose private half is in the
    agent); the signature goes to ledger.jsonl.sig, written whole or not at all."""
    lines = _lines(ledger)
    if not lines:
        raise SignError(f"{ledger} has no line to sign")
    try:
        done = _keygen(["sign", "-n", NAMESPACE, "-f", str(key)], lines[-1])
    except (OSError, subprocess.SubprocessError) as exc:
        raise SignError(f"ssh-keygen: {exc}") from None
    if done.returncode != 0 or b"BEGIN SSH SIGNATURE" not in done.stdout:
        raise SignError(f"ssh-keygen -Y sign failed: {done.stderr.decode(errors='replace').strip()}")
    target = signature_path(ledger)
    return write_atomic(target, done.stdout)


def verify_signature(ledger: Path, allowed_signers: Path) -> tuple[bool, str]:
    """(True, who signed) when ledger.jsonl.sig is a signature over the head line by a key the allowed-signers
    file lists; (False, why not) otherwise."""
    sig = signature_path(ledger)
    if not sig.exists():
        return False, f"unsigned: no {sig.name} beside the ledger (opsproof sign-ledger --key KEY writes it)"
    try:
        found = _keygen(["find-principals", "-s", str(sig), "-f", str(allowed_signers)])
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"signature not checked: ssh-keygen: {exc}"
    principals = found.stdout.decode(errors="replace").split()
    if found.returncode != 0 or not principals:
        return False, f"signature: {sig.name} was made by a key {allowed_signers} does not list"
    lines = _lines(ledger)
    for number in range(len(lines), 0, -1):
        for principal in principals:
            done = _keygen(["verify", "-f", str(allowed_signers), "-I", principal, "-n", NAMESPACE, "-s", str(sig)],
                           lines[number - 1])
            if done.returncode != 0:
                continue
            if number == len(lines):
                return True, f"signed by {principal}: the head line ({number}) and every line it chains"
            return False, (f"signature: {principal} signed line {number}, not the head line ({len(lines)}); "
                           "the lines after it are not signed (run opsproof sign-ledger again)")
    return False, f"signature: {sig.name} matches no line of the ledger (the signed line was edited or removed)"


def check_signature(ledger: Path) -> tuple[bool, str]:
    """Without an allowed-signers file: (True, what holds) when ledger.jsonl.sig is a good signature over the head
    line (`ssh-keygen -Y check-novalidate`), whoever's key made it; (False, why not) otherwise — a signature over
    an earlier line (runs were appended after it), over no line (the signed line was edited or removed), or no
    signature at all. Who signed is only known with --allowed-signers."""
    sig = signature_path(ledger)
    if not sig.is_file():
        return False, f"unsigned: no {sig.name} beside the ledger (opsproof sign-ledger --key KEY writes it)"
    lines = _lines(ledger)
    for number in range(len(lines), max(len(lines) - SEARCH_BACK, 0), -1):
        try:
            done = _keygen(["check-novalidate", "-n", NAMESPACE, "-s", str(sig)], lines[number - 1])
        except (OSError, subprocess.SubprocessError) as exc:
            return False, f"signature not checked: ssh-keygen: {exc}"
        said = (done.stdout + done.stderr).decode(errors="replace")
        if done.returncode != 0:
            if "parse signature" in said or "sshsig_armor" in said:
                return False, f"signature: {sig.name} is not an SSH signature ({said.strip().splitlines()[0]})"
            continue
        key = said.split(" with ", 1)[-1].strip().splitlines()[0] if " with " in said else "an unknown key"
        if number == len(lines):
            return True, (f"signature holds over the head line ({number}), made with {key}; not checked against "
                          "an allowed-signers file (--allowed-signers FILE says whether a trusted key made it)")
        return False, (f"signature: {sig.name} signed line {number}, not the head line ({len(lines)}); the lines "
                       "after it are not signed (run opsproof sign-ledger again)")
    return False, (f"signature: {sig.name} matches neither the head line ({len(lines)}) nor a line before it (of "
                   f"the last {SEARCH_BACK}): the signed line was edited or removed")
