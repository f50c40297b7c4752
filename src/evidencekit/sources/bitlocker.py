"""What ``info`` shows of an unlocked BitLocker volume, read from libbde (pybde) through dfvfs."""

from __future__ import annotations

import os
from typing import Any

import pybde
from dfvfs.file_io import bde_file_io
from dfvfs.lib import bde_helper
from dfvfs.lib import errors as dfvfs_errors
from dfvfs.resolver import resolver
from dfvfs.vfs import bde_file_system

# libbde's encryption method values (FVE metadata header; 0x8004/0x8005 are Windows 10's XTS)
METHODS = {0x0000: "none", 0x8000: "aes-cbc-128-elephant", 0x8001: "aes-cbc-256-elephant", 0x8002: "aes-cbc-128",
           0x8003: "aes-cbc-256", 0x8004: "aes-xts-128", 0x8005: "aes-xts-256"}
# the VMK's protection type
PROTECTORS = {0x0000: "clear key", 0x0100: "TPM", 0x0200: "startup key", 0x0500: "TPM and PIN",
              0x0800: "recovery password", 0x2000: "password"}


def describe(file_object: Any) -> dict[str, Any]:
    """Encryption method, key protectors, volume identifier, creation time and description of
    the pybde volume inside a dfvfs BDE file object; {} when it is not one."""
    volume = getattr(file_object, "_file_object", None)  # dfvfs's FileObjectIO keeps the pybde volume there
    if volume is None or not hasattr(volume, "get_encryption_method"):
        return {}
    method = volume.get_encryption_method()
    details: dict[str, Any] = {"cipher": METHODS.get(method, f"0x{method:04x}")}
    protectors = []
    for index in range(volume.get_number_of_key_protectors()):
        kind = volume.get_key_protector(index).get_type()
        protectors.append(PROTECTORS.get(kind, f"0x{kind:04x}"))
    details["key_protectors"] = ", ".join(protectors)
    details["volume_identifier"] = volume.get_volume_identifier()
    created = volume.get_creation_time()
    details["created"] = created.isoformat() + "Z" if created else None
    details["description"] = volume.get_description()
    return details


# -- one unlock per volume and key --------------------------------------------------------
# libbde stretches the password with 0x100000 SHA-256 rounds on every open (2-3 s here), and dfvfs
# opens the BDE volume afresh for each step of its scan (its analyzer uses a new resolver context
# each time): ten unlocks, 25 s, for one `files`. An unlocked volume is therefore kept, per path
# specification and key, and each dfvfs file object or file system reads it through a view with
# its own offset (pybde's read_buffer_at_offset). Locked volumes are not kept; forget() drops an
# evidence's volumes when it is opened again, and a forked worker process starts with none.
_UNLOCKED: dict[tuple[str, ...], tuple[Any, Any]] = {}


class _VolumeView:
    """A pybde volume as one reader sees it: shared decryption, an offset of its own."""

    def __init__(self, volume: Any) -> None:
        self._volume = volume
        self._offset = 0

    def read(self, size: int | None = None) -> bytes:
        remaining = max(0, self._volume.get_size() - self._offset)
        size = remaining if size is None or size < 0 else min(size, remaining)
        data = self._volume.read_buffer_at_offset(size, self._offset) if size else b""
        self._offset += len(data)
        return data

    read_buffer = read

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> None:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._offset, os.SEEK_END: self._volume.get_size()}[whence]
        self._offset = base + offset

    seek_offset = seek

    def get_offset(self) -> int:
        return self._offset

    tell = get_offset

    def close(self) -> None:
        """The volume stays open for the other views."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._volume, name)


def _key(path_spec: Any) -> tuple[str, ...]:
    chain = resolver.Resolver.key_chain
    return (path_spec.comparable, *(str(chain.GetCredential(path_spec, kind) or "")
                                    for kind in ("password", "recovery_password", "startup_key")))


def _open_shared(path_spec: Any, resolver_context: Any) -> _VolumeView:
    resolver.Resolver.key_chain.ExtractCredentialsFromPathSpec(path_spec)
    key = _key(path_spec)
    if key not in _UNLOCKED:
        parent = resolver.Resolver.OpenFileObject(path_spec.parent, resolver_context=resolver_context)
        volume = pybde.volume()
        bde_helper.BDEOpenVolume(volume, path_spec, parent, resolver.Resolver.key_chain)
        if volume.is_locked():
            return _VolumeView(volume)  # not kept: a wrong key is tried afresh
        _UNLOCKED[key] = (volume, parent)
    return _VolumeView(_UNLOCKED[key][0])


def _file_object(self: Any, path_spec: Any) -> Any:
    if not path_spec.HasParent():
        raise dfvfs_errors.PathSpecError("Unsupported path specification without parent.")
    return _open_shared(path_spec, self._resolver_context)


def _file_system_open(self: Any, mode: str = "rb") -> None:
    if not self._path_spec.HasParent():
        raise dfvfs_errors.PathSpecError("Unsupported path specification without parent.")
    self._bde_volume = _open_shared(self._path_spec, self._resolver_context)
    self._file_object = None


def _file_system_close(self: Any) -> None:
    self._bde_volume = None


def forget(evidence_path: str) -> None:
    """Drop the unlocked volumes of ``evidence_path`` (opened again, it must unlock again)."""
    marker = f"location: {evidence_path}\n"
    for key in [k for k in _UNLOCKED if marker in k[0]]:
        del _UNLOCKED[key]


def install() -> None:
    """Share unlocked volumes among dfvfs's BDE file objects and file systems (idempotent)."""
    bde_file_io.BDEFile._OpenFileObject = _file_object  # type: ignore[method-assign]
    bde_file_system.BDEFileSystem._Open = _file_system_open  # type: ignore[method-assign]
    bde_file_system.BDEFileSystem._Close = _file_system_close  # type: ignore[method-assign]


os.register_at_fork(after_in_child=_UNLOCKED.clear)
