"""The built-in evidence formats: Android backups, Cellebrite UFDRs, zip and tar extractions, and
every disk image dfvfs decodes (encrypted iOS backup folders are recognised in ``open_evidence``)."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from typing import TYPE_CHECKING

from evidencekit.errors import EvidenceError
from evidencekit.sources import Detector
from evidencekit.sources.base import Credentials, Evidence

if TYPE_CHECKING:
    from evidencekit.registry import Registry


def is_zip(path: str, head: bytes) -> bool:
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        return False
    if not zipfile.is_zipfile(path):  # a zip without its central directory is no raw disk image either
        raise EvidenceError("{path}: starts like a zip archive but cannot be read as one (no central "
                            "directory: truncated or damaged)", path=path)
    return True


def is_tar(path: str, head: bytes) -> bool:
    opener = gzip.open if head[:2] == b"\x1f\x8b" else bz2.open if head[:3] == b"BZh" else \
        lzma.open if head[:6] == b"\xfd7zXZ\x00" else None
    if opener is not None:
        try:
            with opener(path, "rb") as fh:
                head = fh.read(512)
        except (OSError, EOFError, lzma.LZMAError):
            return False
    return len(head) >= 263 and head[257:262] == b"ustar"


def _zip(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    from evidencekit.sources.extraction import ZipExtraction

    return ZipExtraction(path, credentials)


def _tar(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    """The one disk image a tar holds, when it holds one (sources/tar_image.py); else the tar as an extraction."""
    from evidencekit.sources.extraction import TarExtraction
    from evidencekit.sources.tar_image import image_member

    member = image_member(path)
    if member is not None:
        from evidencekit.sources.disk import DiskImage

        image = DiskImage(path, credentials, locked_ok, tar_member=member)
        if image.volumes:
            return image
        image.close()
    return TarExtraction(path)


def _disk(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    from evidencekit.sources.disk import DiskImage

    return DiskImage(path, credentials, locked_ok)


def _is_ufdr(path: str, head: bytes) -> bool:
    """A zip named .ufdr, or any zip holding report.xml (the name check spares reading a large
    central directory twice)."""
    if not is_zip(path, head):
        return False
    if path.lower().endswith(".ufdr"):
        return True
    from evidencekit.sources.zipnames import open_zip

    try:
        zf, _masked, view = open_zip(path)  # a name not UTF-8 under the UTF-8 flag must not stop it
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False
    try:
        zf.getinfo("report.xml")
        return True
    except KeyError:
        return False
    finally:
        zf.close()
        if view is not None:
            view.close()


def _ufdr(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    from evidencekit.sources.ufdr import UfdrReport

    return UfdrReport(path, credentials)


def _is_android_backup(path: str, head: bytes) -> bool:
    return head.startswith(b"ANDROID BACKUP\n")


def _android_backup(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    from evidencekit.sources.android_backup import AndroidBackup

    return AndroidBackup(path, credentials, locked_ok)


def _any(path: str, head: bytes) -> bool:
    return True


def register(registry: Registry) -> None:
    # order: most specific first; the disk-image scanner accepts anything and comes last
    registry.add("source", "android_backup", Detector(_is_android_backup, _android_backup), order=50)
    registry.add("source", "ufdr", Detector(_is_ufdr, _ufdr), order=90)
    registry.add("source", "zip", Detector(is_zip, _zip), order=100)
    registry.add("source", "tar", Detector(is_tar, _tar), order=200)
    registry.add("source", "disk_image", Detector(_any, _disk), order=10_000)


