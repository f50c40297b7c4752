"""Detect what a piece of evidence is and open it read-only.

Detection asks the ``source`` detectors of the plugin registry in order, most specific first,
the dfvfs disk-image scanner last (it is the catch-all): a zip, a tar (plain or compressed), then
anything dfvfs can decode (raw, split raw, E01, VMDK, VHD, QCOW2, DMG, gzip-compressed images,
...). A folder is a logical extraction. A new format is one module with a :class:`Detector` and
one registration (see ``sources/plugin.py`` and docs/architecture.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from evidencekit.errors import EvidenceError
from evidencekit.sources.base import Credentials, Entry, Evidence

__all__ = ["Credentials", "Entry", "Evidence", "open_evidence", "fork_safe", "reset_after_fork"]


def fork_safe() -> bool:
    """Whether forked listing workers can be isolated from the parent's dfvfs state."""
    from evidencekit.sources.dfvfs_support import fork_safe as check

    return check()


def reset_after_fork() -> None:
    """Call first in a forked worker: dfvfs state of its own (see sources.dfvfs_support)."""
    from evidencekit.sources.dfvfs_support import reset_after_fork as reset

    reset()


@dataclass(frozen=True)
class Detector:
    """One evidence format: ``detect(path, first 512 bytes)`` says whether it is this format,
    ``open(path, credentials, locked_ok)`` opens it (an :class:`Evidence`)."""

    detect: Callable[[str, bytes], bool]
    open: Callable[[str, Credentials, bool], Evidence]


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
    from evidencekit.sources.plugin import is_tar, is_zip

    if not os.path.isfile(text):
        raise EvidenceError(f"{text}: no such file (--as-archive)")
    head = _head(text)
    if is_zip(text, head):
        from evidencekit.sources.extraction import ZipExtraction

        return ZipExtraction(text, credentials)
    if is_tar(text, head):
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
    from evidencekit.registry import registry

    plugins = registry()
    for item in plugins.items("source"):
        detector: Detector = plugins.resolve(item)
        if detector.detect(text, head):
            return detector.open(text, credentials, locked_ok)
    raise EvidenceError(f"{text}: unrecognised evidence")  # unreachable: the disk scanner is the catch-all
