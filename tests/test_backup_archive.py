"""Archive integrity (opsproof.backups.archive.verify) on real .tar.gz files: good ones pass, each damage fails with its reason."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import zlib
from pathlib import Path
from typing import Callable, Optional

import pytest

from helpers import require_tool
from opsproof.backups import archive
from opsproof.backups.archive import verify

ROOT = Path(__file__).resolve().parents[1]
INFLATERS = ["zlib", "isal"]   # isal is a dependency: without it the "isal" cases fail (result.inflater), never vanish
MEMBERS = {"zlib": lambda n: n, "isal": lambda n: None}  # igzip's reader does not say how many gzip members it read
DUMP = os.urandom(200_000) + b"orders " * 30_000   # some incompressible, some compressible bytes


def manifest_for(files: dict[str, bytes], **override) -> bytes:
    doc = {"format": 1, "engine": "sqlite", "source": "data/app.db", "created_at": "2026-11-26T02:00:00Z",
           "dump": "app.db", "tables": {"orders": 3},
           "members": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()]}
    doc.update(override)
    return json.dumps(doc).encode()


def tar_bytes(files: dict[str, bytes], manifest: Optional[bytes] = b"auto", manifest_first: bool = True,
              extra: Optional[Callable[[tarfile.TarFile], None]] = None, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    if manifest == b"auto":
        manifest = manifest_for(files)

    def add_manifest(tar):
        if manifest is not None:
            info = tarfile.TarInfo("MANIFEST.json")
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))

    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        if manifest_first:
            add_manifest(tar)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra:
            extra(tar)
        if not manifest_first:
            add_manifest(tar)
    return buf.getvalue()


def write_gz(path: Path, raw: bytes) -> Path:
    path.write_bytes(gzip.compress(raw, compresslevel=6, mtime=0))
    return path


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_gz(tmp_path / "daily_good.tar.gz", tar_bytes({"app.db": DUMP}))


def failed(path: Path, *needles: str, inflater: Optional[str] = None) -> str:
    result = verify(str(path), inflater=inflater)
    assert not result.ok, f"{path.name} passed: {result}"
    for needle in needles:
        assert needle in result.reason, f"{needle!r} not in the reason: {result.reason!r}"
    return result.reason


@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_good_archive_passes_with_its_manifest_facts(good: Path, inflater: str, monkeypatch):
    started = time.monotonic()
    result = verify(str(good), inflater=inflater)
    assert_time_spent(result.seconds, time.monotonic() - started)
    assert result.ok, result.reason
    monkeypatch.setattr(archive, "time", _Clock())
    assert verify(str(good), inflater=inflater) == archive.Verification(
        str(good), True, None, size=good.stat().st_size, uncompressed=result.uncompressed,
        gzip_members=MEMBERS[inflater](1), members=2, files_checked=1, engine="sqlite",
        created_at="2026-11-26T02:00:00Z", source="data/app.db", dump="app.db", tables={"orders": 3},
        inflater=inflater, seconds=0.25)
    assert (result.inflater, result.gzip_members, result.members, result.files_checked) == \
        (inflater, MEMBERS[inflater](1), 2, 1)
    assert result.uncompressed > len(DUMP) and result.size == good.stat().st_size
    assert (result.engine, result.dump, result.tables, result.created_at) == ("sqlite", "app.db", {"orders": 3},
                                                                               "2026-11-26T02:00:00Z")


def test_without_isal_zlib_reads_every_archive(good: Path, monkeypatch):
    """isal is optional (a remote target may lack it): asking for it then gets zlib, which counts the members."""
    monkeypatch.setattr(archive, "_READER", None)
    assert [archive.inflater_name(p) for p in (None, "zlib", "isal", "other")] == ["zlib"] * 4
    result = verify(str(good), inflater="isal")
    assert result.ok and (result.inflater, result.gzip_members) == ("zlib", 1), result
    monkeypatch.undo()
    assert [archive.inflater_name(p) for p in (None, "zlib", "isal", "other")] == ["isal", "zlib", "isal", "isal"]


class _Clock:
    """archive's `time` for a test: each look at the clock is a quarter of a second later."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        self.now += 0.25
        return self.now


def assert_time_spent(seconds: float, around: float) -> None:
    """The time a verification reports: in seconds, to the millisecond, within the time around the call."""
    assert isinstance(seconds, float) and seconds == round(seconds, 3) and 0 <= seconds <= around + 0.001, seconds


@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_failed_verification_carries_what_was_read(tmp_path: Path, inflater: str):
    """The evidence of a failure: the path, its size, how far the stream was read, the inflater, the time spent."""
    def record(path: Path, reason: str, **counts):
        started = time.monotonic()
        result = verify(str(path), inflater=inflater)
        assert_time_spent(result.seconds, time.monotonic() - started)
        with pytest.MonkeyPatch.context() as clock:
            clock.setattr(archive, "time", _Clock())      # no deadline: read at the start and at the end only
            assert verify(str(path), inflater=inflater) == \
                archive.Verification(str(path), False, reason, inflater=inflater, seconds=0.25, **counts)

    record(tmp_path / "missing.tar.gz", f"cannot read {tmp_path / 'missing.tar.gz'}: No such file or directory")
    (tmp_path / "empty.tar.gz").write_bytes(b"")
    record(tmp_path / "empty.tar.gz", "empty file (0 bytes): not a gzip stream")
    (tmp_path / "dir.tar.gz").mkdir()
    record(tmp_path / "dir.tar.gz", f"cannot read {tmp_path / 'dir.tar.gz'}: Is a directory",
           size=(tmp_path / "dir.tar.gz").stat().st_size)
    raw = tar_bytes({"app.db": DUMP})
    end = raw.find(b"app.db\x00") + 512 + len(DUMP)              # the dump's header, then its data
    cut = write_gz(tmp_path / "cut.tar.gz", raw[:end - 4096])
    record(cut, "tar stream ends inside member 'app.db' (4096 bytes missing)", size=cut.stat().st_size,
           uncompressed=end - 4096, members=2)


def test_manifest_last_and_long_names_in_both_tar_formats_pass(tmp_path: Path):
    long = "d/" + "x" * 150 + "/table.csv"
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        files = {"app.db": DUMP, long: b"a,b\n" * 100}
        link = lambda tar: tar.addfile(_link("alias.db", "app.db", tarfile.SYMTYPE))  # noqa: E731 - inside: fine
        path = write_gz(tmp_path / f"f{fmt}.tar.gz", tar_bytes(files, manifest_first=False, extra=link, fmt=fmt))
        result = verify(str(path))
        assert result.ok and result.files_checked == 2, result.reason


@pytest.mark.parametrize("inflater", INFLATERS)
def test_several_gzip_members_and_zero_padding_pass_as_gzip_readers_read_them(tmp_path: Path, inflater: str):
    """Zero padding after a member or between two is skipped, as gzip -t, pigz -t and tarfile (the drill) do."""
    raw = tar_bytes({"app.db": DUMP})
    half = len(raw) // 2
    path = tmp_path / "multi.tar.gz"
    path.write_bytes(gzip.compress(raw[:half]) + bytes(100) + gzip.compress(raw[half:]) + bytes(512))
    result = verify(str(path), inflater=inflater)
    assert result.ok and result.gzip_members == MEMBERS[inflater](2), result.reason
    assert result.uncompressed == len(raw) and result.files_checked == 1


@pytest.mark.parametrize("inflater", INFLATERS)
def test_last_four_bytes_cut_fails_where_a_tarfile_listing_passes(good: Path, inflater: str):
    data = good.read_bytes()
    good.write_bytes(data[:-4])
    with tarfile.open(good) as tar:  # the trap the issue names: the listing succeeds on the cut file
        assert "app.db" in tar.getnames()
    require_tool("gzip")
    assert subprocess.run(["gzip", "-t", str(good)], capture_output=True).returncode != 0  # gzip agrees it is cut
    assert failed(good, inflater=inflater) == ("truncated: the compressed stream ends before its end marker (gzip member "
                                               f"1, {good.stat().st_size} bytes read; a partial copy or a cut transfer)")


@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_cut_in_the_middle_fails(good: Path, inflater: str):
    good.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    failed(good, "truncated", inflater=inflater)


@pytest.mark.parametrize("inflater", INFLATERS)
def test_one_byte_flipped_in_the_middle_fails(good: Path, inflater: str):
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x01
    good.write_bytes(bytes(data))
    reason = failed(good, inflater=inflater)
    assert "CRC-32 mismatch" in reason or "corrupt compressed data" in reason, reason


@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_flipped_crc_in_the_trailer_fails_as_crc_mismatch(good: Path, inflater: str):
    data = bytearray(good.read_bytes())
    data[-6] ^= 0xFF  # inside the CRC-32 of the gzip trailer
    good.write_bytes(bytes(data))
    failed(good, "CRC-32 mismatch", inflater=inflater)


def test_zero_bytes_fails(tmp_path: Path):
    (tmp_path / "empty.tar.gz").write_bytes(b"")
    failed(tmp_path / "empty.tar.gz", "empty file (0 bytes)")


@pytest.mark.parametrize("inflater", INFLATERS)
def test_not_gzip_and_trailing_garbage_fail(tmp_path: Path, good: Path, inflater: str):
    raw = tar_bytes({"app.db": DUMP})
    (tmp_path / "plain.tar.gz").write_bytes(raw)
    assert failed(tmp_path / "plain.tar.gz", inflater=inflater) == \
        f"not gzip data at the start (starts with {raw[:8].hex()})"
    stream = good.read_bytes()
    for pad in (b"", bytes(3), bytes(700)):
        good.write_bytes(stream + pad + b"garbage after the stream")
        assert failed(good, inflater=inflater) == (f"not gzip data after gzip member 1, at byte {len(stream) + len(pad)} "
                                                   f"(starts with {b'garbage '.hex()}): trailing garbage")


def test_igzip_readers_own_words_when_a_decompressobj_finds_nothing(good: Path, monkeypatch):
    """Should the two ever disagree, the archive still fails, with the reader's reason."""
    data = bytearray(good.read_bytes())
    data[-6] ^= 0xFF
    good.write_bytes(bytes(data))
    monkeypatch.setattr(archive, "_inflate", lambda *a: (1, 0))
    assert failed(good, inflater="isal").startswith("corrupt compressed data: CRC check failed")


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _special(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info


@pytest.mark.parametrize("member, needle", [
    (lambda: _link("../evil", "", tarfile.REGTYPE), "climbs out with '..'"),
    (lambda: _link("data/../../evil", "", tarfile.REGTYPE), "climbs out with '..'"),
    (lambda: _link("/etc/cron.d/evil", "", tarfile.REGTYPE), "absolute path"),
    (lambda: _link("innocent", "../../etc/passwd", tarfile.SYMTYPE), "points outside"),
    (lambda: _link("innocent", "/etc/passwd", tarfile.SYMTYPE), "points outside"),
    (lambda: _link("sub/innocent", "../../x", tarfile.SYMTYPE), "points outside"),
    (lambda: _link("hard", "../outside", tarfile.LNKTYPE), "hard link"),
    (lambda: _special("dev/sda", tarfile.BLKTYPE), "device file"),
    (lambda: _special("dev/tty", tarfile.CHRTYPE), "device file"),
    (lambda: _special("pipe", tarfile.FIFOTYPE), "FIFO"),
], ids=["dotdot", "dotdot-inner", "absolute", "symlink-relative-out", "symlink-absolute", "symlink-nested-out",
        "hardlink-out", "block-device", "char-device", "fifo"])
def test_unsafe_members_fail(tmp_path: Path, member, needle: str):
    path = write_gz(tmp_path / "bad.tar.gz", tar_bytes({"app.db": DUMP}, extra=lambda tar: tar.addfile(member())))
    failed(path, needle)


def test_manifest_mismatches_fail(tmp_path: Path):
    files = {"app.db": DUMP}
    wrong_sha = json.loads(manifest_for(files))
    wrong_sha["members"][0]["sha256"] = "0" * 64
    wrong_size = json.loads(manifest_for(files))
    wrong_size["members"][0]["size"] += 1
    cases = {
        "sha": (tar_bytes(files, manifest=json.dumps(wrong_sha).encode()), "SHA-256"),
        "size": (tar_bytes(files, manifest=json.dumps(wrong_size).encode()), f"is {len(DUMP)} bytes; MANIFEST.json says"),
        "missing": (tar_bytes(files, manifest=manifest_for({**files, "other.db": b"x"})), "missing from the archive"),
        "unlisted": (tar_bytes({**files, "extra.bin": b"x"}, manifest=manifest_for(files)), "not listed in MANIFEST"),
        "no-manifest": (tar_bytes(files, manifest=None), "no MANIFEST.json"),
        "not-json": (tar_bytes(files, manifest=b"{not json"), "not valid JSON"),
        "format": (tar_bytes(files, manifest=manifest_for(files, format=2)), "format 2"),
        "no-tables": (tar_bytes(files, manifest=json.dumps({k: v for k, v in json.loads(manifest_for(files)).items()
                                                            if k != "tables"}).encode()), "lacks the 'tables' key"),
        "unsafe-listing": (tar_bytes(files, manifest=manifest_for({"../x": b""})), "unsafe name"),
    }
    for label, (raw, needle) in cases.items():
        failed(write_gz(tmp_path / f"{label}.tar.gz", raw), needle)


def test_damaged_tar_structure_fails(tmp_path: Path):
    raw = bytearray(tar_bytes({"app.db": DUMP}))
    header = raw.find(b"app.db\x00")      # the dump's own header (its name field is NUL-padded)
    broken = bytes(raw[:header]) + b"X" + bytes(raw[header + 1:])
    failed(write_gz(tmp_path / "checksum.tar.gz", broken), "damaged tar header", "bad checksum")
    whole = tar_bytes({"app.db": DUMP})
    failed(write_gz(tmp_path / "no-end.tar.gz", whole[:len(whole) - 10240]), "")
    failed(write_gz(tmp_path / "inside.tar.gz", whole[:header + 2048]), "ends inside member 'app.db'")
    end_cut = whole.rstrip(b"\0")
    end_cut += bytes(-len(end_cut) % 512)
    failed(write_gz(tmp_path / "no-marker.tar.gz", end_cut), "no end-of-archive marker")
    failed(write_gz(tmp_path / "after-end.tar.gz", whole + b"\x01" * 512), "after the tar end-of-archive marker")


def test_a_member_twice_fails(tmp_path: Path):
    def again(tar):
        info = tarfile.TarInfo("app.db")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    failed(write_gz(tmp_path / "dup.tar.gz", tar_bytes({"app.db": DUMP}, extra=again)), "appears twice")


def _many(n: int, manifest_first: bool, unlisted: Optional[str] = None) -> bytes:
    buf = io.BytesIO()
    entries = []
    for i in range(n):
        data = b"%d" % i
        entries.append({"name": f"t/{i:06d}", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    listed = [e for e in entries if e["name"] != unlisted]
    manifest = json.dumps({"format": 1, "engine": "sqlite", "source": "s", "created_at": "2026-11-26T02:00:00Z",
                           "members": listed, "tables": {}}).encode()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(manifest)
        if manifest_first:
            tar.addfile(info, io.BytesIO(manifest))
        for i in range(n):
            data = b"%d" % i
            member = tarfile.TarInfo(f"t/{i:06d}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        if not manifest_first:
            tar.addfile(info, io.BytesIO(manifest))
    return zlib.compress(buf.getvalue(), 1, wbits=31)


_MEASURE = """
import json, sys, time
sys.path.insert(0, %r)
from opsproof.backups.archive import verify
base = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
t0 = time.monotonic()
r = verify(sys.argv[1])
hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
print(json.dumps({"ok": r.ok, "reason": r.reason, "members": r.members, "seconds": time.monotonic() - t0,
                  "peak_mib": int(hwm) / 1024, "base_mib": int(base) / 1024}))
""" % str(ROOT)


@pytest.mark.slow
def test_100000_tiny_members_verify_in_bounded_memory(tmp_path: Path):
    """A fresh process (VmHWM is its own): pass with MANIFEST first; fail naming the member it does not list.
    No speed claim: the run's only time limit is the subprocess timeout, which catches a walk gone quadratic."""
    n = 100_000
    good = tmp_path / "many.tar.gz"
    good.write_bytes(_many(n, manifest_first=True))
    bad = tmp_path / "many-bad.tar.gz"
    bad.write_bytes(_many(n, manifest_first=False, unlisted="t/054321"))
    for path, ok in ((good, True), (bad, False)):
        out = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        measured = json.loads(out.stdout)
        assert measured["ok"] is ok, measured
        # Measured here: ~59 MiB with MANIFEST first (the backup action's order), ~77 MiB with it last.
        assert measured["peak_mib"] < 100, measured
        if not ok:
            assert "'t/054321' is in the archive but not listed in MANIFEST.json" in measured["reason"], measured


def test_memory_stays_bounded_on_a_highly_compressible_archive(tmp_path: Path):
    """64 MiB of zeros inflate 1000:1: chunks stay capped, so the inflated stream never sits in memory whole."""
    size = 64 << 20
    files = {"zeros.bin": bytes(size)}
    manifest = manifest_for(files, dump="zeros.bin")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        info = tarfile.TarInfo("zeros.bin")
        info.size = size
        tar.addfile(info, io.BytesIO(files["zeros.bin"]))
    path = tmp_path / "zeros.tar.gz"
    path.write_bytes(zlib.compress(buf.getvalue(), 9, wbits=31))
    del files, buf
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=300)
    measured = json.loads(out.stdout)
    assert measured["ok"], measured
    # Growth over the process's own peak after the imports (~6 MiB measured; the imports alone weigh more
    # under mutmut): half the inflated stream is well below it whole.
    assert measured["peak_mib"] - measured["base_mib"] < 32, measured


@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_deadline_stops_the_verification_with_a_reason(tmp_path: Path, good: Path, inflater: str):
    """zlib looks at the clock before each read; igzip's reader is stopped by the walker after its first buffer."""
    inflated = len(gzip.decompress(good.read_bytes()))         # less than one CHUNK: the reader's first buffer
    expected = {"zlib": "verification timed out at compressed byte 0",
                "isal": f"verification timed out after {inflated} inflated bytes"}
    assert verify(str(good), deadline=0.0, inflater=inflater).reason == expected[inflater]   # already past
    (tmp_path / "plain.tar.gz").write_bytes(b"not gzip" * 100)    # the reason for a failed read obeys it too
    assert verify(str(tmp_path / "plain.tar.gz"), deadline=0.0, inflater=inflater).reason == \
        "verification timed out at compressed byte 0"


def _members_and_garbage(read_size: int) -> tuple[bytes, int, bytes]:
    """Two gzip members, zero padding between them that ends on a read boundary (and is not empty)."""
    raw = tar_bytes({"app.db": DUMP})
    m1, m2 = gzip.compress(raw[:len(raw) // 2], mtime=0), gzip.compress(raw[len(raw) // 2:], mtime=0)
    pad = -len(m1) % read_size or read_size
    return m1 + bytes(pad), len(m1) + pad, m2


@pytest.mark.parametrize("inflater", INFLATERS)
@pytest.mark.parametrize("read_size, chunk", [(256 << 10, 1 << 20), (4096, 1000)])
def test_a_reason_names_the_gzip_member_and_where(tmp_path: Path, monkeypatch, inflater: str, read_size, chunk):
    """The compressed offset counts every member, the padding and each read; the same words for both inflaters."""
    monkeypatch.setattr(archive, "READ_SIZE", read_size)
    monkeypatch.setattr(archive, "CHUNK", chunk)
    first, second_at, m2 = _members_and_garbage(read_size)
    path = tmp_path / "bad.tar.gz"
    path.write_bytes(first + m2[:10] + b"\x07" + bytes(20))      # member 2: a deflate block of the reserved type
    assert failed(path, inflater=inflater) == (f"corrupt compressed data near byte {second_at} (gzip member 2): "
                                               "Error -3 while decompressing data: invalid block type")
    garbage = b"Xgarbage after the stream"
    path.write_bytes(first + m2 + bytes(3) + garbage)
    assert failed(path, inflater=inflater) == (f"not gzip data after gzip member 2, at byte {second_at + len(m2) + 3} "
                                               f"(starts with {garbage[:8].hex()}): trailing garbage")
    path.write_bytes(first + m2[:-1] + bytes([m2[-1] ^ 1]))      # ISIZE, the trailer's length, off by 2**24
    reason = failed(path, inflater=inflater)
    assert reason.startswith("gzip length check failed: the data is corrupted (gzip member 2, near compressed byte ")
    if read_size > len(first + m2):                               # read whole: member 2 inflated in one call
        assert reason.endswith(f"byte {second_at})")


def _big_archive(path: Path, random_mib: int = 4, zeros_mib: int = 32) -> bytes:
    files = {"random.bin": os.urandom(random_mib << 20), "zeros.bin": bytes(zeros_mib << 20)}
    raw = tar_bytes(files, manifest=manifest_for(files, dump="random.bin"))
    path.write_bytes(zlib.compress(raw, 6, wbits=31))
    return raw


@pytest.mark.parametrize("inflater", INFLATERS)
def test_memory_stays_bounded_in_process(tmp_path: Path, monkeypatch, inflater: str):
    """4 MiB that do not compress and 32 MiB of zeros (1000:1): a read and a chunk at a time, never a file whole."""
    import tracemalloc

    path = tmp_path / "big.tar.gz"
    raw = _big_archive(path)
    monkeypatch.setattr(archive, "READ_SIZE", 64 << 10)
    monkeypatch.setattr(archive, "CHUNK", 64 << 10)
    tracemalloc.start()
    try:
        result = verify(str(path), inflater=inflater)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.ok and result.uncompressed == len(raw), result.reason
    assert peak < 3 << 20, peak          # about ten 64 KiB pieces in flight; the file is 4 MiB, the zeros 32 MiB


class _SlowWalker(archive.TarWalker):
    """A walker busy for a while on its first piece (a loaded machine): the reader fills the queue meanwhile."""

    def feed(self, chunk) -> None:
        if not self.offset:
            time.sleep(0.6)               # longer than the reader's wait between looks at `stop`
        super().feed(chunk)


@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_failure_at_the_start_of_a_long_stream_stops_the_reader(tmp_path: Path, monkeypatch, inflater: str):
    """The walker fails on the first header while the reader waits on a full queue: it must notice and end."""
    import threading

    monkeypatch.setattr(archive, "TarWalker", _SlowWalker)
    monkeypatch.setattr(archive, "CHUNK", 4096)
    path = tmp_path / "bad.tar.gz"
    path.write_bytes(zlib.compress(b"X" * 512 + bytes(8 << 20), 1, wbits=31))
    assert failed(path, inflater=inflater).startswith("damaged tar header at tar byte 0: ")
    assert not [t for t in threading.enumerate() if t.name == "opsproof-inflate"]


@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_walker_slower_than_the_reader_loses_nothing(good: Path, monkeypatch, inflater: str):
    """While the walker is busy, the reader waits on a full queue or for a buffer: no piece is dropped."""
    monkeypatch.setattr(archive, "TarWalker", _SlowWalker)
    monkeypatch.setattr(archive, "CHUNK", 4096)
    result = verify(str(good), inflater=inflater)
    assert result.ok and result.uncompressed == len(gzip.decompress(good.read_bytes())), result.reason


@pytest.mark.parametrize("inflater", INFLATERS)
@pytest.mark.parametrize("read_size, chunk", [(1, 7), (3, 1000), (4096, 1), (100, 513), (1 << 16, 258)])
def test_any_read_and_chunk_size_reads_the_same_stream(tmp_path: Path, monkeypatch, inflater: str, read_size, chunk):
    """Reads cut anywhere (even inside the gzip header) and output held back mid-match must not change the verdict."""
    files = {"app.db": b"orders " * 3000 + os.urandom(300)}
    raw = tar_bytes(files)
    half = len(raw) // 3
    good = tmp_path / "small.tar.gz"
    good.write_bytes(gzip.compress(raw[:half]) + gzip.compress(raw[half:]) + bytes(7))
    # igzip's reader holds a whole gzip header (10 bytes here) in its input buffer: it refuses a smaller one.
    monkeypatch.setattr(archive, "READ_SIZE", read_size if inflater == "zlib" else max(read_size, 10))
    monkeypatch.setattr(archive, "CHUNK", chunk)
    result = verify(str(good), inflater=inflater)
    assert result.ok and result.gzip_members == MEMBERS[inflater](2) and result.files_checked == 1, result.reason
    assert result.uncompressed == len(raw)
    good.write_bytes(good.read_bytes()[:-11])  # the zero padding and the last 4 bytes (ISIZE) cut
    failed(good, "truncated", inflater=inflater)


# Each test below kills a mutant that survived scripts/mutation (tests/MUTANTS.md).

@pytest.mark.parametrize("name, kind, link, problem", [
    ("", tarfile.DIRTYPE, "", None),
    (".", tarfile.DIRTYPE, "", None),
    ("./", tarfile.DIRTYPE, "", None),
    ("", tarfile.REGTYPE, "", "member with an empty name (type b'0')"),
    (".", tarfile.REGTYPE, "", "member with an empty name (type b'0')"),
    ("./", tarfile.REGTYPE, "", "member with an empty name (type b'0')"),
    ("a/b/c", tarfile.SYMTYPE, "../../x", None),                       # resolved from the link's own folder
    ("a", tarfile.SYMTYPE, "..", "symlink 'a' points outside the archive ('..')"),
    ("a", tarfile.SYMTYPE, "/etc/passwd", "symlink 'a' points outside the archive ('/etc/passwd')"),
    ("a", tarfile.LNKTYPE, "b", None),
    ("a", tarfile.LNKTYPE, "..", "hard link 'a' points outside the archive ('..')"),
    ("a", tarfile.LNKTYPE, "/etc/shadow", "hard link 'a' points outside the archive ('/etc/shadow')"),
    ("a", b"V", "", "member 'a' has an unsupported type b'V'"),
    ("a", tarfile.CONTTYPE, "", None),
])
def test_member_problem_of_each_kind(name, kind, link, problem):
    from opsproof.backups.manifest import member_problem

    assert member_problem(name, kind, link) == problem


def test_a_packed_entry_reads_back_whole_and_names_are_normalised():
    from opsproof.backups.manifest import norm, pack, unpack

    digest = hashlib.sha256(b"x").digest()
    assert unpack(pack(5, digest)) == (5, digest.hex())
    assert unpack(pack(2 ** 60 + 3, digest)) == (2 ** 60 + 3, digest.hex())   # every byte of the size counts
    assert norm("././dirX/") == "dirX" and norm("./ab") == "ab" and norm("a/b") == "a/b"


def _manifest_text(members: list, **override) -> str:
    doc = {"format": 1, "engine": "sqlite", "source": "s", "created_at": "2026-11-26T02:00:00Z",
           "tables": {"orders": 3}, "members": members}
    doc.update(override)
    return json.dumps(doc)


def _entry(name: str, data: bytes = b"x", **extra) -> dict:
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), **extra}


SHA_X = hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize("text, reason", [
    (_manifest_text([{"name": 5, "size": 1, "sha256": SHA_X}]),
     "MANIFEST.json: member entry 5 has a malformed name, size or sha256"),
    (_manifest_text([{"name": "a", "size": "1", "sha256": SHA_X}]),
     "MANIFEST.json: member entry 'a' has a malformed name, size or sha256"),
    (_manifest_text([{"name": "a", "size": 1.0, "sha256": SHA_X}]),
     "MANIFEST.json: member entry 'a' has a malformed name, size or sha256"),
    (_manifest_text([{"name": "a", "size": -1, "sha256": SHA_X}]),
     "MANIFEST.json: member entry 'a' has a malformed name, size or sha256"),
    (_manifest_text([{"name": "a", "size": 1, "sha256": 7}]),
     "MANIFEST.json: member entry 'a' has a malformed name, size or sha256"),
    (_manifest_text([{"name": "a", "size": 1, "sha256": "zz" * 50}]),
     f"MANIFEST.json: member 'a' has a malformed sha256 {'zz' * 35!r}"),            # cut at 70 characters
    (_manifest_text([{"name": "a", "size": 1, "sha256": "ab" * 31}]),
     f"MANIFEST.json: member 'a' has a malformed sha256 {'ab' * 31!r}"),            # hex, 31 bytes
    ("[]", "MANIFEST.json is not a JSON object"),
    (_manifest_text([_entry("a", mode=1, mtime=2)]),                                 # 5 keys: not an entry
     "MANIFEST.json: members must be a list of {name, size, sha256}"),
    (_manifest_text({}), "MANIFEST.json: members must be a list of {name, size, sha256}"),
    (_manifest_text([{"bogus": 1}], note=_entry("a")),     # as many entries as the list is long, one outside it
     "MANIFEST.json: members must be a list of {name, size, sha256}"),
    (_manifest_text([_entry("a"), _entry("./a")]), "MANIFEST.json lists a member name twice"),
    (_manifest_text([_entry("a")], tables=[]), "MANIFEST.json: tables must map table names to row counts"),
    (_manifest_text([_entry("app.db")], dump="/var/lib/app/app.db"),
     "MANIFEST.json: dump '/var/lib/app/app.db' is not one of its members"),
    (_manifest_text([_entry("app.db"), _entry("b")], dump="../app.db"),
     "MANIFEST.json: dump '../app.db' is not one of its members"),
    (_manifest_text([_entry("app.db")], dump=["app.db"]), "MANIFEST.json: dump ['app.db'] is not one of its members"),
])
def test_a_malformed_manifest_is_refused_with_its_reason(text: str, reason: str):
    from opsproof.backups.manifest import ArchiveError, parse_manifest

    with pytest.raises(ArchiveError) as caught:
        parse_manifest(text)
    assert str(caught.value) == reason


def test_a_manifest_reads_back_its_members_dump_and_tables():
    """Objects shaped like part of an entry are data, one extra key is tolerated, the dump defaults to the only member."""
    from opsproof.backups.manifest import pack, parse_manifest

    tables = {"size": 1, "sha256": 2}                 # table names that are some of an entry's keys: not an entry
    doc = parse_manifest(_manifest_text([_entry("./app.db", mtime=5)], tables=tables))
    assert doc["members"] == {"app.db": pack(1, hashlib.sha256(b"x").digest())}
    assert doc["dump"] == "app.db" and doc["tables"] == tables
    for part in ({"size": 1}, {"sha256": SHA_X}, {"name": "n", "size": 1}, {"sha256": SHA_X, "size": 1}):
        assert parse_manifest(_manifest_text([_entry("a")], tables={"t": 1}, source=part))["source"] == part
    two = parse_manifest(_manifest_text([_entry("app.db"), _entry("b")]))
    assert "dump" not in two and list(two["members"]) == ["app.db", "b"]
    named = parse_manifest(_manifest_text([_entry("app.db"), _entry("b")], dump="./b"))
    assert named["dump"] == "./b"                      # kept as written: it names a listed member
    one = parse_manifest(_manifest_text([_entry("app.db")], dump="./app.db"))
    assert one["dump"] == "./app.db"


def test_a_restore_drill_refuses_a_dump_outside_the_archive(tmp_path: Path):
    """MANIFEST's `dump` names the file the drill restores: one outside the archive would prove another file."""
    import sqlite3

    from opsproof.backups import restore

    elsewhere = tmp_path / "elsewhere.db"
    with sqlite3.connect(elsewhere) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER)")
        conn.executemany("INSERT INTO orders VALUES (?)", [(1,), (2,), (3,)])
    conn.close()
    garbage = {"app.db": b"not a database"}
    path = write_gz(tmp_path / "daily.tar.gz", tar_bytes(garbage, manifest=manifest_for(garbage, dump=str(elsewhere))))
    result = restore.drill(str(path), ["SELECT count(*) FROM orders"], scratch_dir=str(tmp_path))
    assert not result.ok
    assert result.reason == f"the archive does not verify: MANIFEST.json: dump {str(elsewhere)!r} is not one of its members"

# tarstream's push parser fed directly: exact reasons, any cut of the stream, each tar extension it reads.

def _hdr(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, linkname: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, linkname
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")


def _data(raw: bytes) -> bytes:
    return raw + bytes(-len(raw) % 512)


def _ext(kind: bytes, raw: bytes) -> bytes:
    return _hdr("././@ext", kind, len(raw)) + _data(raw)


def _record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n).encode()) + len(body) != n:
        n += 1
    return str(n).encode() + body


def _with_manifest(files: dict, body: bytes, **override) -> bytes:
    """MANIFEST.json listing `files` ({name: data}), then body, then the end-of-archive marker."""
    doc = {"format": 1, "engine": "sqlite", "source": "s", "created_at": "2026-11-26T02:00:00Z", "tables": {},
           "members": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()]}
    doc.update(override)
    text = json.dumps(doc).encode()
    return _hdr("MANIFEST.json", size=len(text)) + _data(text) + body + bytes(1024)


def _walk(stream: bytes, step: int = 0):
    from opsproof.backups.tarstream import TarWalker

    walker = TarWalker()
    step = step or len(stream) or 1
    for at in range(0, len(stream), step):
        walker.feed(stream[at:at + step])
    walker.finish()
    return walker


def _walk_fails(stream: bytes, step: int = 0) -> str:
    from opsproof.backups.manifest import ArchiveError

    with pytest.raises(ArchiveError) as caught:
        _walk(stream, step)
    return str(caught.value)


@pytest.mark.parametrize("step", [0, 1, 100, 511, 512, 513, 700, 1536])
def test_the_walker_reads_a_stream_cut_anywhere_and_counts_every_byte(step: int):
    files = {"app.db": b"orders " * 300, "b": b"x" * 513}
    stream = _with_manifest(files, b"".join(_hdr(n, size=len(d)) + _data(d) for n, d in files.items()))
    walker = _walk(stream, step)
    assert (walker.offset, walker.files_checked, walker.count) == (len(stream), 2, 3)
    broken = bytearray(stream)
    second = stream.find(b"app.db\x00")
    broken[second + 1] ^= 1
    assert _walk_fails(bytes(broken), step).startswith(f"damaged tar header at tar byte {second}: ")
    body = stream[:-1024]
    tail = body + bytes(512) + b"X" * 512
    assert _walk_fails(tail) == f"data after the tar end-of-archive marker (tar byte {len(body) + 512})"


def test_the_walkers_own_refusals_say_exactly_what_and_where():
    data = b"y" * 700
    good_sha, bad_sha = hashlib.sha256(data).hexdigest(), hashlib.sha256(b"other").hexdigest()
    wrong = _with_manifest({}, _hdr("a", size=700) + _data(data), members=[{"name": "a", "size": 700, "sha256": bad_sha}])
    assert _walk_fails(wrong) == \
        f"member 'a': SHA-256 {good_sha[:16]}… differs from MANIFEST.json's {bad_sha[:16]}…"
    assert _walk_fails(_hdr("a", size=700) + data[:100]) == "tar stream ends inside member 'a' (600 bytes missing)"
    assert _walk_fails(_hdr("p", tarfile.XHDTYPE, 300) + b"3" * 10) == \
        "tar stream ends inside member 'an extended header' (290 bytes missing)"
    assert _walk_fails(_hdr("d/", tarfile.DIRTYPE)) == \
        "tar stream has no end-of-archive marker: the archive is incomplete"
    assert _walk_fails(_hdr("d/", tarfile.DIRTYPE) + bytes(1024)) == \
        "no MANIFEST.json at the archive root: nothing to check the members against"
    six = {f"m{i}": b"" for i in range(6)}
    assert _walk_fails(_with_manifest(six, b"")) == \
        "MANIFEST.json lists 6 member(s) missing from the archive: 'm0', 'm1', 'm2', 'm3', 'm4'"
    assert _walk_fails(_hdr("s", tarfile.GNUTYPE_SPARSE) + bytes(1024)) == \
        "member 's' is a GNU sparse file: unsupported in a backup archive"
    assert _walk_fails(_hdr("MANIFEST.json", size=3) + _data(b"\xff\xfe{") + bytes(1024)).startswith(
        "MANIFEST.json is not UTF-8: 'utf-8' codec can't decode byte 0xff in position 0")


def test_extended_headers_up_to_their_bound_and_a_manifest_up_to_its_own():
    from opsproof.backups.tarstream import MANIFEST_MAX, PAX_MAX

    pad = _record(b"comment", b"c" * (PAX_MAX - 20))
    pad = _record(b"comment", b"c" * (PAX_MAX - 20 + PAX_MAX - len(pad)))
    assert len(pad) == PAX_MAX
    assert _walk(_with_manifest({"a": b""}, _ext(tarfile.XHDTYPE, pad) + _hdr("a"))).files_checked == 1
    assert _walk_fails(_hdr("p", tarfile.XHDTYPE, PAX_MAX + 1)) == \
        f"extended header of {PAX_MAX + 1} bytes at tar byte 0 (more than {PAX_MAX})"
    assert _walk_fails(_hdr("MANIFEST.json", size=MANIFEST_MAX)) == \
        f"tar stream ends inside member 'MANIFEST.json' ({MANIFEST_MAX} bytes missing)"
    assert _walk_fails(_hdr("MANIFEST.json", size=MANIFEST_MAX + 1)) == \
        f"MANIFEST.json is {MANIFEST_MAX + 1} bytes: more than the {MANIFEST_MAX} this verifier reads"


def test_pax_records_are_read_as_written():
    name = "caf\udcff=x"                         # not UTF-8, and an '=' in the value
    records = _record(b"path", b"caf\xff=x") + _record(b"x\xff", b"1") + _record(b"size", b"5")
    body = _ext(tarfile.XHDTYPE, records) + _hdr("short") + _data(b"12345")
    assert _walk(_with_manifest({name: b"12345"}, body)).files_checked == 1
    glob = _ext(tarfile.XGLTYPE, _record(b"comment", b"g"))
    assert _walk(_with_manifest({"g": b""}, glob + _hdr("g"))).files_checked == 1
    assert _walk(_with_manifest({"t": b""}, _ext(tarfile.XHDTYPE, _record(b"a", b"b") + b"tail") + _hdr("t"))).count == 2
    link = _ext(tarfile.XHDTYPE, _record(b"linkpath", b"/etc/passwd")) + _hdr("l", tarfile.SYMTYPE, linkname="ok")
    assert _walk_fails(_with_manifest({}, link)) == "symlink 'l' points outside the archive ('/etc/passwd')"
    assert _walk_fails(_with_manifest({}, _ext(tarfile.XHDTYPE, _record(b"size", b"five")) + _hdr("f"))) == \
        "member 'f': malformed pax size 'five'"
    for bad in (b"ab c=d\n", b" 9 a=b\n", b"6 abc\n", b"0 a=b\n"):
        assert _walk_fails(_with_manifest({}, _ext(tarfile.XHDTYPE, bad) + _hdr("f"))) == "malformed pax extended header"


def test_gnu_long_names_and_links_are_read_as_written():
    long = "d/" + "n" * 120 + "\udcffX"
    body = _ext(tarfile.GNUTYPE_LONGNAME, long.encode("utf-8", "surrogateescape") + b"\0") + _hdr("short")
    assert _walk(_with_manifest({long: b""}, body)).files_checked == 1
    assert _walk(_with_manifest({"e": b""}, _ext(tarfile.GNUTYPE_LONGNAME, b"") + _hdr("e"))).files_checked == 1
    out = "../" + "l" * 120 + "\udcffX"
    link = _ext(tarfile.GNUTYPE_LONGLINK, out.encode("utf-8", "surrogateescape") + b"\0") + \
        _hdr("l", tarfile.SYMTYPE, linkname="ok")
    assert _walk_fails(_with_manifest({}, link)) == f"symlink 'l' points outside the archive ({out!r})"
    empty = _ext(tarfile.GNUTYPE_LONGLINK, b"") + _hdr("l", tarfile.SYMTYPE, linkname="../x")
    assert _walk_fails(_with_manifest({}, empty)) == "symlink 'l' points outside the archive ('../x')"
    raw = _hdr("caf\udcff") + bytes(1024)
    assert _walk(_with_manifest({"caf\udcff": b""}, raw[:-1024])).files_checked == 1


def test_a_links_or_directorys_size_field_is_not_data():
    """As tar and tarfile (the drill's extraction) read them: the next block is a header, which is checked."""
    import tracemalloc

    for kind in (tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE):
        body = _hdr("l/" if kind == tarfile.DIRTYPE else "l", kind, 512, "a") + _hdr("a", size=3) + _data(b"abc")
        assert _walk(_with_manifest({"a": b"abc"}, body)).files_checked == 1
        hidden = _hdr("l/" if kind == tarfile.DIRTYPE else "l", kind, 512, "a") + _hdr("hidden", size=3) + _data(b"abc")
        assert _walk_fails(_with_manifest({}, hidden)) == "member 'hidden' is in the archive but not listed in MANIFEST.json"
        with tarfile.open(fileobj=io.BytesIO(_with_manifest({}, hidden))) as tar:
            assert "hidden" in tar.getnames()          # what the restore drill would extract
    big = 8 << 20
    stream = _with_manifest({"a": b"a" * big}, _hdr("a", size=big) + b"a" * big)
    tracemalloc.start()
    try:
        walker = _walk(stream, 1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert walker.files_checked == 1 and peak < 4 << 20, peak       # 1 MiB pieces: the member is not held
