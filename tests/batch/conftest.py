"""Fixtures for the batch tests: ext4 images big enough (in inodes) to be split into segment units."""

from __future__ import annotations

from pathlib import Path

import pytest
from batchutil import build_ext4

from evidencekit.case import examiners


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    work = tmp_path_factory.mktemp("batch-img")
    return [build_ext4(work, 600, "alpha"), build_ext4(work, 400, "beta")]


@pytest.fixture
def examiner() -> examiners.Examiner:
    return examiners.init_examiner("Alice Examiner", "alice")


