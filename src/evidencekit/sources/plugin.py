"""The built-in evidence formats: zip and tar extractions, and every disk image dfvfs decodes."""

from __future__ import annotations

import gzip
import zipfile
from typing import TYPE_CHECKING

from evidencekit.errors import EvidenceError
from evidencekit.sources import Detector
from evidencekit.sources.base import Credentials, Evidence

if TYPE_CHECKING:
    from evidencekit.registry import Registry


def _is_zip(path: str, head: bytes) -> bool:
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        return False
    if not zipfile.is_zipfile(path):  # a zip without its central directory is no raw disk image either
        raise EvidenceError(f"{path}: starts like a zip archive but cannot be read as one "
                            "(no central directory: truncated or damaged)")
    return True


def _is_tar(path: str, head: bytes) -> bool:
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as fh:
                head = fh.read(512)
        except (OSError, EOFError):
            return False
    return len(head) >= 263 and head[257:262] == b"ustar"


def _zip(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    from evidencekit.sources.extraction import ZipExtraction

    return ZipExtraction(path, credentials)


def _tar(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    from evidencekit.sources.extraction import TarExtraction

    return TarExtraction(path)


def _disk(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    from evidencekit.sources.disk import DiskImage

    return DiskImage(path, credentials, locked_ok)


def _any(path: str, head: bytes) -> bool:
    return True


def register(registry: Registry) -> None:
    # order: most specific first; the disk-image scanner accepts anything and comes last
    registry.add("source", "zip", Detector(_is_zip, _zip), order=100)
    registry.add("source", "tar", Detector(_is_tar, _tar), order=200)
    registry.add("source", "disk_image", Detector(_any, _disk), order=10_000)


