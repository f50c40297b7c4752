"""Detect what a piece of evidence is and open it read-only.

Detection is an ordered registry, most specific first, the dfvfs disk-image scanner last (it is
the catch-all): a logical extraction folder, a zip, a tar (plain or compressed), then anything
dfvfs can decode (raw, split raw, E01, VMDK, VHD, QCOW2, DMG, gzip-compressed images, ...).
"""

from __future__ import annotations

import gzip
import os
import zipfile
from collections.abc import Callable

from evidencekit.errors import EvidenceError
from evidencekit.sources.base import Credentials, Entry, Evidence

__all__ = ["Credentials", "Entry", "Evidence", "open_evidence", "DETECTORS"]


def _is_zip(path: str, head: bytes) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06") and zipfile.is_zipfile(path)


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


# (name, detect(path, first 512 bytes) -> bool, open(path, credentials, locked_ok) -> Evidence). Order matters.
DETECTORS: list[tuple[str, Callable[[str, bytes], bool], Callable[[str, Credentials, bool], Evidence]]] = [
    ("zip", _is_zip, _zip),
    ("tar", _is_tar, _tar),
    ("disk_image", lambda path, head: True, _disk),
]


def open_evidence(path: str | os.PathLike[str], credentials: Credentials | None = None,
                  locked_ok: bool = False, source_tz: str | None = None, as_archive: bool = False) -> Evidence:
    """Open evidence read-only, detecting its whole format chain.

    With ``locked_ok``, an encrypted volume with no key given is listed as locked (its media can
    still be hashed) instead of being an error; a wrong key is an error either way.
    ``as_archive`` lists a zip or tar as an extraction even when it holds one disk image.
    ``source_tz`` (IANA name) is the zone of the machine that wrote local-time fields (FAT,
    exFAT without UTC offsets, zip DOS times); UTC when not given. Records name it (``assumed_zone``).

    Raises:
        EvidenceError: missing, unreadable, empty, or not decodable; CredentialError for a wrong
            or missing password of an encrypted volume.
    """
    text = os.path.abspath(os.fspath(path))
    credentials = credentials or Credentials()
    if source_tz is not None:
        from evidencekit.times import zone

        zone(source_tz)  # ValidationError naming the option when unknown
        source_tz = "UTC" if source_tz.upper() in ("UTC", "Z") else source_tz
    evidence = _open_archive(text, credentials) if as_archive else _open(text, credentials, locked_ok)
    if source_tz is not None:
        evidence.set_source_tz(source_tz)
    return evidence


def _open_archive(text: str, credentials: Credentials) -> Evidence:
    """The zip or tar itself as an extraction (``--as-archive``)."""
    if not os.path.isfile(text):
        raise EvidenceError(f"{text}: no such file (--as-archive)")
    head = _head(text)
    if _is_zip(text, head):
        return _zip(text, credentials, False)
    if _is_tar(text, head):
        from evidencekit.sources.extraction import TarExtraction

        return TarExtraction(text)
    raise EvidenceError(f"{text}: not a zip or tar archive (--as-archive)")


def _head(text: str) -> bytes:
    try:
        with open(text, "rb") as fh:
            head = fh.read(512)
    except OSError as err:
        raise EvidenceError(f"{text}: cannot be read: {err.strerror}") from err
    if not head:
        raise EvidenceError(f"{text}: empty file")
    return head


def _open(text: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    if not os.path.exists(text):
        raise EvidenceError(f"{text}: no such file or directory")
    if os.path.isdir(text):
        from evidencekit.sources.extraction import DirectoryExtraction

        return DirectoryExtraction(text)
    head = _head(text)
    for _name, detect, opener in DETECTORS:
        if detect(text, head):
            return opener(text, credentials, locked_ok)
    raise EvidenceError(f"{text}: unrecognised evidence")  # unreachable: the disk scanner is the catch-all
