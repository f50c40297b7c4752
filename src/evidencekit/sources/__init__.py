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

        return DirectoryExtraction(text)
    try:
        with open(text, "rb") as fh:
            head = fh.read(512)
    except OSError as err:
        raise EvidenceError(f"{text}: cannot be read: {err.strerror}") from err
    if not head:
        raise EvidenceError(f"{text}: empty file")
    from evidencekit.registry import registry

    plugins = registry()
    for item in plugins.items("source"):
        detector: Detector = plugins.resolve(item)
        if detector.detect(text, head):
            return detector.open(text, credentials, locked_ok)
    raise EvidenceError(f"{text}: unrecognised evidence")  # unreachable: the disk scanner is the catch-all
