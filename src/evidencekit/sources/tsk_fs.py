"""Walk file systems The Sleuth Kit reads, with pytsk3, over the volume dfvfs opened.

Listing follows ``fls -r -p``: deleted names and orphan files included, ``.``/``..`` excluded,
unallocated directories descended unless their inode was reallocated, loops cut.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import pytsk3
from dfvfs.lib import definitions as dd
from dfvfs.resolver import resolver

from evidencekit.errors import EvidenceError
from evidencekit.models import FileRecord, Locator
from evidencekit.sources.base import Entry, ReadCallback, explain
from evidencekit.sources.dfvfs_support import to_spec_dict
from evidencekit.sources.fat import LOCAL_FIELDS, ExfatDentries, FatDentries, wall_to_utc_ns
from evidencekit.sources.tsk_image import VolumeImage, direct_image
from evidencekit.sources.tsk_meta import ExtInodeTable, flag_names, used_entries, volume_label

FS_NAMES = {int(getattr(pytsk3, n)): n[len("TSK_FS_TYPE_"):].lower() for n in dir(pytsk3)
            if n.startswith("TSK_FS_TYPE_") and not n.endswith(("_DETECT", "_ENUM"))}
# Fractional digits each file system stores (FAT: 10 ms creation time; ext2/3 whole seconds).
TIME_DIGITS = {"ntfs": 7, "ext4": 9, "fat12": 2, "fat16": 2, "fat32": 2, "exfat": 2, "apfs": 9}
LOCAL_TIME_FS = {"fat12", "fat16", "fat32", "exfat"}

META_TYPES = {
    int(pytsk3.TSK_FS_META_TYPE_REG): "file", int(pytsk3.TSK_FS_META_TYPE_DIR): "dir",
    int(pytsk3.TSK_FS_META_TYPE_LNK): "symlink", int(pytsk3.TSK_FS_META_TYPE_FIFO): "fifo",
    int(pytsk3.TSK_FS_META_TYPE_CHR): "chardev", int(pytsk3.TSK_FS_META_TYPE_BLK): "blockdev",
    int(pytsk3.TSK_FS_META_TYPE_SOCK): "socket", int(pytsk3.TSK_FS_META_TYPE_VIRT): "virtual",
    int(pytsk3.TSK_FS_META_TYPE_VIRT_DIR): "virtual_dir", int(pytsk3.TSK_FS_META_TYPE_SHAD): "shadow",
}
NAME_TYPES = {
    int(pytsk3.TSK_FS_NAME_TYPE_REG): "file", int(pytsk3.TSK_FS_NAME_TYPE_DIR): "dir",
    int(pytsk3.TSK_FS_NAME_TYPE_LNK): "symlink", int(pytsk3.TSK_FS_NAME_TYPE_FIFO): "fifo",
    int(pytsk3.TSK_FS_NAME_TYPE_CHR): "chardev", int(pytsk3.TSK_FS_NAME_TYPE_BLK): "blockdev",
    int(pytsk3.TSK_FS_NAME_TYPE_SOCK): "socket", int(pytsk3.TSK_FS_NAME_TYPE_VIRT): "virtual",
}
NAME_ALLOC = int(pytsk3.TSK_FS_NAME_FLAG_ALLOC)
DIR_TYPES = (int(pytsk3.TSK_FS_META_TYPE_DIR), int(pytsk3.TSK_FS_META_TYPE_VIRT_DIR))
META_UNALLOC = int(pytsk3.TSK_FS_META_FLAG_UNALLOC)
ATTR_FNAME = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_FNAME)
ATTR_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
ATTR_IDXROOT = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_IDXROOT)
ATTR_SI = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_SI)
# File attribute bits: NTFS $STANDARD_INFORMATION flags and the FAT directory-entry attribute byte.
NTFS_FLAGS = ((0x1, "read_only"), (0x2, "hidden"), (0x4, "system"), (0x20, "archive"), (0x40, "device"),
              (0x100, "temporary"), (0x200, "sparse"), (0x400, "reparse_point"), (0x800, "compressed"),
              (0x1000, "offline"), (0x2000, "not_content_indexed"), (0x4000, "encrypted"))
FILETIME_EPOCH = 116444736000000000  # 100 ns intervals from 1601-01-01 to 1970-01-01
WHOLE_READ = 8 << 20
Segment = tuple[str, int, str, tuple[int, ...]]  # ("dir" | "tree", inode, path, inode chain)


def _ns(sec: int, nano: int) -> int | None:
    return None if not sec and not nano else sec * 1_000_000_000 + nano


def _filetime_ns(value: int) -> int | None:
    return None if not value else (value - FILETIME_EPOCH) * 100


class TskFileSystem:
    """One file system opened by pytsk3; produces entries and reopens them by locator."""

    def __init__(self, volume: str, img: Any, offset: int, fs: Any, parent_spec: dict[str, Any],
                 source_tz: str | None = None):
        self.volume = volume
        self._img, self._offset, self._fs = img, offset, fs
        self.fs_type = FS_NAMES.get(int(fs.info.ftype), "unknown")
        self.label = volume_label(self.fs_type, img, offset, fs)
        self.time_digits = TIME_DIGITS.get(self.fs_type, 0)
        self.source_tz = source_tz or "UTC"  # the zone local-time fields (FAT, exFAT without offsets) are read in
        self.assumed_zone = self.source_tz if self.fs_type in LOCAL_TIME_FS else None
        self._parent_spec = parent_spec
        self._root_inum = int(fs.info.root_inum)
        self._ext = ExtInodeTable(img, offset) if self.fs_type.startswith("ext") else None
        self._fat = FatDentries(lambda at, n: img.read(offset + at, n)) if self.fs_type in ("fat12", "fat16", "fat32") else None
        self._exfat = ExfatDentries(lambda at, n: img.read(offset + at, n)) if self.fs_type == "exfat" else None
        self.warnings: list[str] = []
        expected = self._fs_bytes = int(fs.info.block_count) * int(fs.info.block_size)
        available = int(img.get_size()) - offset
        if expected > available:
            self.warnings.append(f"volume {volume or '(whole)'}: the {self.fs_type} file system is {expected:,} bytes "
                                 f"but only {available:,} are present: image truncated?")

    @classmethod
    def try_open(cls, evidence_path: str, volume: str, volume_spec: Any, media_spec: Any,
                 source_tz: str | None = None) -> TskFileSystem | None:
        img, offset = direct_image(evidence_path, volume_spec, media_spec)
        try:
            if img is None:
                img, offset = VolumeImage(resolver.Resolver.OpenFileObject(volume_spec)), 0
            fs = pytsk3.FS_Info(img, offset=offset)
        except (OSError, RuntimeError):
            return None  # TSK does not read it: the caller falls back to dfvfs
        if FS_NAMES.get(int(fs.info.ftype)) in ("apfs", "unsupp"):
            return None
        return cls(volume, img, offset, fs, to_spec_dict(volume_spec), source_tz)

    def close(self) -> None:
        self._fs = None

    def set_source_tz(self, name: str) -> None:
        self.source_tz = name
        self.assumed_zone = name if self.fs_type in LOCAL_TIME_FS else None

    def root_names(self) -> dict[str, int]:
        """Allocated entries of the root directory (TSK's virtual ones left out): name -> size."""
        out = {}
        for f in self._fs.open_dir(inode=self._root_inum):
            name, meta = f.info.name, f.info.meta
            if meta is None or not int(name.flags) & NAME_ALLOC or name.name in (b".", b".."):
                continue
            if int(meta.type) in (int(pytsk3.TSK_FS_META_TYPE_REG), int(pytsk3.TSK_FS_META_TYPE_DIR)):
                out[name.name.decode("utf-8", "backslashreplace")] = int(meta.size) if int(meta.type) == 1 else -1
        return out

    def size_hint(self) -> int:
        """How many metadata entries the file system has room for (ext inodes, NTFS MFT entries)."""
        return int(self._fs.info.inum_count)

    def used_hint(self) -> int | None:
        """How many metadata entries are in use (ext, NTFS; None for the others): a progress total."""
        return used_entries(self.fs_type, self._img, self._offset, self._fs)

    # -- listing -----------------------------------------------------------------------------
    # The walk is depth first: a directory's entries, then each subdirectory in turn. A
    # "segment" is either one directory's entries ("dir") or a whole subtree ("tree"); the
    # segments of plan() concatenated in order give exactly the serial walk, so workers can
    # list them in parallel without changing the output.
    def root(self) -> Segment:
        return ("tree", self._root_inum, "", (self._root_inum,))

    def entries(self, evidence_path: str) -> Iterator[Entry]:
        return self.segment_entries(evidence_path, self.root())

    def segment_entries(self, evidence_path: str, segment: Segment) -> Iterator[Entry]:
        kind, inode, path, chain = segment
        pending = [(inode, path, chain)]
        while pending:
            inode, parent_path, chain = pending.pop()
            subdirs: list[tuple[int, str, tuple[int, ...]]] = []
            yield from self._list_directory(evidence_path, inode, parent_path, chain, subdirs)
            if kind == "tree":
                pending.extend(reversed(subdirs))

    def _list_directory(self, evidence_path: str | None, inode: int, parent_path: str, chain: tuple[int, ...],
                        subdirs: list[tuple[int, str, tuple[int, ...]]]) -> Iterator[Entry]:
        """Entries of one directory (none when evidence_path is None); its subdirectories into subdirs."""
        try:
            if self._ext is not None and inode == self._root_inum and self._impossible_directory(
                    parent_path, inode, self._ext.dir_size(inode) or 0):
                return  # ext only: other file systems' roots were read when TSK opened them
            for f in self._fs.open_dir(inode=inode):
                info = f.info  # each attribute access of pytsk3 builds a new object: once per entry
                name, meta = info.name, info.meta
                raw = name.name
                if raw in (b".", b".."):
                    continue
                path = f"{parent_path}/{raw.decode('utf-8', 'backslashreplace')}"
                if evidence_path is not None:
                    yield from self._entries_of(evidence_path, f, name, meta, path)  # a list: cheaper than a generator
                if meta is not None and int(meta.type) in DIR_TYPES:
                    sub = self._descend(name, meta, path, chain)
                    if sub is not None:
                        subdirs.append(sub)
        except (OSError, RuntimeError) as err:
            self.warnings.append(f"directory {parent_path or '/'} on volume {self.volume or '(whole)'}: "
                                 f"listing stopped early: {explain(err)}")

    def plan(self, min_trees: int, max_depth: int = 3) -> list[Segment]:
        """Segments for a parallel walk: single directories down to the shallowest depth that
        has at least ``min_trees`` subdirectories (at most ``max_depth``), whole subtrees below."""
        _, inode, path, chain = self.root()
        level = [(inode, path, chain)]
        children: dict[int, list[tuple[int, str, tuple[int, ...]]]] = {}
        for _depth in range(max_depth):
            following = []
            for node in level:
                subdirs: list[tuple[int, str, tuple[int, ...]]] = []
                for _ in self._list_directory(None, node[0], node[1], node[2], subdirs):
                    pass
                children[node[0]] = subdirs
                following += subdirs
            level = following
            if len(level) >= min_trees or not level:
                break
        frontier = {node[0] for node in level}

        def expand(node: tuple[int, str, tuple[int, ...]]) -> list[Segment]:
            if node[0] in frontier or node[0] not in children:
                return [("tree", *node)]
            out: list[Segment] = [("dir", *node)]
            for child in children[node[0]]:
                out += expand(child)
            return out

        return expand((inode, path, chain))

    def _descend(self, name: Any, meta: Any, path: str, chain: tuple[int, ...]) -> tuple[int, str, tuple[int, ...]] | None:
        """The directory to walk into, as (inode, path, chain); None for reallocated names, loops
        and directories whose size cannot be true."""
        name_alloc = int(name.flags) & NAME_ALLOC
        if not name_alloc and not int(meta.flags) & META_UNALLOC:
            return None  # a deleted name whose inode now belongs to another (allocated) directory
        if int(meta.addr) in chain:
            return None
        if self._impossible_directory(path, int(meta.addr), int(meta.size)):
            return None
        return int(meta.addr), path, (*chain, int(meta.addr))

    def _impossible_directory(self, path: str, inode: int, size: int) -> bool:
        """A directory larger than its file system is a damaged inode, and TSK would spend minutes
        of CPU reading it (measured: 46 s for a 600 MB root on a 100 KB ext2): a warning instead."""
        if size <= self._fs_bytes:
            return False
        self.warnings.append(f"directory {path or '/'} (inode {inode}) on volume {self.volume or '(whole)'} claims "
                             f"{size:,} bytes, more than the file system's {self._fs_bytes:,}: damaged, not read")
        return True

    def _entries_of(self, evidence_path: str, f: Any, name: Any, meta: Any, path: str) -> list[Entry]:
        """The entry of one directory entry, and one more per named NTFS stream."""
        warnings: list[str] = []
        deleted = not int(name.flags) & NAME_ALLOC
        orphan = path.startswith("/$OrphanFiles/")
        if meta is None and int(name.meta_addr):
            # A deleted name's directory entry does not carry its metadata: look the inode up, as fls does.
            try:
                f = self._fs.open_meta(inode=int(name.meta_addr))
                meta = f.info.meta
            except (OSError, RuntimeError):
                meta = None
        if meta is None:
            kind = NAME_TYPES.get(int(name.type), "unknown")
            warnings.append("name without metadata (inode unrecoverable)")
            inode = int(name.meta_addr) or None
            return [Entry(self._record(evidence_path, path, inode, kind, True, None, {}, tuple(warnings), orphan))]
        unallocated = int(meta.flags) & META_UNALLOC
        deleted = deleted or bool(unallocated)
        kind = META_TYPES.get(int(meta.type), "unknown")
        inode = int(meta.addr)
        # One dict of every field but the name's: this runs once per entry.
        fields: dict[str, Any] = {
            "mtime": _ns(meta.mtime, meta.mtime_nano), "atime": _ns(meta.atime, meta.atime_nano),
            "ctime": _ns(meta.ctime, meta.ctime_nano), "crtime": _ns(meta.crtime, meta.crtime_nano),
            "mode": int(meta.mode), "uid": int(meta.uid), "gid": int(meta.gid),
        }
        if self._ext is not None and unallocated:
            fields["dtime"] = self._ext.dtime(inode)
        streams: list[tuple[str, int, int, int]] = []
        has_default = True
        if self.fs_type == "ntfs":
            has_default = self._ntfs_attributes(f, fields, streams, warnings)
        elif self._fat is not None:
            fields["attributes"] = self._fat.attributes(inode)
            if self.source_tz != "UTC":
                for key in LOCAL_FIELDS:
                    fields[key] = wall_to_utc_ns(fields[key], self.source_tz)
        elif self._exfat is not None:
            self._exfat_fields(inode, fields)
        if kind == "symlink" and meta.link:
            link = meta.link
            fields["link_target"] = link.decode("utf-8", "backslashreplace") if isinstance(link, bytes) else link
        notes = tuple(warnings)
        out = []
        if has_default:
            record = self._record(evidence_path, path, inode, kind, deleted, int(meta.size), fields, notes, orphan)
            out.append(Entry(record, None, f.read_random if kind == "file" else None))
        for stream, attr_type, attr_id, stream_size in streams:
            srec = self._record(evidence_path, path, inode, kind, deleted, stream_size, fields, notes, orphan,
                                stream=stream)
            out.append(Entry(srec, None, _stream_reader(f, attr_type, attr_id)))
        return out

    def _exfat_fields(self, inode: int, fields: dict[str, Any]) -> None:
        """exFAT times from the File entry itself, with their UTC offsets (TSK ignores them)."""
        assert self._exfat is not None
        at = self._exfat.offset_of_inode(inode)
        found = self._exfat.times(at, self.source_tz)
        if found is None:  # no File entry (TSK's virtual files, the label, bitmap and up-case table)
            for key in LOCAL_FIELDS:
                fields[key] = wall_to_utc_ns(fields[key], self.source_tz)
            if not any(fields[key] for key in LOCAL_FIELDS):
                fields["assumed_zone"] = None
            return
        times, assumed = found
        fields.update(times, ctime=None, assumed_zone=assumed, attributes=self._exfat.attributes(at))

    def _ntfs_attributes(self, f: Any, fields: dict[str, Any], streams: list[tuple[str, int, int, int]],
                         warnings: list[str]) -> bool:
        """Fill $FILE_NAME times and named streams; True when the entry has a default $DATA or $I30.

        Like fls, every named $DATA and every named index other than $I30 is its own entry, and an
        MFT entry with only named attributes (e.g. $Secure) has no bare entry of its own.
        """
        fn_seen, has_default, listed = False, False, 0
        try:
            for attr in f:
                info = attr.info
                atype = int(info.type)
                name = info.name.decode("utf-8", "backslashreplace") if isinstance(info.name, bytes) else (info.name or "")
                if atype == ATTR_SI:
                    data = f.read_random(0, int(info.size), info.type, info.id)
                    if len(data) >= 36:
                        fields["attributes"] = flag_names(struct.unpack_from("<I", data, 32)[0], NTFS_FLAGS)
                elif atype == ATTR_FNAME and not fn_seen:
                    data = f.read_random(0, int(info.size), info.type, info.id)
                    if len(data) >= 40:
                        cr, mo, ch, ac = struct.unpack_from("<4Q", data, 8)
                        fields.update(fn_crtime=_filetime_ns(cr), fn_mtime=_filetime_ns(mo),
                                     fn_ctime=_filetime_ns(ch), fn_atime=_filetime_ns(ac))
                        fn_seen = True
                elif atype in (ATTR_DATA, ATTR_IDXROOT):
                    listed += 1
                    if not name or name in ("$Data", "$I30"):
                        has_default = True
                    else:
                        streams.append((name, atype, int(info.id), int(info.size)))
        except OSError as err:
            warnings.append(f"NTFS attributes unreadable: {err}")
        return has_default or not listed

    def _record(self, evidence_path: str, path: str, inode: int | None, kind: str, deleted: bool,
                size: int | None, fields: dict[str, Any], warnings: tuple[str, ...], orphan: bool,
                stream: str | None = None) -> FileRecord:
        spec: dict[str, Any] = {"__type__": "PathSpec", "type_indicator": dd.TYPE_INDICATOR_TSK, "location": path,
                                "parent": self._parent_spec}
        if inode is not None:
            spec["inode"] = inode
        if stream:
            spec["data_stream"] = stream
        values = {"volume": self.volume, "path": path, "inode": inode, "type": kind, "deleted": deleted, "size": size,
                  "locator": Locator(evidence_path, spec), "time_digits": self.time_digits,
                  "assumed_zone": self.assumed_zone, "stream": stream, "orphan": orphan, "filesystem": self.fs_type,
                  "warnings": warnings}
        values.update(fields)
        return FileRecord.from_fields(values)

    # -- content -----------------------------------------------------------------------------
    @staticmethod
    def _opener(f: Any, size: int, attr_type: int | None, attr_id: int) -> Callable[[], BinaryIO]:
        read_at = f.read_random if attr_type is None else _stream_reader(f, attr_type, attr_id)
        return lambda: ReadCallback(read_at, size)  # type: ignore[return-value]

    def owns(self, spec: dict[str, Any]) -> bool:
        return spec.get("type_indicator") == dd.TYPE_INDICATOR_TSK and spec.get("parent") == self._parent_spec

    def open_spec(self, spec: dict[str, Any]) -> BinaryIO:
        try:
            f = self._fs.open_meta(inode=spec["inode"]) if "inode" in spec else self._fs.open(spec["location"])
        except (OSError, KeyError) as err:
            raise EvidenceError("{location}: cannot be opened: {cause}", location=spec.get('location'),
                                cause=err) from err
        stream = spec.get("data_stream")
        if not stream:
            return self._opener(f, int(f.info.meta.size), None, 0)()
        for attr in f:
            name = attr.info.name
            name = name.decode("utf-8", "backslashreplace") if isinstance(name, bytes) else name
            if int(attr.info.type) in (ATTR_DATA, ATTR_IDXROOT) and name == stream:
                return self._opener(f, int(attr.info.size), int(attr.info.type), int(attr.info.id))()
        raise EvidenceError("{location}: no data stream named {stream!r}", location=spec.get('location'),
                            stream=stream)


def _stream_reader(f: Any, attr_type: int, attr_id: int) -> Callable[[int, int], bytes]:
    """``read_at`` for one NTFS attribute (a named $DATA stream or index) of an open file."""
    def read_at(offset: int, n: int) -> bytes:
        return f.read_random(offset, n, attr_type, attr_id)
    return read_at
