"""Fixtures for the scan tests: small evidence with known content built on the fly, a case."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ektools import need_tool
from evidencekit.case import Case, examiners

DATA = Path(__file__).resolve().parent / "data"
RULES = DATA / "rules"

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
JPEG = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xdb\x00\x43\x00" + bytes(range(64)) + b"\xff\xd9")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00\x90\x91h6"
PE = (b"MZ\x90\x00" + b"\x00" * 56 + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00L\x01\x03\x00"
      + b"\x00" * 12 + b"\xe0\x00\x02\x01" + b"\x0b\x01" + b"\x00" * 300)
WEBSHELL = b'<?php\nif (isset($_POST["c"])) { @eval(base64_decode($_POST["c"])); }\n?>\n'
MIMIKATZ = b"mimikatz 2.2.0 (x64) #19041\n  .#####.   gentilkiwi\nmimikatz # privilege::debug\n" \
           b"mimikatz # sekurlsa::logonpasswords\n"

# name -> content of the evidence tree (ext4 and FAT images and a plain folder are built from it)
TREE = {
    "photo.txt": JPEG,  # a JPEG named .txt: mismatch
    "invoice.pdf": PE,  # an executable named .pdf: mismatch
    "logo.png": PNG,  # agrees
    "readme.txt": b"Quarterly figures, see the attached spreadsheet.\n" * 20,  # agrees
    "www/upload.php": WEBSHELL,
    "tools/notes.txt": MIMIKATZ,
    "eicar.com": EICAR,
}


def write_tree(root: Path, tree: dict[str, bytes] = TREE) -> Path:
    for name, data in tree.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def build_ext4(work: Path, tree: dict[str, bytes] = TREE) -> Path:
    need_tool("mke2fs")
    src = write_tree(work / "src", tree)
    image = work / "scan-ext4.raw"
    with open(image, "wb") as fh:
        fh.truncate(16 << 20)
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": "1623657600", "TZ": "UTC", "LC_ALL": "C"}
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-L", "SCAN",
                    "-U", "5eed0000-0000-4000-8000-00000000000a", "-E", "root_owner=0:0",
                    "-d", str(src), str(image)], check=True, env=env)
    return image


def build_fat_with_deleted(work: Path) -> Path:
    """FAT16 image with tools/notes.txt (mimikatz strings) deleted by mdel: name and content stay."""
    need_tool("mkfs.fat")
    need_tool("mcopy")
    src = write_tree(work / "fatsrc")
    image = work / "scan-fat16.raw"
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1", "TZ": "UTC", "LC_ALL": "C"}
    subprocess.run(["mkfs.fat", "-C", "-F", "16", "-S", "512", "-s", "1", "-h", "0", "-i", "16F16F16",
                    "-n", "SCAN", str(image), "16384"], check=True, env=env, capture_output=True)
    for folder in ("www", "tools"):
        subprocess.run(["mmd", "-i", str(image), f"::/{folder}"], check=True, env=env)
    for name in TREE:
        subprocess.run(["mcopy", "-i", str(image), str(src / name), f"::/{name}"], check=True, env=env)
    subprocess.run(["mdel", "-i", str(image), "::/tools/notes.txt"], check=True, env=env)
    return image


@pytest.fixture(scope="session")
def ext4_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ext4(tmp_path_factory.mktemp("scanimg"))


@pytest.fixture(scope="session")
def fat_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fat_with_deleted(tmp_path_factory.mktemp("scanfat"))


@pytest.fixture
def examiner() -> examiners.Examiner:
    return examiners.init_examiner("Scan Examiner", "scanner")


@pytest.fixture
def processed_case(tmp_path: Path, examiner: examiners.Examiner, ext4_image: Path) -> Iterator[Case]:
    from evidencekit.pipeline.intake import add_exhibit
    from evidencekit.pipeline.processing import process_exhibit

    case = Case.init(tmp_path / "case", number="2026/0007", title="Scan test", authority="Warrant W-7",
                     examiner=examiner)
    add_exhibit(case, ext4_image, "E1", examiner)
    process_exhibit(case, "E1", examiner)
    yield case
    case.close()
