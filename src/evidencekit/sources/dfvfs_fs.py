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
from evidencekit.sources import fat
from evidencekit.sources.base import Entry
from evidencekit.sources.dfvfs_support import from_spec_dict, to_spec_dict

DFVFS_ONLY = {dd.TYPE_INDICATOR_APFS, dd.TYPE_INDICATOR_XFS}
# libfsapfs returns the inode's mod_time as its creation time and create_time as its modification
# time (j_inode_val_t: create_time, then mod_time); TSK's istat -B reads them right (creation <=
# modification, date added = creation). Checked up to this libfsapfs version (tests/test_apfs.py).
APFS_SWAP_CHECKED_UP_TO = 20260921
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
        raise EvidenceError("{location}: cannot be opened: {cause}",
                            location=getattr(spec, 'location', spec), cause=err) from err
    if fo is None:
        raise EvidenceError("{location}: not found", location=getattr(spec, 'location', spec))
    return FileObjectStream(fo)  # type: ignore[return-value]


class DfvfsFileSystem:
    """A file system read through dfvfs file entries (allocated entries only)."""

    def __init__(self, volume: str, fs_spec: Any, fs_type: str):
        self.volume, self._fs_spec = volume, fs_spec
        self.fs_type, self.label = fs_type, None
        self.warnings: list[str] = []
        self.time_digits = DIGITS.get(fs_spec.type_indicator, 0)
        self.source_tz = "UTC"
        self._dentries: Any = None
        self.assumed_zone: str | None = None
        if fs_spec.type_indicator == dd.TYPE_INDICATOR_FAT:
            self._dentries, self.fs_type = fat.dentries_of(_volume_reader(fs_spec.parent))
            self.assumed_zone = "UTC"

    def set_source_tz(self, name: str) -> None:
        self.source_tz = name
        if self.assumed_zone is not None:
            self.assumed_zone = name

    @classmethod
    def open(cls, volume: str, fs_spec: Any) -> DfvfsFileSystem:
        try:
            fs = resolver.Resolver.OpenFileSystem(fs_spec)
            root = fs.GetRootFileEntry()
        except (dfvfs_errors.BackEndError, OSError, ValueError) as err:
            raise EvidenceError("file system cannot be opened: {cause}", cause=err) from err
        if root is None:
            raise EvidenceError("file system has no root directory")
        reader = cls(volume, fs_spec, fs_spec.type_indicator.lower())
        if fs_spec.type_indicator == dd.TYPE_INDICATOR_APFS:
            import pyfsapfs

            version = int(pyfsapfs.get_version())
            if version > APFS_SWAP_CHECKED_UP_TO:
                reader.warnings.append(f"volume {volume}: libfsapfs {version} is newer than the last one checked "
                                       f"({APFS_SWAP_CHECKED_UP_TO}) for its swapped creation and modification "
                                       "times: they are swapped back unverified (run tests/test_apfs.py)")
        return reader

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
        zone = self.assumed_zone
        if self._fs_spec.type_indicator == dd.TYPE_INDICATOR_APFS:
            times["mtime"], times["crtime"] = times["crtime"], times["mtime"]
        if self._dentries is not None:  # libfsfat's FAT times are wrong: the entry's own (its inode is its offset)
            found = self._dentries.times(getattr(stat, "inode_number", None), self.source_tz)
            times = dict.fromkeys(TIME_ATTRS)
            if found:
                times.update(found[0])
                zone = found[1]
        size = entry.size if stream is None else _stream_size(entry, stream)
        inode = getattr(stat, "inode_number", None) if stat else None
        path = getattr(entry.path_spec, "location", None) or "/"
        return FileRecord(
            volume=self.volume, path=path.replace("\\", "/") if self.fs_type == "ntfs" or self._dentries is not None else path, inode=inode,
            type=ENTRY_TYPES.get(entry.entry_type, "unknown"), deleted=not entry.IsAllocated(), size=size,
            locator=Locator(evidence_path, spec), time_digits=self.time_digits, assumed_zone=zone,
            stream=stream, filesystem=self.fs_type, mode=getattr(stat, "mode", None) if stat else None,
            uid=getattr(stat, "owner_identifier", None) if stat else None,
            gid=getattr(stat, "group_identifier", None) if stat else None,
            link_target=entry.GetLinkedFileEntry().path_spec.location if entry.IsLink() and entry.GetLinkedFileEntry() else None,
            warnings=tuple(warnings), **times)

    def owns(self, spec: dict[str, Any]) -> bool:
        return False

    def open_spec(self, spec: dict[str, Any]) -> BinaryIO:
        return open_spec(from_spec_dict(spec))


def cross_check_root(fs_spec: Any, tsk_names: dict[str, int], volume: str) -> list[str]:
    """Warnings where dfvfs's root directory (names, file sizes) differs from The Sleuth Kit's."""
    try:
        root = resolver.Resolver.OpenFileSystem(fs_spec).GetRootFileEntry()
        theirs = {e.name: (e.size if e.IsFile() else -1) for e in root.sub_file_entries}
    except (dfvfs_errors.BackEndError, OSError, ValueError) as err:
        return [f"volume {volume or '(whole media)'}: dfvfs cannot list the root directory for the cross-check: {err}"]
    ours = {k: v for k, v in tsk_names.items() if k in theirs or not _tsk_only_name(k)}
    if ours == theirs:
        return []
    differ = sorted(set(ours.items()) ^ set(theirs.items()))[:5]
    return [f"volume {volume or '(whole media)'}: The Sleuth Kit and dfvfs disagree on the root directory "
            f"(name, size): {differ}"]


def _tsk_only_name(name: str) -> bool:
    return name.startswith("$") or name.endswith("(Volume Label Entry)")


def _volume_reader(spec: Any) -> Any:
    """``read(offset, size)`` over the byte range a dfvfs path spec names."""
    fo = resolver.Resolver.OpenFileObject(spec)

    def read(offset: int, size: int) -> bytes:
        fo.seek(offset)
        return bytes(fo.read(size))
    return read


def _stream_size(entry: Any, name: str) -> int | None:
    fo = entry.GetFileObject(data_stream_name=name)
    return int(fo.get_size()) if fo is not None else None


def _open_entry(entry: Any, stream: str) -> BinaryIO:
    fo = entry.GetFileObject(data_stream_name=stream)
    if fo is None:
        raise EvidenceError("{location}: no content", location=entry.path_spec.location)
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
