"""BitLocker volumes built by ``tests/bde_image.py`` from the public format description.

The builder is proven first: libbde (pybde, as dfvfs uses it) and dissect.fve, an independent
reader, unlock what it writes with the password or the recovery password and return the plain
FAT volume byte for byte. Then evidencekit: ``info``, ``files`` and ``verify`` with the right
password (the listing equals The Sleuth Kit's ``fls``/``icat`` on the plain volume), a wrong one
(one line, exit 2), the recovery password, and the damaged case of issue 15: the image cut short,
so the decrypted sectors end early (libbde raises on the read past the end, which used to end
``info`` and ``files`` with a traceback from inside pytsk3's ``Volume_Info``).

Each unlock costs 0x100000 SHA-256 rounds (about 3 s here, in libbde as in Python): the images
are built once per module and each command runs once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bde_image
from ektools import need_tool

pytestmark = pytest.mark.slow  # each unlock is 0x100000 SHA-256 rounds
PASSWORD = "Пароль-1 BitLocker"
ENV = dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8", MTOOLS_SKIP_CHECK="1")


def _plain_fat(work: Path) -> tuple[Path, dict[str, str]]:
    """FAT16, 8 MiB, 512 reserved sectors (room for the three metadata blocks and the relocated
    sectors), 30 files of 100,000 bytes in two folders, a non-ASCII name and a deleted file."""
    for tool in ("mkfs.fat", "mcopy", "mdel"):
        need_tool(tool)
    plain = work / "plain.fat"
    subprocess.run(["mkfs.fat", "-C", "-F", "16", "-R", "512", "-S", "512", "-s", "1", "-i", "B17E0C4E", "-n", "BDEVOL",
                    str(plain), "8192"], check=True, capture_output=True, env=ENV)
    src = work / "src"
    sources = {}
    for i in range(30):
        folder = src / ("Docs" if i < 15 else "Фото")
        folder.mkdir(parents=True, exist_ok=True)
        data = hashlib.sha256(str(i).encode()).digest() * 3125
        (folder / f"f{i:02d}.bin").write_bytes(data)
        sources[f"/{folder.name}/f{i:02d}.bin"] = hashlib.sha256(data).hexdigest()
    (src / "gone.txt").write_text("deleted before encryption\n")
    subprocess.run(["mcopy", "-s", "-m", "-i", str(plain), *map(str, sorted(src.iterdir())), "::"], check=True, env=ENV)
    subprocess.run(["mdel", "-i", str(plain), "::/gone.txt"], check=True, env=ENV)
    return plain, sources


@pytest.fixture(scope="module")
def bde(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("bde")
    plain, sources = _plain_fat(work)
    xts = bde_image.build(plain, work / "xts128.bde", PASSWORD, method="aes-xts-128", recovery=True)
    cbc = bde_image.build(plain, work / "cbc128.bde", PASSWORD, method="aes-cbc-128", all_in_front=True)
    truncated, cut_metadata = work / "truncated.bde", work / "cut-metadata.bde"
    shutil.copyfile(cbc.path, truncated)  # every metadata block before the cut: libbde unlocks it
    os.truncate(truncated, (3 << 20) + 1000)  # about 40% of the volume, cut mid-sector
    shutil.copyfile(xts.path, cut_metadata)  # the second and third metadata blocks cut off
    os.truncate(cut_metadata, 6 << 20)
    expected = plain.read_bytes()
    return {"plain": plain, "sources": sources, "xts": xts, "cbc": cbc, "truncated": truncated,
            "cut_metadata": cut_metadata, "decrypted": expected + bytes(xts.size - len(expected))}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidencekit", *args], capture_output=True, text=True)


def _pybde(path: Path, password: str | None = None, recovery: str | None = None) -> bytes:
    import pybde

    volume = pybde.volume()
    volume.open(str(path))
    try:
        if password:
            volume.set_password(password)
        if recovery:
            volume.set_recovery_password(recovery)
        assert volume.unlock()
        return volume.read_buffer(volume.get_size())
    finally:
        volume.close()


def _dissect(path: Path, password: str | None = None, recovery: str | None = None) -> bytes:
    from dissect.fve.bde import BDE

    with open(path, "rb") as fh:
        volume = BDE(fh)
        if password:
            volume.unlock_with_passphrase(password)
        else:
            volume.unlock_with_recovery_password(recovery)
        return volume.open().read()


def test_the_builder_is_read_by_libbde_and_dissect(bde):
    """Both independent readers decrypt each volume to the plain FAT (padded with the zeros they
    show for the two metadata blocks after it)."""
    xts, cbc = bde["xts"], bde["cbc"]
    assert _pybde(xts.path, password=PASSWORD) == bde["decrypted"]
    assert _dissect(xts.path, recovery=xts.recovery_password) == bde["decrypted"]
    assert _pybde(cbc.path, password=PASSWORD) == bde["decrypted"][:cbc.size]
    assert _dissect(cbc.path, password=PASSWORD) == bde["decrypted"][:cbc.size]


def _fls(image: Path) -> dict[str, int]:
    out = {}
    for line in subprocess.run([need_tool("fls"), "-r", "-p", str(image)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        meta, name = line.split(":\t", 1)
        out["/" + name] = int(meta.split()[-1].strip("*"))
    return out


def test_info_files_verify_with_the_password(bde):
    image = bde["xts"].path
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    info = _cli("info", str(image), "--password", PASSWORD, "--json")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["format_chain"] == ["raw", "bitlocker", "fat16"] and data["warnings"] == []
    (volume,) = data["volumes"]
    details = volume["encryption_details"]
    assert (volume["encryption"], volume["filesystem"], volume["fs_label"]) == ("bitlocker", "fat16", "BDEVOL")
    assert details["cipher"] == "aes-xts-128" and details["decrypted_size"] == bde["xts"].size
    assert details["key_protectors"] == "password, recovery password"
    assert details["created"] == "2022-06-18T04:26:40Z"
    files = _cli("files", str(image), "--password", PASSWORD, "--hash", "sha256")
    assert files.returncode == 0 and files.stderr == "", files.stderr
    records = {r["path"]: r for r in map(json.loads, files.stdout.splitlines())}
    assert {p: r["inode"] for p, r in records.items()} == _fls(bde["plain"])
    for path, rec in records.items():
        if rec["type"] == "file" and not rec["deleted"] and rec["size"]:
            icat = subprocess.run([need_tool("icat"), str(bde["plain"]), str(rec["inode"])], capture_output=True,
                                  check=True).stdout
            assert rec["sha256"] == hashlib.sha256(icat).hexdigest(), path
    assert {p: records[p]["sha256"] for p in bde["sources"]} == bde["sources"]
    assert records["/_one.txt"]["deleted"]  # FAT keeps a deleted name without its first letter
    verify = _cli("verify", str(image), "--password", PASSWORD, "--expect", f"sha256:{before}")
    assert verify.returncode == 0 and "bitlocker" in verify.stdout, verify.stdout + verify.stderr
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before


def test_wrong_password_is_one_line(bde):
    bad = _cli("files", str(bde["xts"].path), "--password", "not the password")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert "wrong password or recovery key for the bitlocker volume" in bad.stderr


def test_recovery_password(bde):
    files = _cli("files", str(bde["xts"].path), "--recovery-key", bde["xts"].recovery_password, "--hash", "sha256")
    assert files.returncode == 0, files.stderr
    records = {r["path"]: r for r in map(json.loads, files.stdout.splitlines())}
    assert {p: records[p]["sha256"] for p in bde["sources"]} == bde["sources"]


def test_truncated_volume_is_described_and_listed(bde):
    """The issue's case (all three metadata blocks before the cut, so libbde unlocks the volume and
    raises on reads past the end): the decrypted sectors end at 3 MiB of 8. Every entry TSK reads
    in the plain volume cut at the same place is listed, a directory cut short is a warning,
    content past the cut is a warning on its record, the rest hashes right."""
    image = bde["truncated"]
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    info = _cli("info", str(image), "--password", PASSWORD, "--json")
    assert info.returncode == 0 and "Traceback" not in info.stderr, info.stderr
    data = json.loads(info.stdout)
    (volume,) = data["volumes"]
    assert (volume["encryption"], volume["filesystem"]) == ("bitlocker", "fat16")
    assert volume["encryption_details"]["cipher"] == "aes-cbc-128"
    assert any("cannot be scanned to its end" in w for w in data["warnings"])
    files = _cli("files", str(image), "--password", PASSWORD, "--hash", "sha256")
    assert files.returncode == 0 and "Traceback" not in files.stderr, files.stderr
    records = {r["path"]: r for r in map(json.loads, files.stdout.splitlines())}
    cut = bde["truncated"].parent / "plain-cut.fat"  # the plain volume cut where the decrypted sectors end
    cut.write_bytes(bde["plain"].read_bytes()[:(3 << 20)])
    readable_names = _fls(cut)
    assert set(records) == set(readable_names)  # as TSK lists the same bytes in plain (TSK's virtual
    real = [p for p in records if not p.startswith("/$")]  # entries are numbered from the image's size)
    assert {p: records[p]["inode"] for p in real} == {p: readable_names[p] for p in real}
    assert len(readable_names) < len(_fls(bde["plain"]))  # a directory's later clusters lie past the cut
    assert "/Фото: listing stopped early" in files.stderr.replace("directory /Фото on volume (whole):", "/Фото:")
    readable = [p for p in bde["sources"] if p in records and records[p]["sha256"]]
    assert readable and len(readable) < len(bde["sources"])
    for path, digest in bde["sources"].items():
        if path in records:
            rec = records[path]
            assert rec["sha256"] == digest if rec["sha256"] else rec["warnings"], path
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before


def test_metadata_block_cut_off_is_one_line(bde):
    """libbde opens no volume that lacks one of its three metadata blocks (dissect.fve would read
    on with one): the error says which block and why, in one line, exit 2."""
    for command in ("info", "files"):
        bad = _cli(command, str(bde["cut_metadata"]), "--password", PASSWORD)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
        assert "secondary FVE metadata block cannot be read (truncated or damaged image?)" in bad.stderr


def test_an_unlocked_volume_is_not_reused_without_its_key(bde):
    """sources/bitlocker.py keeps unlocked volumes: opened again in the same process without the
    password, or with a wrong one, the volume must stay locked."""
    from evidencekit import open_evidence
    from evidencekit.errors import EvidenceError
    from evidencekit.sources.base import Credentials

    image = bde["xts"].path
    with open_evidence(image, Credentials(password=PASSWORD)) as ev:
        assert ev.volumes[0].filesystem == "fat16"
    with open_evidence(image, locked_ok=True) as ev:
        assert ev.volumes[0].locked
    with pytest.raises(EvidenceError, match="give --password"):
        open_evidence(image)
