"""Helpers every test may import (``from ektools import need_tool, CORPUS``).

They live here rather than in conftest.py because several test folders have a conftest.py of
their own, and ``from conftest import ...`` then finds whichever was imported last.
"""

from __future__ import annotations

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
    "mmls": "sleuthkit", "pstat": "sleuthkit", "hashdeep": "hashdeep", "yara": "yara", "ewfacquire": "ewf-tools",
    "mkfs.fat": "dosfstools", "mcopy": "mtools", "mattrib": "mtools", "mke2fs": "e2fsprogs", "debugfs": "e2fsprogs",
    "mkntfs": "ntfs-3g", "sfdisk": "fdisk", "sgdisk": "gdisk", "qemu-img": "qemu-utils",
    "faketime": "faketime", "cryptsetup": "cryptsetup-bin", "ewfverify": "ewf-tools",
    "mkfs.exfat": "exfatprogs", "mount.exfat-fuse": "exfat-fuse",
    "pdftotext": "poppler-utils", "pdfdetach": "poppler-utils", "pdftoppm": "poppler-utils",
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
