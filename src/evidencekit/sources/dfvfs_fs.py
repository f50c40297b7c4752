"""Walk file systems through dfvfs file entries: APFS, XFS, and whatever TSK cannot open."""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import partial
from typing import Any, BinaryIO

from dfvfs.lib import definitions as dd
from dfvfs.lib import errors as dfvfs_errors
from dfvfs.resolver import resolver

from evidencekit.errors import EvidenceError
from evidencekit.models import FileRecord, Locator, parse_iso_utc
from evidencekit.sources.base import Entry
from evidencekit.sources.dfvfs_support import from_spec_dict, to_spec_dict

DFVFS_ONLY = {dd.TYPE_INDICATOR_APFS, dd.TYPE_INDICATOR_XFS}
TIME_ATTRS = {"mtime": "modification_time", "atime": "access_time", "ctime": "change_time",
              "crtime": "creation_time", "dtime": "deletion_time"}
DIGITS = {dd.TYPE_INDICATOR_APFS: 9, dd.TYPE_INDICATOR_XFS: 9, dd.TYPE_INDICATOR_EXT: 9,
          dd.TYPE_INDICATOR_NTFS: 7, dd.TYPE_INDICATOR_HFS: 0, dd.TYPE_INDICATOR_FAT: 2}
ENTRY_TYPES = {dd.FILE_ENTRY_TYPE_FILE: "file", dd.FILE_ENTRY_TYPE_DIRECTORY: "dir",
               dd.FILE_ENTRY_TYPE_LINK: "symlink", dd.FILE_ENTRY_TYPE_DEVICE: "device",
               dd.FILE_ENTRY_TYPE_PIPE: "fifo", dd.FILE_ENTRY_TYPE_SOCKET: "socket"}


def dfdatetime_ns(value: Any) -> int | None:
    """A dfdatetime value in nanoseconds UTC (None when absent or not representable)."""
    if value is None:
        return None
    text = value.CopyToDateTimeStringISO8601()
    if not text:
        return None
    try:
        return parse_iso_utc(text)
    except ValueError:
        return None


def open_spec(spec: Any) -> BinaryIO:
    try:
        fo = resolver.Resolver.OpenFileObject(spec)
    except (dfvfs_errors.BackEndError, dfvfs_errors.PathSpecError, OSError, ValueError) as err:
        raise EvidenceError(f"{getattr(spec, 'location', spec)}: cannot be opened: {err}") from err
    if fo is None:
        raise EvidenceError(f"{getattr(spec, 'location', spec)}: not found")
    return FileObjectStream(fo)  # type: ignore[return-value]


class DfvfsFileSystem:
    """A file system read through dfvfs file entries (allocated entries only)."""

    def __init__(self, volume: str, fs_spec: Any, fs_type: str):
        self.volume, self._fs_spec = volume, fs_spec
        self.fs_type, self.label = fs_type, None
        self.warnings: list[str] = []
        self.time_digits = DIGITS.get(fs_spec.type_indicator, 0)
        self.assumed_zone = "UTC" if fs_spec.type_indicator == dd.TYPE_INDICATOR_FAT else None

    @classmethod
    def open(cls, volume: str, fs_spec: Any) -> DfvfsFileSystem:
        try:
            fs = resolver.Resolver.OpenFileSystem(fs_spec)
            root = fs.GetRootFileEntry()
        except (dfvfs_errors.BackEndError, OSError, ValueError) as err:
            raise EvidenceError(f"file system cannot be opened: {err}") from err
        if root is None:
            raise EvidenceError("file system has no root directory")
        return cls(volume, fs_spec, fs_spec.type_indicator.lower())

    def close(self) -> None:
        pass

    def entries(self, evidence_path: str) -> Iterator[Entry]:
        fs = resolver.Resolver.OpenFileSystem(self._fs_spec)
        stack = [fs.GetRootFileEntry()]
        while stack:
            directory = stack.pop()
            try:
                children = list(directory.sub_file_entries)
            except (dfvfs_errors.BackEndError, OSError) as err:
                yield Entry(self._record(evidence_path, directory, None, [f"directory unreadable: {err}"], {}), None)
                continue
            for child in children:
                warnings: list[str] = []
                spec = to_spec_dict(child.path_spec)
                yield from self._entries_of(evidence_path, child, spec, warnings)
                if child.IsDirectory() and not child.IsLink():
                    stack.append(child)

    def _entries_of(self, evidence_path: str, entry: Any, spec: dict[str, Any], warnings: list[str]) -> Iterator[Entry]:
        record = self._record(evidence_path, entry, None, warnings, spec)
        yield Entry(record, partial(_open_entry, entry, "") if record.type == "file" else None)
        for stream in entry.data_streams:
            if stream.name:
                sspec = dict(spec, data_stream=stream.name)
                srec = self._record(evidence_path, entry, stream.name, warnings, sspec)
                yield Entry(srec, partial(_open_entry, entry, stream.name))

    def _record(self, evidence_path: str, entry: Any, stream: str | None, warnings: list[str],
                spec: dict[str, Any]) -> FileRecord:
        times: dict[str, Any] = {key: dfdatetime_ns(getattr(entry, attr, None)) for key, attr in TIME_ATTRS.items()}
        stat = entry.GetStatAttribute() if hasattr(entry, "GetStatAttribute") else None
        size = entry.size if stream is None else _stream_size(entry, stream)
        inode = getattr(stat, "inode_number", None) if stat else None
        path = getattr(entry.path_spec, "location", None) or "/"
        return FileRecord(
            volume=self.volume, path=path.replace("\\", "/") if self.fs_type == "ntfs" else path, inode=inode,
            type=ENTRY_TYPES.get(entry.entry_type, "unknown"), deleted=not entry.IsAllocated(), size=size,
            locator=Locator(evidence_path, spec), time_digits=self.time_digits, assumed_zone=self.assumed_zone,
            stream=stream, filesystem=self.fs_type, mode=getattr(stat, "mode", None) if stat else None,
            uid=getattr(stat, "owner_identifier", None) if stat else None,
            gid=getattr(stat, "group_identifier", None) if stat else None,
            link_target=entry.GetLinkedFileEntry().path_spec.location if entry.IsLink() and entry.GetLinkedFileEntry() else None,
            warnings=tuple(warnings), **times)

    def owns(self, spec: dict[str, Any]) -> bool:
        return False

    def open_spec(self, spec: dict[str, Any]) -> BinaryIO:
        return open_spec(from_spec_dict(spec))


def _stream_size(entry: Any, name: str) -> int | None:
    fo = entry.GetFileObject(data_stream_name=name)
    return int(fo.get_size()) if fo is not None else None


def _open_entry(entry: Any, stream: str) -> BinaryIO:
    fo = entry.GetFileObject(data_stream_name=stream)
    if fo is None:
        raise EvidenceError(f"{entry.path_spec.location}: no content")
    return FileObjectStream(fo)  # type: ignore[return-value]


class FileObjectStream(io.RawIOBase):
    """A dfvfs file object as a standard binary stream."""

    def __init__(self, file_object: Any):
        super().__init__()
        self._fo = file_object

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._fo.seek(offset, whence)
        return int(self._fo.get_offset())

    def tell(self) -> int:
        return int(self._fo.get_offset())

    def read(self, size: int | None = -1) -> bytes:
        return self._fo.read() if size is None or size < 0 else self._fo.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self._fo.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
