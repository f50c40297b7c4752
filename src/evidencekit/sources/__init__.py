"""Detect what a piece of evidence is and open it read-only.

Detection is an ordered registry, most specific first, the dfvfs disk-image scanner last (it is
the catch-all): a logical extraction folder, a zip, a tar (plain or compressed), then anything
dfvfs can decode (raw, split raw, E01, VMDK, VHD, QCOW2, DMG, gzip-compressed images, ...).
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import zipfile
from collections.abc import Callable

from evidencekit.errors import EvidenceError
from evidencekit.sources.base import Credentials, Entry, Evidence

__all__ = ["Credentials", "Entry", "Evidence", "open_evidence", "DETECTORS"]


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


# (name, detect(path, first 512 bytes) -> bool, open(path, credentials, locked_ok) -> Evidence). Order matters.
DETECTORS: list[tuple[str, Callable[[str, bytes], bool], Callable[[str, Credentials, bool], Evidence]]] = [
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
    if require_evidence_file(text) == "directory":
        from evidencekit.sources.extraction import DirectoryExtraction

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
            evidence = opener(text, credentials, locked_ok)
            try:
                _check_claim(evidence)
                for segment in evidence.segment_files:
                    require_evidence_file(segment)
            except BaseException:
                evidence.close()
                raise
            return evidence
    raise EvidenceError(f"{text}: unrecognised evidence")  # unreachable: the disk scanner is the catch-all


def require_evidence_file(path: str) -> str:
    """"file", "block device" or "directory"; EvidenceError for anything else.

    A FIFO, character device or socket never ends (``/dev/zero``) or blocks for ever (a FIFO
    nobody writes): neither is a piece of evidence, and neither is a name that points nowhere.
    """
    target = os.path.realpath(path)
    shown = path if target == path else f"{path} (a link to {target})"
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            raise EvidenceError(f"{path}: dangling symbolic link (to {os.readlink(path)}): no evidence there") from None
        raise EvidenceError(f"{path}: no such file or directory") from None
    except OSError as err:
        raise EvidenceError(f"{path}: cannot be read: {err.strerror}") from err
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISBLK(mode):
        return "block device"
    what = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a special file")
    raise EvidenceError(f"{shown}: is {what}, not evidence: only regular files, block devices and "
                        "directories are read")


# A name that says which container the file is: a file so named that does not open as one is
# damaged or misnamed, and is refused rather than read as a raw disk image.
CLAIMED_FORMATS = [
    (re.compile(r"\.(e|ex|s)\d\d$", re.IGNORECASE), "ewf", "an E01 (EWF) image"),
    (re.compile(r"\.qcow2?$", re.IGNORECASE), "qcow", "a QCOW image"),
    (re.compile(r"\.vmdk$", re.IGNORECASE), "vmdk", "a VMDK image"),
    (re.compile(r"\.vhdx?$", re.IGNORECASE), "vhd", "a VHD image"),
    (re.compile(r"\.zip$", re.IGNORECASE), "zip", "a zip archive"),
    (re.compile(r"\.(tar|tgz|tar\.gz)$", re.IGNORECASE), "tar", "a tar archive"),
]


def _check_claim(evidence: Evidence) -> None:
    found = {evidence.kind, *evidence.format_chain}
    for pattern, fmt, name in CLAIMED_FORMATS:
        if pattern.search(evidence.path) and fmt not in found:
            raise EvidenceError(f"{evidence.path}: named as {name} but cannot be read as one (damaged, or a "
                                f"misnamed {' -> '.join(evidence.format_chain) or evidence.kind} file: rename it "
                                "to open it as such)")
