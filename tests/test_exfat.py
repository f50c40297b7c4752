"""exFAT inside an MBR: The Sleuth Kit and libfsfat, each standing in where the other fails, and
exFAT's per-timestamp UTC offsets.

Two builders, each test run on both where both work. ``spec``: ``tests/exfat_image.py`` writes
the volume from Microsoft's exFAT specification (no root, FUSE or loop device: it runs
everywhere, CI included). ``fuse``: exfatprogs' ``mkfs.exfat`` formats it and the FUSE driver
(``exfat-fuse``) fills it over a loop device, as root (no Debian tool adds files to an exFAT
image without mounting it, and this kernel has no exFAT driver); skipped where that is missing.
The independent answers: the builder's own record (content and the UTC instants given),
TSK's ``fls``/``istat``/``icat``, and libfsfat through dfvfs on the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
from datetime import UTC
from pathlib import Path

import pytest

import exfat_image
from ektools import need_tool
from evidencekit import open_evidence
from evidencekit.inventory import files

START = 2048  # partition start sector
WRITER_ZONE = "Asia/Almaty"  # the zone the writing machine ran in: UTC+5 since 2024-03-01
FILES = {"/Docs/report.txt": (b"quarterly report\n" * 30, 1_740_000_000), "/Docs/Sub/deep.bin": (bytes(range(256)) * 40, 1_741_000_002),
         "/photo.jpg": (b"\xff\xd8\xff\xe0" + bytes(5000), 1_742_000_004), "/no-offset.txt": (b"offset cleared\n", 1_743_000_006)}


def _skip(msg: str) -> None:
    pytest.skip(msg)  # the spec-built variant covers CI


def _fill_by_fuse(part: Path, work: Path) -> None:
    """Mount the exFAT partition image with exfat-fuse over a loop device and write FILES."""
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        _skip("filling exFAT needs root and /dev/fuse (exfat-fuse over a loop device)")
    need_tool("mount.exfat-fuse")
    loop = subprocess.run(["losetup", "-f", "--show", str(part)], capture_output=True, text=True)
    if loop.returncode != 0:
        _skip(f"no loop device: {loop.stderr.strip()}")
    device, mnt = loop.stdout.strip(), work / "mnt"
    mnt.mkdir()
    env = dict(os.environ, TZ=WRITER_ZONE)
    try:
        subprocess.run(["mount.exfat-fuse", device, str(mnt)], check=True, env=env, capture_output=True)
        try:
            for path, (data, mtime) in FILES.items():
                target = mnt / path.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                os.utime(target, (mtime - 86_400, mtime))
        finally:
            subprocess.run(["umount", str(mnt)], check=True)
    finally:
        subprocess.run(["losetup", "-d", device], check=True)


def _clear_offsets(part: Path, name: str) -> int:
    """Mark the UTC offsets of one file's entry set absent (top bit clear) and fix the set checksum.

    The entry set is found by its name entry (0xC1 with the UTF-16 name), independently of how
    the readers number entries. Returns the wall-clock mtime stored there, read as if UTC."""
    data = bytearray(part.read_bytes())
    at = data.index(b"\xc1\x00" + name.encode("utf-16-le")) - 64
    assert data[at] == 0x85 and data[at + 32] == 0xC0
    for field in (22, 23, 24):
        data[at + field] &= 0x7F
    count = data[at + 1] + 1
    checksum = 0
    for i, byte in enumerate(data[at:at + 32 * count]):
        if i not in (2, 3):
            checksum = (((checksum << 15) | (checksum >> 1)) + byte) & 0xFFFF
    struct.pack_into("<H", data, at + 2, checksum)
    part.write_bytes(bytes(data))
    stamp = struct.unpack_from("<I", data, at + 12)[0]
    from datetime import datetime

    wall = datetime(1980 + (stamp >> 25), (stamp >> 21) & 15, (stamp >> 16) & 31, (stamp >> 11) & 31, (stamp >> 5) & 63,
                    (stamp & 31) * 2, tzinfo=UTC)
    return int(wall.timestamp()) * 10**9


def _fill_by_spec(part: Path) -> None:
    """The same tree written by the specification builder, as a machine in WRITER_ZONE would."""
    nodes = [exfat_image.Node("/Docs", None, 1_739_000_000, 1_739_000_000, 1_738_000_000),
             exfat_image.Node("/Docs/Sub", None, 1_739_500_000, 1_739_500_000, 1_738_500_000)]
    for path, (data, mtime) in FILES.items():
        nodes.append(exfat_image.Node(path, data, mtime, mtime - 86_400, mtime - 3_600))
    exfat_image.build(part, nodes, size=20 << 20, label="USBX", zone=WRITER_ZONE, partition_offset=START)


@pytest.fixture(scope="module", params=["spec", "fuse"])
def exfat(request, tmp_path_factory) -> dict:
    need_tool("sfdisk")
    work = tmp_path_factory.mktemp(f"exfat-{request.param}")
    part = work / "part.img"
    if request.param == "spec":
        _fill_by_spec(part)
    else:
        need_tool("mkfs.exfat")
        with open(part, "wb") as fh:
            fh.truncate(20 << 20)
        subprocess.run(["mkfs.exfat", "-L", "USBX", str(part)], check=True, capture_output=True)
        _fill_by_fuse(part, work)
    wall = _clear_offsets(part, "no-offset.txt")
    disk = work / "disk.img"
    with open(disk, "wb") as fh:
        fh.truncate(24 << 20)
    subprocess.run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", str(disk)], input=f"label: dos\nstart={START}, type=7\n",
                   text=True, check=True)
    with open(disk, "r+b") as fh:
        fh.seek(START * 512)
        fh.write(part.read_bytes())
    return {"disk": disk, "part": part, "wall": wall, "work": work}


def _records(path: Path, **kw) -> dict:
    with open_evidence(path, **kw) as ev:
        return {r.path: r for r in files(ev, hashes=("sha256",))}, list(ev.warnings), list(ev.format_chain)


def _fls(disk: Path, offset: int = START) -> dict[str, int]:
    out = {}
    for line in subprocess.run([need_tool("fls"), "-r", "-p", "-o", str(offset), str(disk)], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        meta, name = line.split(":\t", 1)
        out["/" + name] = int(meta.split()[-1].strip("*"))
    return out


def _istat_written(disk: Path, inode: int) -> str:
    text = subprocess.run([need_tool("istat"), "-o", str(START), str(disk), str(inode)], capture_output=True, text=True,
                          check=True).stdout
    return text.split("Written:\t")[1].split(" (")[0]


def test_exfat_in_mbr_equals_tsk_and_the_builder(exfat):
    from datetime import datetime

    before = hashlib.sha256(exfat["disk"].read_bytes()).hexdigest()
    records, warnings, chain = _records(exfat["disk"])
    assert chain == ["raw", "mbr", "exfat"] and warnings == []  # TSK and libfsfat agree on the root
    assert {p: r.inode for p, r in records.items()} == _fls(exfat["disk"])
    for path, (data, mtime) in FILES.items():
        rec = records[path]
        assert (rec.size, rec.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        icat = subprocess.run([need_tool("icat"), "-o", str(START), str(exfat["disk"]), str(rec.inode)],
                              capture_output=True, check=True).stdout
        assert icat == data
        # istat shows the stored wall clock (UTC+5 here) as if it were UTC; the entry's offset says +5:00.
        written = datetime.strptime(_istat_written(exfat["disk"], rec.inode), "%Y-%m-%d %H:%M:%S")
        if path != "/no-offset.txt":
            assert rec.mtime == mtime * 10**9, path  # the builder's instant, exactly
            assert rec.assumed_zone is None and rec.atime == (mtime - 86_400) * 10**9
            assert int(written.replace(tzinfo=UTC).timestamp()) - 5 * 3600 == mtime
    assert hashlib.sha256(exfat["disk"].read_bytes()).hexdigest() == before


def test_exfat_time_without_offset_is_read_in_the_source_zone(exfat):
    records, _, _ = _records(exfat["disk"])
    rec = records["/no-offset.txt"]
    assert rec.assumed_zone == "UTC" and rec.mtime == exfat["wall"]
    records, _, _ = _records(exfat["disk"], source_tz=WRITER_ZONE)
    rec = records["/no-offset.txt"]
    assert rec.assumed_zone == WRITER_ZONE and rec.mtime == FILES["/no-offset.txt"][1] * 10**9
    assert records["/photo.jpg"].assumed_zone is None  # a time with its offset ignores the source zone


def test_libfsfat_reads_the_same_as_tsk(exfat):
    """The cross-check: libfsfat (dfvfs) over the same partition, listed through evidencekit's dfvfs walker."""
    from dfvfs.lib import definitions as dd
    from dfvfs.path import factory

    from evidencekit.inventory.listing import hash_entries
    from evidencekit.sources.dfvfs_fs import DfvfsFileSystem

    os_spec = factory.Factory.NewPathSpec(dd.TYPE_INDICATOR_OS, location=str(exfat["part"]))
    fs_spec = factory.Factory.NewPathSpec(dd.TYPE_INDICATOR_FAT, location="\\", parent=os_spec)
    reader = DfvfsFileSystem.open("", fs_spec)
    theirs = {r.path: r for r in hash_entries(reader.entries(str(exfat["part"])), ("sha256",))}
    ours, _, _ = _records(exfat["part"])
    for path in FILES:
        a, b = ours[path], theirs[path]
        assert (a.size, a.sha256, a.mtime, a.atime, a.crtime) == (b.size, b.sha256, b.mtime, b.atime, b.crtime), path
    assert {p for p, r in ours.items() if r.type in ("file", "dir") and not p.startswith("/$") and "Label" not in p} == \
        set(theirs)


def _variant(exfat: dict, name: str, patch) -> Path:
    image = exfat["work"] / name
    shutil.copyfile(exfat["part"], image)
    data = bytearray(image.read_bytes())
    patch(data)
    image.write_bytes(bytes(data))
    return image


def test_tsk_reads_what_libfsfat_refuses(exfat):
    """One damaged File entry (its type byte overwritten by 0xE0, leaving its stream and name
    entries orphaned): libfsfat refuses the whole volume, TSK lists every other entry."""
    def patch(data: bytearray) -> None:
        at = data.index(b"\xc1\x00" + "photo.jpg".encode("utf-16-le")) - 64
        assert data[at] == 0x85
        data[at] = 0xE0

    image = _variant(exfat, "damaged.img", patch)
    records, warnings, chain = _records(image)
    assert chain == ["raw", "exfat"] and set(FILES) - {"/photo.jpg"} <= set(records)
    assert any("read by The Sleuth Kit alone" in w for w in warnings)
    assert {p: r.inode for p, r in records.items()} == _fls(image, 0)
    for path in set(FILES) - {"/photo.jpg"}:
        assert records[path].sha256 == hashlib.sha256(FILES[path][0]).hexdigest()


def test_libfsfat_reads_what_tsk_refuses(exfat):
    """A zeroed FAT offset in the boot sector: TSK refuses the volume, libfsfat reads on."""
    image = _variant(exfat, "fatoff.img", lambda data: data.__setitem__(slice(80, 84), bytes(4)))
    assert subprocess.run([need_tool("fls"), str(image)], capture_output=True).returncode != 0
    records, warnings, chain = _records(image)
    assert chain[-1] == "exfat" and any("read by libfsfat (dfvfs) alone" in w for w in warnings)
    for path, (data, mtime) in FILES.items():
        assert records[path].sha256 == hashlib.sha256(data).hexdigest()
        if path != "/no-offset.txt":
            assert records[path].mtime == mtime * 10**9


def test_the_spec_builder_passes_fsck_exfat(tmp_path):
    """exfatprogs' checker finds the spec-built volume clean (boot region checksum, bitmap, up-case
    table, entry set checksums, name hashes): one more reader that did not write it."""
    part = tmp_path / "part.img"
    _fill_by_spec(part)
    check = subprocess.run([need_tool("fsck.exfat"), "-n", str(part)], capture_output=True, text=True)
    assert check.returncode == 0 and "clean. directories 3, files 4" in check.stdout, check.stdout + check.stderr
    _clear_offsets(part, "no-offset.txt")  # the set checksum is rewritten with the offsets cleared
    assert subprocess.run(["fsck.exfat", "-n", str(part)], capture_output=True).returncode == 0
