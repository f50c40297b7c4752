"""Fixtures for the SOP tests: a small ext4 image (with the EICAR test file), examiners, a case."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ektools import ROOT, need_tool
from evidencekit.case import Case, examiners
from evidencekit.pipeline.intake import add_exhibit

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
UUID = "5e0b5e0b-0000-4000-8000-000000000001"
ANDROID_ZIP = ROOT / "training_images" / "mobile" / "android-extraction.zip"


def build_ext4(work: Path, with_eicar: bool) -> Path:
    """A 8 MiB ext4 image of a few files, byte-reproducible (fixed time, UUID and hash seed)."""
    need_tool("mke2fs")
    src = work / "src"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "minutes.txt").write_text("Minutes of the board meeting, 12 June 2021.\n")
    (src / "docs" / "budget.csv").write_text("item,amount\nservers,1200\n")
    if with_eicar:
        (src / "tools").mkdir()
        (src / "tools" / "eicar.com").write_bytes(EICAR)
    image = work / "disk.img"
    with image.open("wb") as fh:
        fh.truncate(8 << 20)
    env = dict(os.environ, E2FSPROGS_FAKE_TIME="1623657600", TZ="UTC")
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "SOPTEST", "-U", UUID,
                    "-E", f"hash_seed={UUID},root_owner=0:0", "-d", str(src), str(image)], check=True, env=env)
    return image


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def clean_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ext4(tmp_path_factory.mktemp("clean"), with_eicar=False)


@pytest.fixture(scope="session")
def eicar_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ext4(tmp_path_factory.mktemp("eicar"), with_eicar=True)


@pytest.fixture(scope="session")
def android_zip() -> Path:
    """The training Android extraction (it stores folder entries, which dfvfs and plaso need)."""
    if not ANDROID_ZIP.is_file():
        pytest.skip(f"{ANDROID_ZIP} not built ('evidencekit training build mobile')")
    return ANDROID_ZIP


@pytest.fixture
def alice() -> examiners.Examiner:
    return examiners.init_examiner("Alice Examiner", "alice")


@pytest.fixture
def bob() -> examiners.Examiner:
    return examiners.init_examiner("Bob Reviewer", "bob")


@pytest.fixture
def case(tmp_path: Path, alice: examiners.Examiner) -> Iterator[Case]:
    c = Case.init(tmp_path / "case", number="2026/0142", title="SOP test case", authority="Warrant W-77",
                  authority_date="2026-11-01", examiner=alice)
    yield c
    c.close()


@pytest.fixture
def case_e1(case: Case, alice: examiners.Examiner, eicar_image: Path) -> Case:
    """A case with exhibit E1: the EICAR image, registered with its true acquisition hash."""
    add_exhibit(case, eicar_image, "E1", alice, acquisition_hash=f"sha256:{sha256(eicar_image)}")
    return case
