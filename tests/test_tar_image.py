"""A tar holding one disk image: .tar, .tgz, .tar.bz2, .tar.xz, an uncompressed GNU tar named .tgz,
sparse members, and an E01 (ewfacquirestream) or QCOW2 (qemu-img convert) as the member.

The disk is an MBR with a FAT16 and an ext4 partition (tests/images.py), packed by GNU tar
(``tar -cf``, ``-czf``, ``-cSf`` for a GNU sparse member, ``--format=pax -cSf`` for a PAX one).
Independent answers: The Sleuth Kit's ``fls -r -p -o`` on the disk image itself (outside the
tar), sha256 of the image file for ``verify``, and ``tar -tv`` for ``--as-archive``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ektools import need_tool
from evidencekit import open_evidence
from evidencekit.inventory import files
from images import ext4_image, fat16_image

P1, P2 = 2048, 2048 + 32768


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidencekit", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> dict[str, Path]:
    need_tool("sfdisk")
    tar = shutil.which("tar") or pytest.skip("GNU tar not installed: apt-get install tar")
    work = tmp_path_factory.mktemp("tarimg")
    fat, ext4 = fat16_image(work), ext4_image(work)
    disk = work / "pack" / "disk.img"
    disk.parent.mkdir()
    with open(disk, "wb") as fh:
        fh.truncate(64 << 20)  # the tail stays a hole: a sparse member has something to skip
    subprocess.run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", str(disk)], check=True, text=True,
                   input=f"label: dos\nstart={P1}, size=32768, type=6\nstart={P2}, size=32768, type=83\n")
    with open(disk, "r+b") as fh:
        for start, part in ((P1, fat), (P2, ext4)):
            fh.seek(start * 512)
            fh.write(part.read_bytes())
    (disk.parent / "disk.img.sha256").write_text(hashlib.sha256(disk.read_bytes()).hexdigest() + "  disk.img\n")
    out = {"disk": disk}
    for name, flags in (("plain.tar", ["-cf"]), ("image.tgz", ["-czf"]), ("misnamed.tgz", ["-cf"]),
                        ("sparse.tar", ["-cSf"]), ("sparse-pax.tar", ["--format=pax", "-cSf"])):
        out[name] = work / name
        subprocess.run([tar, *flags, str(out[name]), "-C", str(disk.parent), "disk.img", "disk.img.sha256"], check=True)
    assert out["sparse.tar"].stat().st_size < 40 << 20  # the 32 MiB hole at the end was not stored
    for name, flags in (("image.tar.bz2", ["-cjf"]), ("image.tar.xz", ["-cJf"])):
        out[name] = work / name
        subprocess.run([tar, *flags, str(out[name]), "-C", str(disk.parent), "disk.img"], check=True)
    containers = work / "containers"
    containers.mkdir()
    with open(disk, "rb") as raw:
        subprocess.run([need_tool("ewfacquirestream"), "-t", str(containers / "disk"), "-c", "fast", "-S", "1G", "-q"],
                       stdin=raw, check=True, capture_output=True)
    subprocess.run([need_tool("qemu-img"), "convert", "-O", "qcow2", str(disk), str(containers / "disk.qcow2")],
                   check=True)
    for name, member in (("e01.tar", "disk.E01"), ("qcow2.tar", "disk.qcow2")):
        out[name] = work / name
        subprocess.run([tar, "-cf", str(out[name]), "-C", str(containers), member], check=True)
    return out


def _fls(disk: Path, offset: int) -> set[str]:
    lines = subprocess.run([need_tool("fls"), "-r", "-p", "-o", str(offset), str(disk)], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    return {"/" + line.split(":\t", 1)[1] for line in lines}


CHAINS = {"image.tgz": ["gzip", "tar", "raw"], "image.tar.bz2": ["bzip2", "tar", "raw"],
          "image.tar.xz": ["xz", "tar", "raw"], "e01.tar": ["tar", "ewf"], "qcow2.tar": ["tar", "qcow"]}


@pytest.mark.parametrize("name", ["plain.tar", "image.tgz", "misnamed.tgz", "sparse.tar", "sparse-pax.tar",
                                  "image.tar.bz2", "image.tar.xz", "e01.tar", "qcow2.tar"])
def test_the_image_inside_is_opened(packed, name):
    archive = packed[name]
    before = hashlib.sha256(archive.read_bytes()).hexdigest()
    with open_evidence(archive) as ev:
        assert ev.kind == "disk_image" and ev.format_chain == CHAINS.get(name, ["tar", "raw"]) + ["mbr", "fat16", "ext4"]
        assert ev.segment_files == [str(archive)]
        assert [(v.name, v.offset) for v in ev.volumes] == [("p1", P1 * 512), ("p2", P2 * 512)]
        assert ev.media_size == 64 << 20
        records = list(files(ev, hashes=("sha256",)))
    for volume, offset in (("p1", P1), ("p2", P2)):
        assert {r.path for r in records if r.volume == volume} == _fls(packed["disk"], offset)
    plan = next(r for r in records if r.path == "/Work/plan.txt")
    assert plan.sha256 == hashlib.sha256(b"the plan\n" * 100).hexdigest()
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("name", ["plain.tar", "image.tgz", "sparse.tar", "e01.tar", "qcow2.tar"])
def test_verify_hashes_the_image_bytes(packed, name):
    digest = hashlib.sha256(packed["disk"].read_bytes()).hexdigest()
    done = _cli("verify", str(packed[name]), "--expect", f"sha256:{digest}", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["digests"]["sha256"] == digest
    if name == "e01.tar":  # the MD5 the E01 stores is checked too
        stored = _cli("verify", str(packed[name]))
        assert stored.returncode == 0 and "from container (EWF stored MD5)" in stored.stdout, stored.stdout


def test_as_archive_lists_the_tar_itself(packed):
    archive = packed["image.tgz"]
    listing = [json.loads(line) for line in _cli("files", str(archive), "--as-archive", "--hash", "sha256").stdout.splitlines()]
    assert sorted(r["path"] for r in listing) == ["/disk.img", "/disk.img.sha256"]
    image = next(r for r in listing if r["path"] == "/disk.img")
    assert image["size"] == 64 << 20 and image["sha256"] == hashlib.sha256(packed["disk"].read_bytes()).hexdigest()
    tv = subprocess.run(["tar", "-tzvf", str(archive)], capture_output=True, text=True, check=True).stdout
    assert str(64 << 20) in tv
    info = json.loads(_cli("info", str(archive), "--as-archive", "--json").stdout)
    assert info["kind"] == "tar"
    verify = _cli("verify", str(archive), "--as-archive", "--expect",
                  f"sha256:{hashlib.sha256(archive.read_bytes()).hexdigest()}")
    assert verify.returncode == 0, verify.stdout
    bad = _cli("files", str(packed["disk"]), "--as-archive")
    assert bad.returncode == 2 and "not a zip or tar archive" in bad.stderr


def test_a_tar_of_many_files_stays_an_extraction(packed, tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(3):
        (tree / f"f{i}.bin").write_bytes(bytes(100_000))
    subprocess.run(["tar", "-cf", str(tmp_path / "many.tar"), "-C", str(tree), "."], check=True)
    with open_evidence(tmp_path / "many.tar") as ev:
        assert ev.kind == "tar"
