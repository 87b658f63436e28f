"""A remote host's error log is scanned on that host: a real sshd on 127.0.0.1 (the `sshd` fixture).

Through both backends (the `ssh` command and paramiko) one scan is one shipped call (opsproof.hosts.ship:
scan_file runs in the target's python3): the log is never read over the channel, only new bytes are
read, rotation is followed, and a log of tens of MiB moves a few dozen KiB over SSH (counted by a relay).
"""
from __future__ import annotations

import os

import pytest

from helpers.relay import CountingRelay
from helpers.sshd import BACKENDS
from opsproof.hosts.target import Target
from opsproof.logs.scan import scan_errors


def _target(sshd, backend: str, monkeypatch) -> tuple[Target, list[str]]:
    """A remote target whose every command is recorded."""
    host = sshd.host(backend)
    commands: list[str] = []
    real_run = host.run

    def spy(command, *args, **kwargs):
        commands.append(command)
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(host, "run", spy)
    target = Target(host, 60)
    assert not target.is_local
    return target, commands


@pytest.mark.parametrize("backend", BACKENDS)
def test_remote_scan_runs_on_the_target_and_reads_only_new_bytes(sshd, tmp_path, backend, monkeypatch):
    """One shipped command per scan, no dd; from the stored offset on; an unfinished line waits for its newline."""
    log = tmp_path / "error.log"
    lines = [f"2026-01-01T00:00:{i % 60:02d}Z {'ERROR' if i % 97 == 0 else 'INFO'} request {i} " + "x" * (i % 50)
             for i in range(20000)]
    log.write_text("\n".join(lines) + "\n")
    target, commands = _target(sshd, backend, monkeypatch)
    first, ref = scan_errors(target, str(log), "ERROR", {})
    assert first.error is None, first.error
    assert first.matches == sum(1 for line in lines if "ERROR" in line)
    assert first.lines_read == len(lines)
    assert (ref["inode"], ref["offset"], ref["head_len"], ref["tail_len"]) == (log.stat().st_ino, log.stat().st_size,
                                                                               1024, 1024)
    assert len(commands) == 1 and "base64 -d" in commands[0] and "dd " not in commands[0], commands

    added = "2026-01-01T00:01:00Z ERROR disk on fire\n2026-01-01T00:01:01Z INFO fine\npartial ERROR line"
    with log.open("a") as fh:
        fh.write(added)
    second, ref2 = scan_errors(target, str(log), "ERROR", ref)
    complete = added[: added.rfind("\n") + 1]
    assert second.error is None, second.error
    assert (second.start_offset, second.bytes_read, second.matches, second.lines_read) == (ref["offset"], len(complete),
                                                                                           2, 2)
    assert second.sample == ["2026-01-01T00:01:00Z ERROR disk on fire", "partial ERROR line [last line, no newline "
                             "yet: the writer may have crashed]"]
    assert second.reference == f"since the last run (offset {ref['offset']})"
    assert ref2["offset"] == ref["offset"] + len(complete)
    with log.open("a") as fh:
        fh.write("\n")
    third, _ = scan_errors(target, str(log), "ERROR", ref2)
    assert (third.matches, third.bytes_read) == (0, len("partial ERROR line\n")), "the finished line, counted twice"
    assert len(commands) == 3, "one command per scan"


@pytest.mark.parametrize("backend", BACKENDS)
def test_remote_scan_follows_a_rotation_on_the_target(sshd, tmp_path, backend, monkeypatch):
    """The rotated sibling with the old inode is found and finished on the target, then the new file is read."""
    log = tmp_path / "app.log"
    log.write_text("ERROR before the last scan\n")
    target, _ = _target(sshd, backend, monkeypatch)
    first, ref = scan_errors(target, str(log), "ERROR", {})
    assert first.matches == 1, first
    with log.open("a") as fh:
        fh.write("ERROR after the scan, before rotation\n")
    os.rename(log, f"{log}.1")
    log.write_text("INFO new file\nERROR in the new file\n")
    scan, ref2 = scan_errors(target, str(log), "ERROR", ref)
    assert scan.error is None, scan.error
    assert scan.rotated_from == f"{log}.1"
    assert scan.sample == ["ERROR after the scan, before rotation", "ERROR in the new file"]
    assert (ref2["inode"], ref2["offset"]) == (log.stat().st_ino, log.stat().st_size)
    assert scan_errors(target, str(log), "ERROR", ref2)[0].matches == 0


def test_remote_missing_log_fails_and_keeps_the_reference(sshd, tmp_path, monkeypatch):
    target, _ = _target(sshd, "ssh", monkeypatch)
    before = {"inode": 7, "offset": 10}
    scan, ref = scan_errors(target, str(tmp_path / "nope.log"), "ERROR", before)
    assert scan.error == f"cannot read {tmp_path / 'nope.log'}: no such file"
    assert ref is before


def test_remote_log_of_48_mib_moves_kilobytes_over_ssh(sshd, tmp_path):
    """Every byte of the SSH session counted by a relay: handshake, shipped code and result stay under 256 KiB."""
    block = b"2026-01-01T00:00:00Z INFO request served in 12 ms path=/api/v1/items status=200\n" * 13000
    block += b"2026-01-01T00:00:01Z ERROR one per block\n"
    log = tmp_path / "big.log"
    with open(log, "wb") as fh:
        for _ in range(48):
            fh.write(block)
    size = log.stat().st_size
    relay = CountingRelay(sshd.port)
    try:
        sshd.add_host("opsproof-counted", "127.0.0.1", relay.port)
        host = sshd.host("ssh", alias="opsproof-counted")
        scan, _ = scan_errors(Target(host, 120), str(log), "ERROR", {})
        moved = relay.total
    finally:
        relay.close()
    assert scan.error is None, scan.error
    assert (scan.matches, scan.bytes_read) == (48, size)
    assert relay.to_server > 0 and relay.to_client > 0, "the session went through the relay"
    assert moved < 256 * 1024, f"{moved} bytes over ssh for a {size} byte log"
    print(f"{moved} bytes over ssh for a {size / 2**20:.0f} MiB log")


def test_relay_counts_what_it_passes(sshd, tmp_path):
    """The counter itself: a file read through the relayed session shows up in full."""
    data = tmp_path / "blob"
    data.write_bytes(os.urandom(300_000))
    relay = CountingRelay(sshd.port)
    try:
        sshd.add_host("opsproof-counted-cat", "127.0.0.1", relay.port)
        done = sshd.ssh(f"base64 -w0 {data}", alias="opsproof-counted-cat")
        moved = relay.to_client
    finally:
        relay.close()
    assert len(done.stdout.strip()) == 400_000
    assert moved > 400_000, moved
