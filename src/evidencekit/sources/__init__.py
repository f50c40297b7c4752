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


def _has_member(path: str, name: str) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            zf.getinfo(name)
            return True
    except (zipfile.BadZipFile, KeyError, OSError):
        return False


def _is_ufdr(path: str, head: bytes) -> bool:
    """A zip named .ufdr, or any zip holding report.xml (the name check spares reading a large
    central directory twice)."""
    return _is_zip(path, head) and (path.lower().endswith(".ufdr") or _has_member(path, "report.xml"))


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


def _android_backup(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    from evidencekit.sources.android_backup import AndroidBackup

    return AndroidBackup(path, credentials, locked_ok)


def _ufdr(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    from evidencekit.sources.ufdr import UfdrReport

    return UfdrReport(path, credentials)


def _disk(path: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    from evidencekit.sources.disk import DiskImage

    return DiskImage(path, credentials, locked_ok)


# (name, detect(path, first 512 bytes) -> bool, open(path, credentials, locked_ok) -> Evidence). Order matters.
DETECTORS: list[tuple[str, Callable[[str, bytes], bool], Callable[[str, Credentials, bool], Evidence]]] = [
    ("android_backup", lambda path, head: head.startswith(b"ANDROID BACKUP\n"), _android_backup),
    ("ufdr", lambda path, head: _is_ufdr(path, head), _ufdr),
    ("zip", _is_zip, _zip),
    ("tar", _is_tar, _tar),
    ("disk_image", lambda path, head: True, _disk),
]


def open_evidence(path: str | os.PathLike[str], credentials: Credentials | None = None,
                  locked_ok: bool = False) -> Evidence:
    """Open evidence read-only, detecting its whole format chain.

    With ``locked_ok``, an encrypted volume with no key given is listed as locked (its media can
    still be hashed) instead of being an error; a wrong key is an error either way.

    Raises:
        EvidenceError: missing, unreadable, empty, or not decodable; CredentialError for a wrong
            or missing password of an encrypted volume.
    """
    text = os.path.abspath(os.fspath(path))
    credentials = credentials or Credentials()
    if not os.path.exists(text):
        raise EvidenceError(f"{text}: no such file or directory")
    if os.path.isdir(text):
        from evidencekit.sources.extraction import DirectoryExtraction
        from evidencekit.sources.ios_backup import EncryptedIosBackup, encrypted_manifest

        if (manifest := encrypted_manifest(text)) is not None:  # an encrypted iTunes/Finder backup
            return EncryptedIosBackup(text, manifest, credentials, locked_ok)
        return DirectoryExtraction(text)
    try:
        with open(text, "rb") as fh:
            head = fh.read(512)
    except OSError as err:
        raise EvidenceError(f"{text}: cannot be read: {err.strerror}") from err
    if not head:
        raise EvidenceError(f"{text}: empty file")
    for _name, detect, opener in DETECTORS:
        if detect(text, head):
            return opener(text, credentials, locked_ok)
    raise EvidenceError(f"{text}: unrecognised evidence")  # unreachable: the disk scanner is the catch-all
