"""Opening a zip whose member names claim UTF-8 (flag bit 11) but are not.

The standard library's ``zipfile`` decodes every name while it reads the central directory and
gives up on the whole archive at the first such name (``UnicodeDecodeError``), so no member could
be listed. No other well-kept reader keeps raw names either, so this module lets ``zipfile`` read
the archive through a view that clears bit 11 in the headers of exactly those members: their
names then come out as cp437 text, which maps each byte to one character and back, so the raw
bytes are recovered unchanged (``ZipInfo.orig_filename.encode("cp437")``). The file itself is
only read; the view changes bytes in memory, never on disk.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import struct
import zipfile
from typing import Any

UTF8_FLAG = 1 << 11
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # zipfile's structCentralDir
_CENTRAL_SIG = b"PK\x01\x02"


class _MaskedFile(io.RawIOBase):
    """A read-only view of a file in which chosen bytes are ANDed with a mask; notes the last read."""

    def __init__(self, path: str):
        super().__init__()
        self._fh = open(path, "rb")  # noqa: SIM115 - closed with the view
        self._masks: dict[int, int] = {}
        self._offsets: list[int] = []
        self.last_read = (0, 0)

    def clear_bits(self, offset: int, mask: int) -> None:
        self._masks[offset] = self._masks.get(offset, 0xFF) & ~mask & 0xFF
        self._offsets = sorted(self._masks)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def readinto(self, buffer: Any) -> int:
        start = self._fh.tell()
        n = self._fh.readinto(buffer)
        self.last_read = (start, n)
        for i in range(bisect.bisect_left(self._offsets, start), len(self._offsets)):
            at = self._offsets[i]
            if at >= start + n:
                break
            buffer[at - start] &= self._masks[at]
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def open_zip(path: str) -> tuple[zipfile.ZipFile, set[int], io.RawIOBase | None]:
    """The archive, the positions (in ``infolist()``) of members whose UTF-8 flag was cleared, and
    the view it reads through (None for an ordinary archive): close it after the archive."""
    try:
        return zipfile.ZipFile(path), set(), None
    except UnicodeDecodeError:
        pass
    view = _MaskedFile(path)
    try:
        with contextlib.suppress(UnicodeDecodeError):  # expected: zipfile failed after reading the
            zipfile.ZipFile(view).close()               # whole central directory in its last read
        start, size = view.last_read
        view.seek(start)
        masked = _mask_central(view, view.read(size), start)
        archive = zipfile.ZipFile(view)
        infos = archive.infolist()
        for index in masked:
            view.clear_bits(infos[index].header_offset + 7, UTF8_FLAG >> 8)  # the local header's flag bits
        return archive, masked, view
    except BaseException:
        view.close()
        raise


def _mask_central(view: _MaskedFile, data: bytes, start: int) -> set[int]:
    """Clear the UTF-8 flag of the central directory entries whose names are not UTF-8."""
    masked, pos, index = set(), 0, 0
    while pos + _CENTRAL.size <= len(data) and data[pos:pos + 4] == _CENTRAL_SIG:
        fields = _CENTRAL.unpack_from(data, pos)
        flags, name_len, extra_len, comment_len = fields[5], fields[12], fields[13], fields[14]
        name = data[pos + _CENTRAL.size: pos + _CENTRAL.size + name_len]
        if flags & UTF8_FLAG and not _is_utf8(name):
            view.clear_bits(start + pos + 9, UTF8_FLAG >> 8)  # flag bits: bytes 8-9, little-endian
            masked.add(index)
        pos += _CENTRAL.size + name_len + extra_len + comment_len
        index += 1
    return masked


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
