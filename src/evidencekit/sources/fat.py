"""FAT and exFAT directory entries read straight from the volume: what pytsk3 does not give.

FAT stores local wall-clock times with no zone; exFAT adds a UTC offset per timestamp (the
"UtcOffset" fields of the File directory entry, Microsoft's exFAT specification, 7.4.10), valid
when its top bit is set. The Sleuth Kit and libfsfat both return the wall clock as if it were
UTC, so the times are taken from here: an exFAT time with a valid offset is exact; every other
one is read in the exhibit's source zone (``--source-tz``, UTC by default), named in the record's
``assumed_zone``.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from evidencekit.sources.tsk_meta import flag_names

FAT_FLAGS = ((0x1, "read_only"), (0x2, "hidden"), (0x4, "system"), (0x8, "volume_label"), (0x20, "archive"))
LOCAL_FIELDS = ("mtime", "atime", "crtime")  # FAT/exFAT's local-time fields (FAT has no ctime)


def wall_to_utc_ns(wall_ns: int | None, zone: str) -> int | None:
    """A wall-clock time (read as if UTC, as TSK does) taken as local time in ``zone``."""
    if wall_ns is None or zone == "UTC":
        return wall_ns
    seconds, frac = divmod(wall_ns, 1_000_000_000)
    wall = datetime(1970, 1, 1) + timedelta(seconds=seconds)
    local = wall.replace(tzinfo=ZoneInfo(zone))
    return int(local.timestamp()) * 1_000_000_000 + frac


class FatDentries:
    """FAT12/16/32 directory entries: the attribute byte (pytsk3 does not expose it) and times.

    ``read(offset, size)`` reads the volume. TSK numbers FAT inodes by directory-entry slot:
    inode 3 is the first 32-byte entry of the first sector that can hold one (the root directory
    of FAT12/16, the data area of FAT32), both at reserved + FATs x FAT size sectors.
    """

    def __init__(self, read: Any):
        self._read = read
        boot = read(0, 512)
        self._sector = struct.unpack_from("<H", boot, 0x0B)[0] or 512
        reserved, fats = struct.unpack_from("<H", boot, 0x0E)[0], boot[0x10]
        fat_size = struct.unpack_from("<H", boot, 0x16)[0] or struct.unpack_from("<I", boot, 0x24)[0]
        self._first = reserved + fats * fat_size

    def offset_of_inode(self, inode: int) -> int | None:
        if inode < 3:
            return None
        sector, slot = divmod(inode - 3, self._sector // 32)
        return (self._first + sector) * self._sector + slot * 32

    def attributes(self, inode: int) -> tuple[str, ...]:
        at = self.offset_of_inode(inode)
        try:
            raw = self._read(at + 11, 1) if at is not None else b""
        except (OSError, RuntimeError):
            return ()
        return flag_names(raw[0], FAT_FLAGS) if raw else ()

    def times(self, entry_offset: int | None, zone: str) -> tuple[dict[str, int | None], str | None] | None:
        """({mtime, atime, crtime}, zone) of the entry at this byte offset, read in ``zone``."""
        try:
            raw = self._read(entry_offset, 32) if entry_offset is not None else b""
        except (OSError, RuntimeError):
            return None
        if len(raw) < 32 or raw[0] == 0 or raw[11] & 0x0F == 0x0F:
            return None
        stamp = lambda date_at, time_at: struct.unpack_from("<H", raw, date_at)[0] << 16 | (  # noqa: E731
            struct.unpack_from("<H", raw, time_at)[0] if time_at is not None else 0)
        out = {"crtime": _exfat_wall_ns(stamp(0x10, 0x0E), raw[0x0D]), "mtime": _exfat_wall_ns(stamp(0x18, 0x16), 0),
               "atime": _exfat_wall_ns(stamp(0x12, None), 0)}
        return {key: wall_to_utc_ns(value, zone) for key, value in out.items()}, zone


def dentries_of(read: Any) -> tuple[Any, str]:
    """The directory-entry reader for the FAT or exFAT volume ``read`` reads, and its type name."""
    boot = read(0, 512)
    if boot[3:11] == b"EXFAT   ":
        return ExfatDentries(read), "exfat"
    for at in (54, 82):
        if boot[at:at + 5] in (b"FAT12", b"FAT16", b"FAT32"):
            return FatDentries(read), boot[at:at + 5].decode().lower()
    return FatDentries(read), "fat"


class ExfatDentries:
    """exFAT File directory entries (type 0x85, 0x05 when deleted): times with their UTC offsets.

    ``read(offset, size)`` reads the volume. TSK numbers exFAT inodes by 32-byte slot from the
    cluster heap (inode 3 is its first slot; measured against ``istat``); libfsfat's identifier
    is the entry's byte offset in the volume.
    """

    def __init__(self, read: Any):
        self._read = read
        boot = read(0, 512)
        self._heap = struct.unpack_from("<I", boot, 88)[0] << boot[108]

    def offset_of_inode(self, inode: int) -> int | None:
        return self._heap + (inode - 3) * 32 if inode >= 3 else None

    def times(self, entry_offset: int | None, zone: str) -> tuple[dict[str, int | None], str | None] | None:
        """({mtime, atime, crtime}, the zone assumed for any of them or None); None if no File entry there."""
        if entry_offset is None:
            return None
        try:
            raw = self._read(entry_offset, 32)
        except (OSError, RuntimeError):
            return None
        if len(raw) < 32 or raw[0] & 0x7F != 0x05:
            return None
        assumed = None
        out: dict[str, int | None] = {}
        for field, at, centis, utc_at in (("crtime", 8, 20, 22), ("mtime", 12, 21, 23), ("atime", 16, None, 24)):
            value = _exfat_wall_ns(struct.unpack_from("<I", raw, at)[0], raw[centis] if centis else 0)
            offset = raw[utc_at]
            if value is None:
                out[field] = None
            elif offset & 0x80:
                minutes = ((offset & 0x7F) - 128 if offset & 0x40 else offset & 0x7F) * 15
                out[field] = value - minutes * 60_000_000_000
            else:
                out[field], assumed = wall_to_utc_ns(value, zone), zone
        return out, assumed

    def attributes(self, entry_offset: int | None) -> tuple[str, ...]:
        if entry_offset is None:
            return ()
        try:
            raw = self._read(entry_offset, 6)
        except (OSError, RuntimeError):
            return ()
        return flag_names(struct.unpack_from("<H", raw, 4)[0], FAT_FLAGS) if len(raw) == 6 else ()


def _exfat_wall_ns(stamp: int, centis: int) -> int | None:
    """An exFAT timestamp (DOS date and time, 2 s) plus its 10 ms increment, as if UTC."""
    if not stamp:
        return None
    try:
        wall = datetime(1980 + (stamp >> 25), (stamp >> 21) & 0xF, (stamp >> 16) & 0x1F,
                        (stamp >> 11) & 0x1F, (stamp >> 5) & 0x3F, (stamp & 0x1F) * 2, tzinfo=UTC)
    except ValueError:
        return None
    return int(wall.timestamp()) * 1_000_000_000 + min(centis, 199) * 10_000_000
