"""FAT32 directory-entry patching: created, modified and accessed times set separately.

mtools writes the source mtime as both created and modified time; a real copy onto a stick
gives a new created time and keeps the modified time. This module finds a file's 32-byte
short entry by its long path and rewrites the three time fields.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

from evidencekit.training.tools import BuildError, patch


class Fat32:
    """Just enough FAT32 to walk allocated directory entries of an image being built."""

    def __init__(self, image: Path | bytes):
        self.data = image if isinstance(image, bytes) else image.read_bytes()
        bps, spc, rsvd, nfats = struct.unpack_from("<HBHB", self.data, 11)
        fatsz, self.root = struct.unpack_from("<I", self.data, 36)[0], struct.unpack_from("<I", self.data, 44)[0]
        self.bps, self.spc, self.fat_at = bps, spc, rsvd * bps
        self.data_at = (rsvd + nfats * fatsz) * bps

    def chain(self, cluster: int) -> list[int]:
        out = []
        while 2 <= cluster < 0x0FFFFFF8:
            out.append(cluster)
            cluster = struct.unpack_from("<I", self.data, self.fat_at + 4 * cluster)[0] & 0x0FFFFFFF
        return out

    def attributes(self, cluster: int | None = None, prefix: str = "") -> dict[str, int]:
        """{path: attribute byte} of every allocated entry below ``cluster`` (default: the root)."""
        found: dict[str, int] = {}
        for name, (offset, first) in self.entries(self.root if cluster is None else cluster).items():
            attr = self.data[offset + 11]
            if name in (".", "..") or attr & 0x08:  # dot entries, volume label
                continue
            found[f"{prefix}/{name}"] = attr
            if attr & 0x10:
                found.update(self.attributes(first, f"{prefix}/{name}"))
        return found

    def entries(self, cluster: int) -> dict[str, tuple[int, int]]:
        """{long name: (byte offset of the short entry, first cluster)} of one directory."""
        found: dict[str, tuple[int, int]] = {}
        lfn: dict[int, str] = {}
        size = self.bps * self.spc
        for clus in self.chain(cluster):
            base = self.data_at + (clus - 2) * size
            for off in range(base, base + size, 32):
                ent = self.data[off:off + 32]
                if ent[0] == 0:
                    return found
                if ent[0] == 0xE5:
                    lfn.clear()
                    continue
                if ent[11] == 0x0F:
                    part = (ent[1:11] + ent[14:26] + ent[28:32]).decode("utf-16-le")
                    lfn[ent[0] & 0x1F] = part.split("\0")[0]
                    continue
                name = "".join(lfn[k] for k in sorted(lfn)) if lfn else _short_name(ent)
                lfn.clear()
                first = struct.unpack_from("<H", ent, 20)[0] << 16 | struct.unpack_from("<H", ent, 26)[0]
                found[name] = (off, first)
        return found

    def locate(self, path: str) -> int:
        """Byte offset of the short directory entry of ``path`` ('/Dir/File.ext')."""
        cluster, offset = self.root, -1
        for part in path.strip("/").split("/"):
            table = self.entries(cluster)
            if part not in table:
                raise BuildError(f"{path}: '{part}' not found in the FAT32 image being built")
            offset, cluster = table[part]
        return offset


def _short_name(ent: bytes) -> str:
    base, ext = ent[0:8].decode("ascii").rstrip(), ent[8:11].decode("ascii").rstrip()
    return f"{base}.{ext}" if ext else base


def _dos(when: datetime) -> tuple[int, int]:
    date = (when.year - 1980) << 9 | when.month << 5 | when.day
    return date, when.hour << 11 | when.minute << 5 | when.second // 2


def set_times(image: Path, path: str, created_ns: int, modified_ns: int, accessed_ns: int) -> None:
    """Write created (10 ms), modified (2 s) and accessed (date) times of one entry, as UTC."""
    offset = Fat32(image).locate(path)
    crt = datetime.fromtimestamp(created_ns // 10**9, tz=UTC)
    tenth = (crt.second % 2) * 100 + (created_ns % 10**9) // 10**7
    crt_date, crt_time = _dos(crt)
    wrt_date, wrt_time = _dos(datetime.fromtimestamp(modified_ns // 10**9, tz=UTC))
    acc_date, _ = _dos(datetime.fromtimestamp(accessed_ns // 10**9, tz=UTC))
    patch(image, offset + 13, struct.pack("<BHHH", tenth, crt_time, crt_date, acc_date))
    patch(image, offset + 22, struct.pack("<HH", wrt_time, wrt_date))
