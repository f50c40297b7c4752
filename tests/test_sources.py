"""open_evidence and the inventory on evidence built here, cross-checked with The Sleuth Kit."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from ektools import ROOT, need_tool
from evidencekit import open_evidence
from evidencekit.errors import EvidenceError
from evidencekit.inventory import files
from evidencekit.models import Locator
from images import FAKE_NOW, Q1_MTIME_NS, ext4_image, fat16_image

FLS_LINE = re.compile(r"^(\S+) (\* )?([^:]*):\t(.*)$")


@pytest.fixture(scope="module")
def ext4(tmp_path_factory) -> Path:
    return ext4_image(tmp_path_factory.mktemp("ext4"))


@pytest.fixture(scope="module")
def fat16(tmp_path_factory) -> Path:
    return fat16_image(tmp_path_factory.mktemp("fat"))


def fls_listing(image: Path) -> set[tuple[str, bool]]:
    out = subprocess.run([need_tool("fls"), "-r", "-p", str(image)], check=True, capture_output=True, text=True)
    entries = set()
    for line in out.stdout.splitlines():
        match = FLS_LINE.match(line)
        assert match, line
        entries.add(("/" + match.group(4), bool(match.group(2))))
    return entries


def icat(image: Path, inode: int) -> bytes:
    return subprocess.run([need_tool("icat"), str(image), str(inode)], check=True, capture_output=True).stdout


@pytest.mark.parametrize("kind", ["ext4", "fat16"])
def test_listing_and_hashes_agree_with_tsk(kind, request):
    image = request.getfixturevalue(kind)
    with open_evidence(image) as ev:
        records = list(files(ev, hashes=("md5", "sha1", "sha256")))
    assert {(r.path, r.deleted) for r in records} == fls_listing(image)
    for r in records:
        if r.type == "file" and not r.deleted and r.inode:
            data = icat(image, r.inode)
            assert (r.md5, r.sha1, r.sha256) == (hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(),
                                                 hashlib.sha256(data).hexdigest()), r.path
            assert r.size == len(data)


def test_ext4_times_deleted_file_and_precision(ext4):
    with open_evidence(ext4) as ev:
        assert ev.format_chain == ["raw", "ext4"]
        assert ev.volumes[0].fs_label == "TESTVOL"
        records = {r.path: r for r in files(ev, hashes=("sha256",))}
    q1 = records["/docs/reports/q1.txt"]
    assert q1.mtime % 10**9 == Q1_MTIME_NS, "ext4 keeps nanoseconds"
    assert q1.time_digits == 9 and q1.assumed_zone is None
    secret = records["/secret.txt"]
    assert secret.deleted and secret.dtime == FAKE_NOW * 10**9
    assert records["/link"].type == "symlink" and records["/link"].link_target == "docs/reports/q1.txt"
    assert records["/docs/отчёт.txt"].size == len("non-ASCII name\n")
    big = records["/big.bin"]
    assert big.sha256 == hashlib.sha256(bytes(range(256)) * 4096 * 3).hexdigest()


def test_fat_times_are_local_and_say_so(fat16):
    with open_evidence(fat16) as ev:
        records = {r.path: r for r in files(ev, hashes=())}
        assert ev.volumes[0].fs_label == "USBSTICK"
    plan = records["/Work/plan.txt"]
    assert plan.assumed_zone == "UTC" and plan.filesystem == "fat16"
    assert plan.mtime == 1_622_530_000 * 10**9  # mcopy -m keeps the source mtime (2 s resolution, even)
    assert records["/Work/_one.txt"].deleted  # FAT overwrites a deleted name's first byte
    body = subprocess.run([need_tool("fls"), "-r", "-m", "/", str(fat16)], capture_output=True, text=True,
                          check=True).stdout
    tsk_mtime = next(int(line.split("|")[8]) for line in body.splitlines() if line.split("|")[1] == "/Work/plan.txt")
    assert plan.mtime == tsk_mtime * 10**9


def test_fat_attributes_agree_with_mattrib(fat16):
    with open_evidence(fat16) as ev:
        records = {r.path: r for r in files(ev, hashes=())}
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    for name in ("hidden.txt", "plan.txt"):
        listing = subprocess.run([need_tool("mattrib"), "-i", str(fat16), f"::/Work/{name}"], capture_output=True,
                                 text=True, check=True, env=env).stdout
        flags = listing.split("::")[0]
        assert ("hidden" in records[f"/Work/{name}"].attributes) == ("H" in flags), listing
        assert ("archive" in records[f"/Work/{name}"].attributes) == ("A" in flags), listing
    assert "hidden" in records["/Work/hidden.txt"].attributes


def test_split_and_gzip_images_list_the_same(ext4, tmp_path):
    data = ext4.read_bytes()
    half = len(data) // 2
    (tmp_path / "disk.000").write_bytes(data[:half])
    (tmp_path / "disk.001").write_bytes(data[half:])
    with gzip.open(tmp_path / "disk.raw.gz", "wb") as fh:
        fh.write(data)

    def listing(path: Path):
        with open_evidence(path) as ev:
            return ev.format_chain, [(r.path, r.inode, r.sha256, r.mtime, r.deleted) for r in files(ev, ("sha256",))]

    chain, whole = listing(ext4)
    split_chain, split = listing(tmp_path / "disk.000")
    gz_chain, gz = listing(tmp_path / "disk.raw.gz")
    assert split == whole and gz == whole
    assert gz_chain == ["gzip", *chain]
    with open_evidence(tmp_path / "disk.000") as ev:
        assert len(ev.segment_files) == 2 and ev.media_size == len(data)


def test_locators_reopen_each_entry(ext4):
    with open_evidence(ext4) as ev:
        records = [r for r in files(ev, ("sha256",)) if r.type == "file" and r.sha256]
        for r in records:
            again = Locator.from_json(r.locator.to_json())
            with ev.open_locator(again) as fh:
                assert hashlib.sha256(fh.read()).hexdigest() == r.sha256


def test_locator_is_a_dfvfs_path_spec(ext4):
    """dfvfs alone reopens what our locator names: it is what custody records cite."""
    from dfvfs.resolver import resolver

    from evidencekit.sources.disk import from_spec_dict

    with open_evidence(ext4) as ev:
        record = next(r for r in files(ev, ("sha256",)) if r.path == "/docs/reports/q1.txt")
    fo = resolver.Resolver.OpenFileObject(from_spec_dict(record.locator.spec))
    assert hashlib.sha256(fo.read()).hexdigest() == record.sha256


def test_zip_extraction_with_hostile_names(tmp_path):
    archive = tmp_path / "phone.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("sdcard/DCIM/a.jpg", (2021, 6, 1, 10, 0, 0)), b"\xff\xd8jpeg")
        zf.writestr("../../etc/evil", b"escape")
        zf.writestr("/abs/path.txt", b"absolute")
        zf.writestr("data/", b"")
    with open_evidence(archive) as ev:
        assert ev.kind == "zip"
        records = {r.path: r for r in files(ev, ("md5",))}
    assert set(records) == {"/sdcard/DCIM/a.jpg", "/../../etc/evil", "/abs/path.txt", "/data"}  # as stored
    assert any("unsafe member name '../../etc/evil'" in w for w in records["/../../etc/evil"].warnings)
    assert records["/sdcard/DCIM/a.jpg"].md5 == hashlib.md5(b"\xff\xd8jpeg").hexdigest()
    assert records["/sdcard/DCIM/a.jpg"].assumed_zone == "UTC"  # DOS time, no extended timestamp
    assert not (tmp_path.parent / "etc").exists()


def test_tar_gz_and_directory_extractions(tmp_path):
    tree = tmp_path / "android"
    (tree / "data" / "db").mkdir(parents=True)
    (tree / "data" / "db" / "mmssms.db").write_bytes(b"SQLite format 3\x00" + bytes(100))
    archive = tmp_path / "android.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(tree, arcname="android")
    with open_evidence(archive) as ev:
        assert ev.kind == "tar" and ev.format_chain == ["gzip", "tar"]
        tar_records = {r.path: r for r in files(ev, ("sha256",))}
    with open_evidence(tree) as ev:
        assert ev.kind == "directory"
        dir_records = {r.path: r for r in files(ev, ("sha256",))}
    assert tar_records["/android/data/db/mmssms.db"].sha256 == dir_records["/data/db/mmssms.db"].sha256


def test_damaged_inputs_raise_one_clear_error(tmp_path, corpus):
    empty = tmp_path / "empty.img"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.img"
    noise.write_bytes(bytes(range(256)) * 64)
    source = corpus / "log2timeline/dfvfs/test_data/ext2.split.E01"
    lonely = tmp_path / "lonely.E01"
    lonely.write_bytes(source.read_bytes())  # without its .E02
    cut = tmp_path / "cut.E01"
    cut.write_bytes(source.read_bytes()[:2_000_000])
    cases = {tmp_path / "absent.img": "no such file", empty: "empty file", lonely: "missing segment file",
             cut: "truncated or corrupt"}
    for path, cause in cases.items():
        with pytest.raises(EvidenceError, match=cause):
            files(open_evidence(path), ())
    with open_evidence(noise) as ev, pytest.raises(EvidenceError, match="no file system recognised"):
        next(iter(files(ev, ())))


def test_truncated_raw_image_lists_what_it_can_and_warns(ext4, tmp_path):
    cut = tmp_path / "cut.raw"
    cut.write_bytes(ext4.read_bytes()[: 6 << 20])
    with open_evidence(cut) as ev:
        records = list(files(ev, ("md5",)))
        assert any("image truncated" in w for w in ev.warnings)
    assert any(r.path == "/docs" for r in records)


def test_ntfs_attributes_from_standard_information():
    image = ROOT / "training_images" / "office-workstation" / "workstation.E01"
    with open_evidence(image) as ev:
        records = {(r.path, r.stream): r for r in files(ev, hashes=())}
    assert {"hidden", "system"} <= set(records[("/$MFT", None)].attributes)  # NTFS marks its metadata files so
    assert "hidden" in records[("/Users/m.ivanova/Desktop/desktop.ini", None)].attributes
    assert "hidden" not in records[("/Users/m.ivanova/Downloads/Invoice_7731.zip", None)].attributes


@pytest.mark.parametrize("image", ["ext4", "fat16", "ntfs"])
def test_walkers_fill_exactly_the_record_fields(image, request):
    """The TSK walker builds records without the dataclass __init__: no field missing, none extra."""
    from dataclasses import fields

    from evidencekit.models import FileRecord

    path = (ROOT / "training_images" / "office-workstation" / "workstation.E01" if image == "ntfs"
            else request.getfixturevalue(image))
    names = {f.name for f in fields(FileRecord)}
    with open_evidence(path) as ev:
        records = list(files(ev, ("md5",)))
    assert records
    for record in records:
        assert set(vars(record)) == names, record.path
