"""A tar (plain, gzip-, bzip2- or xz-compressed, or an uncompressed GNU tar misnamed .tgz) holding
one disk image: raw, or a container dfvfs decodes (E01, QCOW2, VMDK, VHD, ...).

Images are often shipped that way. Such a tar is opened as the image inside it: dfvfs reads the
member through Python's ``tarfile`` (GNU and PAX sparse members included), so ``verify`` hashes
the image's bytes and ``files`` walks its partitions. ``--as-archive`` lists the tar itself.
"""

from __future__ import annotations

import tarfile
from typing import Any

from dfvfs.file_io import tar_file_io
from dfvfs.lib import definitions as dd
from dfvfs.path import factory as spec_factory
from dfvfs.resolver import resolver
from dfvfs.resolver_helpers import manager, tar_resolver_helper

# dfvfs's compression layers a tar can sit on, by the file's first bytes
COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": dd.COMPRESSION_METHOD_BZIP2, b"\xfd7zXZ\x00": dd.COMPRESSION_METHOD_XZ}
# Files shipped beside an image that do not make the tar an extraction (hash lists, logs, notes).
SIDECAR_SUFFIXES = (".md5", ".sha1", ".sha256", ".sha512", ".txt", ".log", ".info", ".xml", ".json", ".sig", ".asc")
MIN_IMAGE_BYTES = 64 << 10


def image_member(path: str) -> str | None:
    """The name of the one disk-image-sized regular member, or None when the tar is an extraction.

    Plain tars and those compressed by one of COMPRESSED: dfvfs's TAR layer sits on those."""
    with open(path, "rb") as fh:
        if _compression(fh.read(6)) is None and not _plain_tar(fh):
            return None
    try:
        with tarfile.open(path, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
    except (tarfile.TarError, OSError, EOFError):
        return None
    images = [m for m in members if not m.name.lower().endswith(SIDECAR_SUFFIXES)]
    if len(images) != 1 or images[0].size < MIN_IMAGE_BYTES:
        return None
    return images[0].name


def _compression(head: bytes) -> str | None:
    return next((layer for magic, layer in COMPRESSED.items() if head.startswith(magic)), None)


def _plain_tar(fh: Any) -> bool:
    fh.seek(257)
    return bool(fh.read(5) == b"ustar")


def member_spec(path: str, member: str) -> tuple[Any, list[str]]:
    """dfvfs path spec of the member's bytes, and the format chain down to it."""
    spec = spec_factory.Factory.NewPathSpec(dd.TYPE_INDICATOR_OS, location=path)
    chain = []
    with open(path, "rb") as fh:
        layer = _compression(fh.read(6))
    if layer == "gzip":
        spec = spec_factory.Factory.NewPathSpec(dd.TYPE_INDICATOR_GZIP, parent=spec)
    elif layer is not None:  # bzip2, xz: dfvfs's compressed stream (a backward seek decompresses again)
        spec = spec_factory.Factory.NewPathSpec(dd.TYPE_INDICATOR_COMPRESSED_STREAM, compression_method=layer,
                                                parent=spec)
    if layer is not None:
        chain.append(layer)
    chain.append("tar")
    return spec_factory.Factory.NewPathSpec(dd.TYPE_INDICATOR_TAR, location="/" + member.lstrip("/"), parent=spec), chain


def image_node(scanner: Any, context: Any, member: Any) -> Any:
    """The path spec to scan from: the container (E01, QCOW2, ...) dfvfs finds in the member, or the
    member itself (raw). dfvfs looks for a container only at the system level, not in a tar."""
    image = scanner.ScanForStorageMediaImage(member)
    if image is None:
        return member
    context.AddScanNode(image, context.GetScanNode(member))
    return image


def clean_sparse_map(sparse: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The sparse map up to its first entry that goes backwards.

    Python's tarfile keeps the empty trailing slots of an old GNU sparse header as (0, 0); its
    member reader then maps the whole member to one hole once a read has passed the last data
    block, so every later read returns zeros (measured on ``tar -cSf`` output, tests/test_tar_image.py)."""
    out: list[tuple[int, int]] = []
    end = 0
    for offset, size in sparse:
        if offset < end:
            break
        out.append((offset, size))
        end = offset + size
    return out


class _SparseSafeTarFile(tar_file_io.TARFile):  # type: ignore[misc]
    def _Open(self) -> None:  # noqa: N802 - dfvfs API; dfvfs's own, with the sparse map cleaned
        file_system = resolver.Resolver.OpenFileSystem(self._path_spec, resolver_context=self._resolver_context)
        file_entry = file_system.GetFileEntryByPathSpec(self._path_spec)
        if not file_entry:
            raise OSError("Unable to retrieve file entry.")
        if not file_entry.IsFile():
            raise OSError("Not a regular file.")
        self._file_system = file_system
        tar_info = file_entry.GetTARInfo()
        if tar_info.sparse:
            tar_info.sparse = clean_sparse_map(tar_info.sparse)
        self._tar_ext_file = file_system.GetTARFile().extractfile(tar_info)
        self._current_offset = 0
        self._size = tar_info.size


class _TarResolverHelper(tar_resolver_helper.TARResolverHelper):  # type: ignore[misc]
    def NewFileObject(self, resolver_context: Any, path_spec: Any) -> Any:  # noqa: N802 - dfvfs API
        return _SparseSafeTarFile(resolver_context, path_spec)


def install() -> None:
    """Put the sparse-safe TAR helper in place of dfvfs's (idempotent)."""
    current = manager.ResolverHelperManager.GetHelper(dd.TYPE_INDICATOR_TAR)
    if not isinstance(current, _TarResolverHelper):
        manager.ResolverHelperManager.DeregisterHelper(current)
        manager.ResolverHelperManager.RegisterHelper(_TarResolverHelper())
