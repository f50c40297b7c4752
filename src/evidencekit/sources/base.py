"""What every kind of evidence offers: volumes, entries, content readers and the decoded media."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from evidencekit.errors import EvidenceError
from evidencekit.models import AcquisitionInfo, FileRecord, Locator, VolumeInfo

_PREFIX = re.compile(r"^(?:[A-Za-z_]+_[A-Za-z_]+: |Unable to process source path specification with error: )+")


def explain(err: BaseException) -> str:
    """One short line for a libyal/dfvfs/TSK error chain, naming the cause an examiner can act on."""
    text = " ".join(str(err).split()).strip("'\" ")
    if "missing segment file" in text:
        offset = re.search(r"missing segment file for offset: (\d+)", text)
        where = f" (no segment holds offset {offset.group(1)})" if offset else ""
        return f"missing segment file: the segment set is incomplete{where}"
    if "chunk data" in text or "unable to read data" in text:
        return "truncated or corrupt container: a data chunk cannot be read"
    block = re.search(r"unable to read (primary|secondary|tertiary) metadata block", text)
    if block:  # libbde opens no BitLocker volume that lacks one of its three FVE metadata blocks
        return (f"the BitLocker volume's {block.group(1)} FVE metadata block cannot be read (truncated or damaged "
                "image?): libbde needs all three")
    if "checksum" in text.lower():
        return "corrupt: checksum mismatch"
    first = _PREFIX.sub("", text.split(". ")[0]).rstrip(".")
    return (first[:160] + "...") if len(first) > 160 else (first or type(err).__name__)


@dataclass(frozen=True)
class Credentials:
    """Secrets for encrypted volumes (BitLocker, LUKS, FileVault). Never logged or recorded."""

    password: str | None = None
    recovery_key: str | None = None

    def pairs(self) -> list[tuple[str, str]]:
        """dfvfs credential (type, value) pairs, in the order they are tried."""
        out = []
        if self.password is not None:
            out.append(("password", self.password))
        if self.recovery_key is not None:
            out.append(("recovery_password", self.recovery_key))
        return out


class Entry:
    """One listed entry: its record (hashes not yet filled) and a way to read its content.

    A source gives either ``opener`` (returns a stream) or ``read_at(offset, size) -> bytes`` over
    the record's ``size`` bytes: the latter lets the inventory read a small file in one call.

    ``stated`` is (who states them, {algorithm: hex}): hashes the source itself records for the
    content (a UFDR's report.xml); the inventory checks them and warns on a mismatch.
    """

    __slots__ = ("record", "_opener", "read_at", "stated")

    def __init__(self, record: FileRecord, opener: Callable[[], BinaryIO] | None = None,
                 read_at: Callable[[int, int], bytes] | None = None,
                 stated: tuple[str, dict[str, str]] | None = None):
        self.record = record
        self._opener = opener
        self.read_at = read_at
        self.stated = stated

    @property
    def has_content(self) -> bool:
        """Whether the entry has content that :meth:`open` can read."""
        return self._opener is not None or self.read_at is not None

    def open(self) -> BinaryIO:
        """A read-only stream of the entry's content (for NTFS streams, that stream)."""
        if self._opener is not None:
            return self._opener()
        if self.read_at is not None:
            return ReadCallback(self.read_at, self.record.size or 0)  # type: ignore[return-value]
        raise EvidenceError("{path}: has no content to read ({type})", path=self.record.path,
                            type=self.record.type)


class ReadCallback(io.RawIOBase):
    """A sequential binary stream over a ``read(offset, size) -> bytes`` function of known size."""

    def __init__(self, read_at: Callable[[int, int], bytes], size: int):
        super().__init__()
        self._read_at = read_at
        self._size = max(size, 0)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        remaining = self._size - self._pos
        if remaining <= 0:
            return b""
        n = remaining if size is None or size < 0 else min(size, remaining)
        data = self._read_at(self._pos, n)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _WholeEvidence:
    """An extraction (folder, zip, tar) seen as a single reader."""

    def __init__(self, evidence: Evidence):
        self._evidence = evidence
        self.warnings: list[str] = []

    def entries(self, evidence_path: str) -> Iterator[Entry]:
        return self._evidence.entries(None)


@dataclass
class Evidence:
    """Base of every evidence kind. Use as a context manager; everything is read-only."""

    path: str
    kind: str = "disk_image"
    format_chain: list[str] = field(default_factory=list)
    media_size: int | None = None
    volumes: list[VolumeInfo] = field(default_factory=list)
    acquisition: AcquisitionInfo | None = None
    segment_files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    name_encoding: str | None = None  # code page of 8-bit archive and folder names (sources.names)
    source_tz: str | None = None  # zone of local-time fields (FAT, zip DOS times); None: read as UTC

    def set_source_tz(self, name: str) -> None:
        """Read local-time fields in this IANA zone from now on (readers that have them follow)."""
        self.source_tz = name
    device: dict[str, str] = field(default_factory=dict)  # a mobile extraction's device (make, model, IMEI, ...)
    devices: dict[str, dict[str, str]] = field(default_factory=dict)  # volume -> device, where each has its own

    def __enter__(self) -> Evidence:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release file handles. Subclasses that hold any override this."""

    def open_media(self) -> BinaryIO | None:
        """The fully decoded media as a binary stream (None where there is no single media)."""
        raise NotImplementedError

    def entries(self, volume: str | None = None) -> Iterator[Entry]:
        """Every entry, deleted and orphaned included; NTFS alternate data streams as their own."""
        raise NotImplementedError

    def open_locator(self, locator: Locator) -> BinaryIO:
        """The content of the entry a locator names (for locators produced by this evidence)."""
        raise NotImplementedError

    def entry(self, path: str, volume: str | None = None, deleted: bool = False) -> Entry:
        """The entry at ``path`` (``/Users/x/file.doc``, ``/file.txt:stream`` for an NTFS stream),
        looked up without listing the whole evidence; EvidenceError when there is none.

        ``volume`` limits the look-up to one volume (first match otherwise); ``deleted`` prefers
        a deleted entry of that name over an allocated one.
        """
        from evidencekit.sources.lookup import find_entry

        return find_entry(self, path, volume, deleted)  # type: ignore[no-any-return]

    def open(self, path: str, volume: str | None = None) -> BinaryIO:
        """The content of the file at ``path`` (see :meth:`entry`), read-only."""
        return self.entry(path, volume).open()

    @property
    def credentials(self) -> Credentials:
        """The password / recovery key the evidence was opened with."""
        return getattr(self, "_credentials", Credentials())

    def readers(self) -> list[tuple[str, Any]]:
        """(volume name, reader) for every readable file system; a reader has ``entries(path)``
        and ``warnings``. Sources without volumes present themselves as one reader."""
        return [("", _WholeEvidence(self))]

    def reader(self, volume: str) -> Any:
        """The file system reader of ``volume``; EvidenceError when there is none."""
        for name, reader in self.readers():
            if name == volume:
                return reader
        raise EvidenceError("{path}: no volume named {volume!r}", path=self.path, volume=volume)

    def require_filesystems(self) -> None:
        """EvidenceError unless at least one file system was found (locked volumes named)."""
        if not any(v.filesystem for v in self.volumes) and self.kind == "disk_image":
            locked = [v.name or "media" for v in self.volumes if v.locked]
            if locked:
                raise EvidenceError("{path}: encrypted volume {volumes} is locked", path=self.path, volumes=", ".join(locked))
            empty = self.unlocked_without_filesystem()
            if empty:
                raise EvidenceError(f"{self.path}: {empty}")
            raise EvidenceError(
                "{path}: no file system recognised (not a disk image, or an unsupported or damaged file system)",
                path=self.path)

    def unlocked_without_filesystem(self) -> str | None:
        """"the luks volume (whole media) is unlocked but holds no known file system", or None."""
        empty = [v for v in self.volumes if v.encryption and not v.locked and not v.filesystem]
        if not empty:
            return None
        names = ", ".join(v.name or "(whole media)" for v in empty)
        return f"the {empty[0].encryption} volume {names} is unlocked but holds no known file system"
