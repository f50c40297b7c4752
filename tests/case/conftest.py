"""Fixtures for the case store tests: small ext4 images built on the fly, examiners, cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from case.util import build_ext4
from evidencekit.case import Case, examiners
from evidencekit.pipeline.intake import add_exhibit


@pytest.fixture(scope="session")
def small_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ext4(tmp_path_factory.mktemp("img"), 40, seed="small")


@pytest.fixture(scope="session")
def medium_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ext4(tmp_path_factory.mktemp("img"), 3000, size_mb=32, seed="medium")


@pytest.fixture
def examiner() -> examiners.Examiner:
    return examiners.init_examiner("Alice Examiner", "alice")


@pytest.fixture
def case(tmp_path: Path, examiner: examiners.Examiner) -> Iterator[Case]:
    c = Case.init(tmp_path / "case", number="2026/0142", title="Test case", authority="Warrant W-77",
                  authority_date="2026-11-01", examiner=examiner)
    yield c
    c.close()


@pytest.fixture
def processed_case(case: Case, examiner: examiners.Examiner, small_image: Path) -> Case:
    from evidencekit.pipeline.processing import process_exhibit

    add_exhibit(case, small_image, "E1", examiner)
    process_exhibit(case, "E1", examiner)
    return case
