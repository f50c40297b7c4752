"""Detect what a piece of evidence is and open it read-only.

Detection asks the ``source`` detectors of the plugin registry in order, most specific first,
the dfvfs disk-image scanner last (it is the catch-all): a zip, a tar (plain or compressed), then
anything dfvfs can decode (raw, split raw, E01, VMDK, VHD, QCOW2, DMG, gzip-compressed images,
...). A folder is a logical extraction. A new format is one module with a :class:`Detector` and
one registration (see ``sources/plugin.py`` and docs/architecture.md).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass

from evidencekit.errors import EvidenceError
from evidencekit.sources.base import Credentials, Entry, Evidence
from evidencekit.sources.names import NAME_ENCODINGS, check_name_encoding

__all__ = ["Credentials", "Entry", "Evidence", "open_evidence", "fork_safe", "reset_after_fork", "NAME_ENCODINGS"]


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
                  locked_ok: bool = False, name_encoding: str | None = None, source_tz: str | None = None,
                  as_archive: bool = False) -> Evidence:
    """Open evidence read-only, detecting its whole format chain.

    With ``locked_ok``, an encrypted volume with no key given is listed as locked (its media can
    still be hashed) instead of being an error; a wrong key is an error either way.
    ``name_encoding`` (cp1251, cp866, koi8-r) decodes the archive and folder names that are not
    UTF-8 (and a zip's names stored without its UTF-8 flag); their raw bytes are kept either way.
    ``source_tz`` (IANA name) is the zone of the machine that wrote local-time fields (FAT,
    exFAT without UTC offsets, zip DOS times); UTC when not given. Records name it (``assumed_zone``).
    ``as_archive`` lists a zip or tar as an extraction even when it holds one disk image.

    Raises:
        EvidenceError: missing, unreadable, empty, or not decodable; CredentialError for a wrong
            or missing password of an encrypted volume.
    """
    text = os.path.abspath(os.fspath(path))
    credentials = credentials or Credentials()
    encoding = check_name_encoding(name_encoding)
    if source_tz is not None:
        from evidencekit.times import zone

        zone(source_tz)  # ValidationError naming the option when unknown
        source_tz = "UTC" if source_tz.upper() in ("UTC", "Z") else source_tz
    ev = _open_archive(text, credentials) if as_archive else _open(text, credentials, locked_ok)
    ev.name_encoding = encoding
    if ev.name_encoding and ev.kind == "disk_image":
        ev.warnings.append(f"--name-encoding {ev.name_encoding} applies to archive and folder names only")
    if source_tz is not None:
        ev.set_source_tz(source_tz)
    return ev


def _open_archive(text: str, credentials: Credentials) -> Evidence:
    """The zip or tar itself as an extraction (``--as-archive``)."""
    from evidencekit.sources.plugin import is_tar, is_zip

    if not os.path.isfile(text):
        raise EvidenceError("{path}: no such file (--as-archive)", path=text)
    head = _head(text)
    if is_zip(text, head):
        from evidencekit.sources.extraction import ZipExtraction

        return ZipExtraction(text, credentials)
    if is_tar(text, head):
        from evidencekit.sources.extraction import TarExtraction

        return TarExtraction(text)
    raise EvidenceError("{path}: not a zip or tar archive (--as-archive)", path=text)


def _head(text: str) -> bytes:
    try:
        with open(text, "rb") as fh:
            head = fh.read(512)
    except OSError as err:
        raise EvidenceError("{path}: cannot be read: {cause}", path=text, cause=err.strerror) from err
    if not head:
        raise EvidenceError("{path}: empty file", path=text)
    return head


def _open(text: str, credentials: Credentials, locked_ok: bool) -> Evidence:
    if require_evidence_file(text) == "directory":
        from evidencekit.sources.extraction import DirectoryExtraction
        from evidencekit.sources.ios_backup import EncryptedIosBackup, encrypted_manifest

        if (manifest := encrypted_manifest(text)) is not None:  # an encrypted iTunes/Finder backup
            return EncryptedIosBackup(text, manifest, credentials, locked_ok)
        return DirectoryExtraction(text)
    head = _head(text)
    from evidencekit.registry import registry

    plugins = registry()
    for item in plugins.items("source"):
        detector: Detector = plugins.resolve(item)
        if detector.detect(text, head):
            evidence = detector.open(text, credentials, locked_ok)
            try:
                _check_claim(evidence)
                for segment in evidence.segment_files:
                    require_evidence_file(segment)
            except BaseException:
                evidence.close()
                raise
            return evidence
    raise EvidenceError("{text}: unrecognised evidence", text=text)  # unreachable: the disk scanner is the catch-all


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
            raise EvidenceError("{path}: dangling symbolic link (to {target}): no evidence there", path=path,
                                target=os.readlink(path)) from None
        raise EvidenceError("{path}: no such file or directory", path=path) from None
    except OSError as err:
        raise EvidenceError("{path}: cannot be read: {cause}", path=path, cause=err.strerror) from err
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISBLK(mode):
        return "block device"
    what = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a special file")
    raise EvidenceError("{shown}: is {what}, not evidence: only regular files, block devices and "
                        "directories are read", shown=shown, what=what)


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
            raise EvidenceError("{path}: named as {name} but cannot be read as one (damaged, or a misnamed "
                                "{listing} file: rename it to open it as such)", path=evidence.path,
                                name=name, listing=' -> '.join(evidence.format_chain) or evidence.kind)
