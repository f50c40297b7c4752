"""Fixtures for the batch tests: ext4 images big enough (in inodes) to be split into segment units."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ektools import need_tool
from evidencekit.case import examiners


def build_ext4(work: Path, n_files: int, seed: str, inodes: int = 25_000, size_mb: int = 40) -> Path:
    """ext4 with ``inodes`` inodes (above parallel.MIN_INODES, so the walk is split) and ``n_files`` files."""
    need_tool("mke2fs")
    src = work / f"src-{seed}"
    for i in range(n_files):
        sub = src / f"d{i % 30:02d}" / f"s{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.txt").write_text(f"{seed} file {i}\n" * (1 + i % 9))
    image = work / f"ext4-{seed}.raw"
    with open(image, "wb") as fh:
        fh.truncate(size_mb << 20)
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": "1623657600", "TZ": "UTC", "LC_ALL": "C"}
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-N", str(inodes), "-L", seed[:16],
                    "-E", "root_owner=0:0", "-d", str(src), str(image)], check=True, env=env)
    os.chmod(image, 0o444)
    return image


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    work = tmp_path_factory.mktemp("batch-img")
    return [build_ext4(work, 600, "alpha"), build_ext4(work, 400, "beta")]


@pytest.fixture
def examiner() -> examiners.Examiner:
    return examiners.init_examiner("Alice Examiner", "alice")


def write_manifest(path: Path, cases: list[dict], examiner: str = "alice") -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"examiner": examiner, "cases": cases}, sort_keys=False, allow_unicode=True))
    return path


def case_entry(case_dir: Path, exhibits: list[tuple[str, Path]], steps: list[str] | None = None,
               number: str = "2026/0142", **options: object) -> dict:
    entry: dict = {"dir": str(case_dir), "number": number, "title": "Budget leak", "authority": "Order 77/2026",
                   "exhibits": [{"id": eid, "path": str(path)} for eid, path in exhibits]}
    if steps is not None:
        entry["steps"] = steps
    entry["options"] = {"artifacts": "none", **options}
    return entry
