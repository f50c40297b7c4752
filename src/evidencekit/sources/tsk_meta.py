"""Fields The Sleuth Kit reads but pytsk3 does not expose, read from the raw on-disk structures:
volume labels, the ext2/3/4 deletion time, the entries in use (FAT and exFAT directory entries: sources/fat.py)."""

from __future__ import annotations

import struct
from typing import Any

import pytsk3


def volume_label(fs_type: str, img: Any, offset: int, fs: Any) -> str | None:
    """The label as the file system stores it (None where it has none or it cannot be read)."""
    try:
        if fs_type.startswith("ext"):
            raw = img.read(offset + 1024 + 120, 16).split(b"\0", 1)[0]
            return raw.decode("utf-8", "replace") or None
        if fs_type.startswith("fat"):
            boot = img.read(offset, 512)
            raw = boot[0x47:0x52] if fs_type == "fat32" else boot[0x2B:0x36]
            text = raw.decode("ascii", "replace").strip()
            return None if text in ("", "NO NAME") else text
        if fs_type == "iso9660":
            return img.read(offset + 0x8000 + 40, 32).decode("ascii", "replace").strip() or None
        if fs_type == "ntfs":
            volume_file = fs.open_meta(inode=3)
            for attr in volume_file:
                if int(attr.info.type) == int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_VNAME):
                    data = volume_file.read_random(0, int(attr.info.size), attr.info.type, attr.info.id)
                    return data.decode("utf-16-le", "replace") or None
    except (OSError, UnicodeDecodeError):
        return None
    return None


def used_entries(fs_type: str, img: Any, offset: int, fs: Any) -> int | None:
    """How many metadata entries the file system says are in use: ext inodes (superblock count
    less its free count), NTFS MFT records (bits set in $MFT's $BITMAP); None for the others
    (FAT and exFAT have no inode table) or when it cannot be read. A progress total, no more."""
    try:
        if fs_type.startswith("ext"):
            total, free = struct.unpack_from("<I12xI", img.read(offset + 1024, 20))
            return max(0, total - free)
        if fs_type == "ntfs":
            mft = fs.open_meta(inode=0)
            for attr in mft:
                if int(attr.info.type) == int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_BITMAP):
                    bits = mft.read_random(0, int(attr.info.size), attr.info.type, attr.info.id)
                    return int.from_bytes(bits, "little").bit_count()
    except (OSError, struct.error):
        return None
    return None


def flag_names(value: int, table: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    return tuple(name for bit, name in table if value & bit)


class ExtInodeTable:
    """Reads inode fields straight from the ext2/3/4 inode table: the deletion time, which pytsk3
    does not expose, and a directory's size."""

    def __init__(self, img: Any, offset: int):
        self._img, self._offset = img, offset
        sb = img.read(offset + 1024, 1024)
        self._block = 1024 << struct.unpack_from("<I", sb, 24)[0]
        self._first_data_block = struct.unpack_from("<I", sb, 20)[0]
        self._per_group = struct.unpack_from("<I", sb, 40)[0]
        rev = struct.unpack_from("<I", sb, 76)[0]
        self._inode_size = struct.unpack_from("<H", sb, 88)[0] if rev >= 1 else 128
        is64 = struct.unpack_from("<I", sb, 96)[0] & 0x80
        self._desc_size = (struct.unpack_from("<H", sb, 254)[0] or 32) if is64 else 32

    def dtime(self, inode: int) -> int | None:
        value = self._field(inode, 0x14)
        return value * 1_000_000_000 if value else None

    def dir_size(self, inode: int) -> int | None:
        """A directory's i_size, read without TSK (which loads a damaged inode's whole block list
        first). The low word only, as TSK takes it: ext2/3 kept i_dir_acl in the high word."""
        return self._field(inode, 0x04)

    def _field(self, inode: int, at: int) -> int | None:
        """The 32-bit little-endian field at ``at`` of the inode's on-disk record."""
        try:
            group, index = divmod(inode - 1, self._per_group)
            desc_at = self._offset + (self._first_data_block + 1) * self._block + group * self._desc_size
            desc = self._img.read(desc_at, self._desc_size)
            table = struct.unpack_from("<I", desc, 8)[0]
            if self._desc_size >= 64:
                table |= struct.unpack_from("<I", desc, 0x28)[0] << 32
            raw = self._img.read(self._offset + table * self._block + index * self._inode_size + at, 4)
            return int(struct.unpack("<I", raw)[0])
        except (OSError, struct.error, ZeroDivisionError):
            return None
