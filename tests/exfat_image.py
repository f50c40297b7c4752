"""An exFAT volume written from Microsoft's published exFAT specification, for tests (no root, FUSE
or loop device needed).

Main and backup boot regions (boot sector, eight extended boot sectors, OEM parameters, reserved
sector, boot checksum sector), one FAT, the cluster heap with the allocation bitmap, the up-case
table (compressed as the specification allows, with its checksum) and the root directory: a
volume label entry, then a directory entry set per file or folder (File entry with attributes,
timestamps, 10 ms increments and UTC offsets; Stream Extension with name length, name hash,
first cluster and lengths; File Name entries) with its set checksum. Folders are FAT chains,
files contiguous with NoFatChain set, so readers take both paths. Times are written as the
writing machine's wall clock in ``zone`` with its UTC offset (``offsets=False``: the offset
fields say "absent", as an old camera writes them).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

SECTOR, CLUSTER = 512, 4096
SECTORS_PER_CLUSTER = CLUSTER // SECTOR
FAT_OFFSET, FAT_LENGTH, HEAP_OFFSET = 128, 64, 256  # in sectors
END_OF_CHAIN = 0xFFFFFFFF


@dataclass
class Node:
    path: str
    data: bytes | None  # None for a folder
    mtime: int  # UTC seconds
    atime: int
    crtime: int
    cluster: int = 0
    length: int = 0


def _rotate32(checksum: int, byte: int) -> int:
    return ((0x80000000 if checksum & 1 else 0) + (checksum >> 1) + byte) & 0xFFFFFFFF


def _rotate16(checksum: int, byte: int) -> int:
    return ((0x8000 if checksum & 1 else 0) + (checksum >> 1) + byte) & 0xFFFF


def _upcase_table() -> bytes:
    """The up-case table for the BMP, identity runs compressed (0xFFFF, run length)."""
    out, run = [], 0
    for code in range(0x10000):
        upper = chr(code).upper() if not 0xD800 <= code < 0xE000 else chr(code)
        mapped = ord(upper) if len(upper) == 1 and ord(upper) < 0x10000 else code
        if mapped == code:
            run += 1
            continue
        if run:
            out += [0xFFFF, run] if run > 2 else list(range(code - run, code))
            run = 0
        out.append(mapped)
    if run:
        out += [0xFFFF, run]
    return struct.pack(f"<{len(out)}H", *out)


def _stamp(instant: int, zone: ZoneInfo, offsets: bool) -> tuple[int, int, int]:
    """(DOS timestamp of the wall clock, 10 ms increment, UTC offset byte)."""
    utc = datetime.fromtimestamp(instant, UTC)
    offset = utc.astimezone(zone).utcoffset() or timedelta(0)
    wall = utc + offset
    dos = ((wall.year - 1980) << 25 | wall.month << 21 | wall.day << 16 | wall.hour << 11 | wall.minute << 5
           | wall.second // 2)
    quarters = int(offset.total_seconds()) // 900
    return dos, (wall.second % 2) * 100, (0x80 | (quarters & 0x7F)) if offsets else 0


def _entry_set(node: Node, zone: ZoneInfo, offsets: bool) -> bytes:
    name = node.path.rsplit("/", 1)[1]
    units = name.encode("utf-16-le")
    parts = [units[i:i + 30] for i in range(0, len(units), 30)]
    stamps = [_stamp(t, zone, offsets) for t in (node.crtime, node.mtime, node.atime)]
    folder = node.data is None
    file_entry = struct.pack("<BBHHH3IBB3B7x", 0x85, 1 + len(parts), 0, 0x10 if folder else 0x20, 0,
                             stamps[0][0], stamps[1][0], stamps[2][0], stamps[0][1], stamps[1][1],
                             stamps[0][2], stamps[1][2], stamps[2][2])
    name_hash = 0
    for byte in name.upper().encode("utf-16-le"):
        name_hash = _rotate16(name_hash, byte)
    flags = 0x01 if folder else 0x03 if node.length else 0  # AllocationPossible; files: NoFatChain (contiguous)
    stream = struct.pack("<BBBBHHQIIQ", 0xC0, flags, 0, len(name), name_hash, 0, node.length, 0, node.cluster,
                         node.length)
    names = b"".join(struct.pack("<BB30s", 0xC1, 0, part) for part in parts)
    entries = bytearray(file_entry + stream + names)
    checksum = 0
    for i, byte in enumerate(entries):
        if i not in (2, 3):
            checksum = _rotate16(checksum, byte)
    struct.pack_into("<H", entries, 2, checksum)
    return bytes(entries)


class _Volume:
    def __init__(self, size: int, label: str, serial: int) -> None:
        self.sectors = size // SECTOR
        self.clusters = (self.sectors - HEAP_OFFSET) // SECTORS_PER_CLUSTER
        self.image = bytearray(size)
        self.fat = [0xFFFFFFF8, 0xFFFFFFFF] + [0] * self.clusters
        self.next_free = 2
        self.label, self.serial = label, serial

    def allocate(self, length: int, chain: bool) -> int:
        count = max(1, -(-length // CLUSTER))
        first = self.next_free
        self.next_free += count
        assert self.next_free <= self.clusters + 2, "volume full"
        if chain:
            for cluster in range(first, first + count):
                self.fat[cluster] = cluster + 1 if cluster + 1 < first + count else END_OF_CHAIN
        return first

    def write(self, cluster: int, data: bytes) -> None:
        at = (HEAP_OFFSET + (cluster - 2) * SECTORS_PER_CLUSTER) * SECTOR
        self.image[at:at + len(data)] = data

    def boot_region(self, root: int, partition_offset: int) -> bytes:
        boot = bytearray(SECTOR)
        boot[0:11] = b"\xeb\x76\x90EXFAT   "
        struct.pack_into("<QQIIIIIIHHBBBBB", boot, 64, partition_offset, self.sectors, FAT_OFFSET, FAT_LENGTH,
                         HEAP_OFFSET, self.clusters, root, self.serial, 0x0100, 0, 9, 3, 1, 0x80,
                         min(100, 100 * (self.next_free - 2) // self.clusters))
        boot[510:512] = b"\x55\xaa"
        region = bytearray(boot)
        for _ in range(8):  # extended boot sectors, each with its signature
            region += bytes(SECTOR - 4) + b"\x00\x00\x55\xaa"
        region += bytes(2 * SECTOR)  # OEM parameters, reserved
        checksum = 0
        for i, byte in enumerate(region):
            if i not in (106, 107, 112):
                checksum = _rotate32(checksum, byte)
        return bytes(region + struct.pack("<I", checksum) * (SECTOR // 4))


def build(path: Path, nodes: list[Node], *, size: int = 20 << 20, label: str = "USBX", serial: int = 0x1A2B3C4D,
          zone: str = "Asia/Almaty", offsets: bool = True, partition_offset: int = 0) -> Path:
    """Write the exFAT volume holding ``nodes`` (parents before children) to ``path``."""
    tz, vol = ZoneInfo(zone), _Volume(size, label, serial)
    bitmap_cluster = vol.allocate(-(-vol.clusters // 8), chain=True)
    upcase = _upcase_table()
    upcase_cluster = vol.allocate(len(upcase), chain=True)
    vol.write(upcase_cluster, upcase)
    children: dict[str, list[Node]] = {"": []}
    for node in nodes:
        children[node.path.rsplit("/", 1)[0]].append(node)
        if node.data is None:
            children[node.path] = []
    folders = sorted(children, key=lambda p: p.count("/"))  # allocate folders first, then fill them
    folder_cluster = {p: vol.allocate(CLUSTER, chain=True) for p in folders}
    for node in nodes:
        if node.data is None:
            node.cluster, node.length = folder_cluster[node.path], CLUSTER
        elif node.data:
            node.cluster, node.length = vol.allocate(len(node.data), chain=False), len(node.data)
            vol.write(node.cluster, node.data)
    table_checksum = 0
    for byte in upcase:
        table_checksum = _rotate32(table_checksum, byte)
    for folder in folders:
        entries = b""
        if folder == "":
            units = vol.label.encode("utf-16-le")
            entries += struct.pack("<BB22s8x", 0x83, len(vol.label), units)
            entries += struct.pack("<BB18xIQ", 0x81, 0, bitmap_cluster, -(-vol.clusters // 8))
            entries += struct.pack("<B3xI12xIQ", 0x82, table_checksum, upcase_cluster, len(upcase))
        for node in children[folder]:
            entries += _entry_set(node, tz, offsets)
        assert len(entries) <= CLUSTER
        vol.write(folder_cluster[folder], entries)
    bitmap = bytearray(-(-vol.clusters // 8))
    for cluster in range(2, vol.next_free):
        bitmap[(cluster - 2) // 8] |= 1 << ((cluster - 2) % 8)
    vol.write(bitmap_cluster, bytes(bitmap))
    fat = struct.pack(f"<{len(vol.fat)}I", *vol.fat)
    vol.image[FAT_OFFSET * SECTOR:FAT_OFFSET * SECTOR + len(fat)] = fat
    region = vol.boot_region(folder_cluster[""], partition_offset)
    vol.image[0:len(region)] = region
    vol.image[len(region):2 * len(region)] = region  # the backup boot region
    path.write_bytes(bytes(vol.image))
    return path
