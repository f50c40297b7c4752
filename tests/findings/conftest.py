"""Fixtures for findings, extraction and report tests: the training images as processed cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evidencekit.case import Case, examiners
from evidencekit.pipeline.intake import Seizure, add_exhibit
from evidencekit.pipeline.processing import process_exhibit

ROOT = Path(__file__).resolve().parents[2]
WORKSTATION = ROOT / "training_images" / "office-workstation" / "workstation.E01"
USB = ROOT / "training_images" / "usb-data-theft" / "usb.img.gz"
DROPPER = "/Users/m.ivanova/Downloads/Invoice_7731.pdf.exe"  # deleted, MFT entry 81
ZONE = "/Users/m.ivanova/Downloads/Invoice_7731.zip:Zone.Identifier"  # NTFS stream 80-128-4


@pytest.fixture
def examiner() -> examiners.Examiner:
    return examiners.init_examiner("Alice Marie Examiner", "alice")


def new_case(root: Path, examiner: examiners.Examiner, process: bool = True) -> Case:
    case = Case.init(root, number="2026/0142", title="Phishing at the office", authority="Order 12-34/2026",
                     authority_date="2026-11-01", examiner=examiner)
    add_exhibit(case, WORKSTATION, "E1", examiner, Seizure(description="Office workstation disk", seal="SEAL-0001"))
    if process:
        process_exhibit(case, "E1", examiner)
    return case


@pytest.fixture
def ws_case(tmp_path: Path, examiner: examiners.Examiner) -> Iterator[Case]:
    case = new_case(tmp_path / "case", examiner)
    yield case
    case.close()
