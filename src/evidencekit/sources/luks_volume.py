"""dfvfs's LUKS layer with the LUKS2 reader of ``luks.py`` behind it where libluksde fails.

dfvfs opens LUKS volumes through ``pyluksde.volume`` objects. Here its LUKSDE resolver helper is
replaced (dfvfs's own extension point: ``ResolverHelperManager``) by one whose file object and
file system build a ``LuksVolume``: for LUKS1 it is libluksde itself; for LUKS2, which
libluksde cannot open, our reader. Path specs, the scanner's lock and unlock logic and the key
chain stay dfvfs's own, so locators of LUKS2 entries look like any other LUKSDE locator.
"""

from __future__ import annotations

import os
from typing import Any

import pyluksde
from dfvfs.file_io import luksde_file_io
from dfvfs.lib import definitions as dd
from dfvfs.lib import luksde_helper
from dfvfs.resolver import resolver
from dfvfs.resolver_helpers import luksde_resolver_helper, manager
from dfvfs.vfs import luksde_file_system

from evidencekit.errors import CredentialError, EvidenceError
from evidencekit.sources import luks


class OwnLuksVolume:
    """The subset of ``pyluksde.volume`` dfvfs uses, by our reader, decrypting in chunks: LUKS2,
    and LUKS1 where libluksde refuses the right password (it fails on non-ASCII ones)."""

    _CHUNK = 256 << 10

    def __init__(self, file_object: Any, header: luks.LuksHeader):
        self._fo, self.header = file_object, header
        self._password: str | None = None
        self._cipher: luks.SectorCipher | None = None
        self._size = header.decrypted_size(int(file_object.get_size()))
        self._offset = 0
        self._cached: tuple[int, bytes] = (-1, b"")

    def set_password(self, password: str) -> None:
        self._password = password

    def is_locked(self) -> bool:
        return self._cipher is None

    def unlock(self) -> bool:
        if self._cipher is None and self._password is not None:
            try:
                key = luks.unlock(_Stream(self._fo), self.header, self._password)  # type: ignore[arg-type]
            except CredentialError:
                return False
            self._cipher = luks.SectorCipher(self.header.cipher, key, self.header.sector_size, self.header.iv_tweak)
        return self._cipher is not None

    def get_size(self) -> int:
        return self._size

    def close(self) -> None:
        self._cipher = None

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> None:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._offset, os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError("Invalid offset value less than zero.")
        self._offset = base + offset

    def get_offset(self) -> int:
        return self._offset

    def read(self, size: int | None = None) -> bytes:
        if self._cipher is None:
            raise OSError("LUKS volume is locked")
        end = self._size if size is None or size < 0 else min(self._size, self._offset + size)
        out = bytearray()
        while self._offset < end:
            index, within = divmod(self._offset, self._CHUNK)
            piece = self._chunk(index)[within:within + end - self._offset]
            if not piece:
                break  # the image ends early: a short read, as any truncated layer gives
            out += piece
            self._offset += len(piece)
        return bytes(out)

    def _chunk(self, index: int) -> bytes:
        if self._cached[0] != index:
            assert self._cipher is not None
            self._fo.seek(self.header.payload_offset + index * self._CHUNK)
            data = self._fo.read(min(self._CHUNK, self._size - index * self._CHUNK))
            usable = len(data) - len(data) % self._cipher.sector_size
            first = index * self._CHUNK // self._cipher.sector_size
            self._cached = (index, self._cipher.decrypt(first, data[:usable]))
        return self._cached[1]


class _Stream:
    """A dfvfs file object as the ``read``/``seek`` stream ``luks.read_header`` expects."""

    def __init__(self, file_object: Any):
        self._fo = file_object

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> None:
        self._fo.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        return bytes(self._fo.read(size if size >= 0 else None))


def open_volume(path_spec: Any, file_object: Any) -> Any:
    """libluksde's volume for LUKS1, ours for LUKS2 or where libluksde refuses the password."""
    try:
        header = luks.read_header(_Stream(file_object))  # type: ignore[arg-type]
    except EvidenceError:
        header = None
    password = resolver.Resolver.key_chain.GetCredential(path_spec, "password")
    if header is not None and header.version == 1:
        volume = pyluksde.volume()
        luksde_helper.LUKSDEOpenVolume(volume, path_spec, file_object, resolver.Resolver.key_chain)
        if not password or not volume.is_locked():
            return volume
    if header is None:
        raise EvidenceError("not a LUKS volume (no LUKS signature)")
    own = OwnLuksVolume(file_object, header)
    if password:
        own.set_password(password)
        own.unlock()
    return own


class _LuksFile(luksde_file_io.LUKSDEFile):  # type: ignore[misc]
    def _OpenFileObject(self, path_spec: Any) -> Any:  # noqa: N802 - dfvfs API
        resolver.Resolver.key_chain.ExtractCredentialsFromPathSpec(path_spec)
        file_object = resolver.Resolver.OpenFileObject(path_spec.parent, resolver_context=self._resolver_context)
        return open_volume(path_spec, file_object)


class _LuksFileSystem(luksde_file_system.LUKSDEFileSystem):  # type: ignore[misc]
    def _Open(self, mode: str = "rb") -> None:  # noqa: N802 - dfvfs API
        resolver.Resolver.key_chain.ExtractCredentialsFromPathSpec(self._path_spec)
        file_object = resolver.Resolver.OpenFileObject(self._path_spec.parent, resolver_context=self._resolver_context)
        self._luksde_volume = open_volume(self._path_spec, file_object)
        self._file_object = file_object


class _LuksResolverHelper(luksde_resolver_helper.LUKSDEResolverHelper):  # type: ignore[misc]
    def NewFileObject(self, resolver_context: Any, path_spec: Any) -> Any:  # noqa: N802 - dfvfs API
        return _LuksFile(resolver_context, path_spec)

    def NewFileSystem(self, resolver_context: Any, path_spec: Any) -> Any:  # noqa: N802 - dfvfs API
        return _LuksFileSystem(resolver_context, path_spec)


def install() -> None:
    """Put the LUKS2-capable helper in place of dfvfs's (idempotent)."""
    current = manager.ResolverHelperManager.GetHelper(dd.TYPE_INDICATOR_LUKSDE)
    if isinstance(current, _LuksResolverHelper):
        return
    manager.ResolverHelperManager.DeregisterHelper(current)
    manager.ResolverHelperManager.RegisterHelper(_LuksResolverHelper())


def header_of(volume_spec: Any) -> luks.LuksHeader | None:
    """The LUKS header of the byte range ``volume_spec`` names; None when unreadable."""
    try:
        return luks.read_header(_Stream(resolver.Resolver.OpenFileObject(volume_spec)))  # type: ignore[arg-type]
    except (EvidenceError, OSError):
        return None
