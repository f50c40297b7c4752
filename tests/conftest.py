"""Shared fixtures: the third-party corpus, Debian tools, and an isolated evidencekit home."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("EVIDENCEKIT_CORPUS", ROOT.parent / "shared" / "corpus"))
IN_CI = os.environ.get("CI", "").lower() == "true"

# Debian package that provides each external tool the tests use.
TOOL_PACKAGES = {
    "fls": "sleuthkit", "icat": "sleuthkit", "mactime": "sleuthkit", "istat": "sleuthkit",
    "mmls": "sleuthkit", "hashdeep": "hashdeep", "yara": "yara", "ewfacquire": "ewf-tools",
    "mkfs.fat": "dosfstools", "mcopy": "mtools", "mke2fs": "e2fsprogs", "debugfs": "e2fsprogs",
    "mkntfs": "ntfs-3g", "sfdisk": "fdisk", "sgdisk": "gdisk", "qemu-img": "qemu-utils",
    "faketime": "faketime", "cryptsetup": "cryptsetup-bin",
}


def need_tool(name: str) -> str:
    """Return the tool's path; skip (or fail in CI) with the Debian package to install."""
    path = shutil.which(name)
    if path:
        return path
    msg = f"{name} not installed: apt-get install {TOOL_PACKAGES.get(name, name)} (or 'make sysdeps' as root)"
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The third-party corpus folder; skipped when absent, a failure when CI=true."""
    if not (CORPUS / "answers.json").is_file():
        if IN_CI:
            pytest.fail(f"corpus missing at {CORPUS} (CI=true requires it)")
        pytest.skip(f"corpus not present at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def answers(corpus: Path) -> dict:
    return json.loads((corpus / "answers.json").read_text())


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep examiner keys and settings of tests out of the real home directory."""
    monkeypatch.setenv("EVIDENCEKIT_HOME", str(tmp_path_factory.mktemp("ekhome")))
