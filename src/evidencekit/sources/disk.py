"""Disk images and storage media through the dfvfs source scanner.

dfvfs finds the whole chain (container -> volume system -> encrypted volume -> file system);
file systems that The Sleuth Kit reads are then walked with pytsk3 directly over the volume
that dfvfs opened (about 5x faster per entry than dfvfs file entries); the rest through dfvfs.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from dfvfs.helpers import source_scanner
from dfvfs.lib import definitions as dd
from dfvfs.lib import errors as dfvfs_errors
from dfvfs.path import factory as spec_factory
from dfvfs.resolver import context as dfvfs_context
from dfvfs.resolver import resolver
from dfvfs.volume import factory as volume_factory

from evidencekit.errors import CredentialError, EvidenceError
from evidencekit.models import Locator, VolumeInfo
from evidencekit.sources import bitlocker, dfvfs_fs, libewf, luks_volume, tar_image, tsk_fs
from evidencekit.sources.base import Credentials, Entry, Evidence, explain
from evidencekit.sources.containers import acquisition_info, segment_files
from evidencekit.sources.dfvfs_support import from_spec_dict

# Storage media containers: the layer whose decoded stream is "the media".
MEDIA_TYPES = {
    dd.TYPE_INDICATOR_EWF: "ewf", dd.TYPE_INDICATOR_QCOW: "qcow", dd.TYPE_INDICATOR_VHDI: "vhd",
    dd.TYPE_INDICATOR_VMDK: "vmdk", dd.TYPE_INDICATOR_RAW: "raw", dd.TYPE_INDICATOR_MODI: "dmg",
    dd.TYPE_INDICATOR_PHDI: "phdi",
}
VOLUME_SYSTEMS = {
    dd.TYPE_INDICATOR_TSK_PARTITION: "mbr", dd.TYPE_INDICATOR_GPT: "gpt", dd.TYPE_INDICATOR_APM: "apm",
    dd.TYPE_INDICATOR_LVM: "lvm", dd.TYPE_INDICATOR_APFS_CONTAINER: "apfs_container",
    dd.TYPE_INDICATOR_VSHADOW: "vss", dd.TYPE_INDICATOR_CS: "corestorage",
}
ENCRYPTED = {dd.TYPE_INDICATOR_BDE: "bitlocker", dd.TYPE_INDICATOR_LUKSDE: "luks", dd.TYPE_INDICATOR_FVDE: "filevault"} \
    if hasattr(dd, "TYPE_INDICATOR_FVDE") else {dd.TYPE_INDICATOR_BDE: "bitlocker", dd.TYPE_INDICATOR_LUKSDE: "luks"}
MAX_MEDIA = (1 << 63) - 1  # the largest offset a seek can take
luks_volume.install()  # LUKS2 through our own reader where libluksde cannot open it
tar_image.install()  # images in a tar: GNU sparse members read right
bitlocker.install()  # one BitLocker unlock per volume and key, not one per dfvfs open
VOLUME_PREFIX = {"mbr": "p", "gpt": "p", "apm": "p", "lvm": "lvm", "apfs_container": "apfs", "vss": "vss",
                 "corestorage": "cs"}


@dataclass
class FileSystemRef:
    """A file system found in the evidence: where it is and how to reopen it."""

    volume: str
    fs_spec: Any  # dfvfs PathSpec of the file system
    volume_spec: Any  # dfvfs PathSpec of the byte range holding it
    reader: Any = None  # tsk_fs.TskFileSystem or dfvfs_fs.DfvfsFileSystem, opened lazily


class DiskImage(Evidence):
    """A disk image or device in any container dfvfs decodes, optionally gzip-compressed."""

    def __init__(self, path: str, credentials: Credentials | None = None, locked_ok: bool = False,
                 tar_member: str | None = None):
        super().__init__(path=path, kind="disk_image")
        self._tar_member = tar_member  # the image is this member of the tar at ``path`` (sources/tar_image.py)
        self._credentials = credentials or Credentials()
        self._locked_ok = locked_ok  # without a key, list encrypted volumes as locked instead of failing
        _forget_credentials(path)
        # A resolver context of its own, so that nothing unlocked by an earlier open is reused.
        self._scanner = source_scanner.SourceScanner(resolver_context=dfvfs_context.Context())
        self._ctx = source_scanner.SourceScannerContext()
        self._filesystems: list[FileSystemRef] = []
        self._media_spec: Any = None
        self._encrypted: dict[str, str] = {}
        self._encryption_details: dict[str, dict[str, Any]] = {}  # volume -> what info shows of its encryption
        self._scan()

    # -- scanning ---------------------------------------------------------------------------
    def _scan(self) -> None:
        root = spec_factory.Factory.NewPathSpec(dd.TYPE_INDICATOR_OS, location=self.path)
        with open(self.path, "rb") as fh:
            magic = fh.read(2)
        if self._tar_member is not None:
            root, chain = tar_image.member_spec(self.path, self._tar_member)
            self.format_chain.extend(chain)
        elif magic == b"\x1f\x8b":
            root = spec_factory.Factory.NewPathSpec(dd.TYPE_INDICATOR_GZIP, parent=root)
            self.format_chain.append("gzip")
        self._ctx.AddScanNode(root, None)
        scan_from = tar_image.image_node(self._scanner, self._ctx, root) if self._tar_member is not None else root
        try:
            self._scanner.Scan(self._ctx, scan_path_spec=scan_from)
        except (dfvfs_errors.BackEndError, ValueError, OSError, RuntimeError, OverflowError) as err:
            raise EvidenceError("{path}: cannot be read as evidence: {cause}", path=self.path, cause=explain(err)) from err
        node = self._ctx.GetScanNode(root)
        self._media_spec = root
        for sub in node.sub_nodes:
            if sub.type_indicator in MEDIA_TYPES:
                self._media_spec = sub.path_spec
                self.format_chain.append(MEDIA_TYPES[sub.type_indicator])
                node = sub
                break
        else:
            self.format_chain.append("raw")
        self.segment_files = segment_files(self.path, self._media_spec)
        self.acquisition = acquisition_info(self._media_spec, self.segment_files)
        self.media_size = self._measure_media()
        if not self.media_size:  # the file is not empty (open_evidence checked): a header and no media
            raise EvidenceError("{path}: cannot be read as {listing}: its media decodes to 0 bytes (truncated "
                                "or damaged)", path=self.path, listing=" -> ".join(self.format_chain))
        self._visit_children(node, prefix="", parent_spec=self._media_spec)
        if not node.sub_nodes and not self.volumes:  # the scanner found nothing at all
            self._tsk_fallback("", self._media_spec)
        self._order_volumes()

    def _measure_media(self) -> int | None:
        """The decoded size; reading the last sector catches a missing last segment up front."""
        try:
            fo = resolver.Resolver.OpenFileObject(self._media_spec)
            size = int(fo.get_size())
            if size > MAX_MEDIA:  # a damaged size field: no offset can reach its end
                raise EvidenceError("{path}: cannot decode the media: its header states a size of {size:,} "
                                    "bytes, beyond any medium (damaged header)", path=self.path, size=size)
            if size:
                fo.seek(max(0, size - 512))
                fo.read(min(512, size))
            return size
        except (dfvfs_errors.BackEndError, OSError, ValueError, RuntimeError, OverflowError) as err:
            raise EvidenceError("{path}: cannot decode the media: {cause}", path=self.path, cause=explain(err)) from err

    def _visit_children(self, node: Any, prefix: str, parent_spec: Any) -> None:
        subs = node.sub_nodes  # a BitLocker header keeps FAT32 BPB fields: the "FAT" beside it is no file system
        for sub in [s for s in subs if not s.IsFileSystem()] if any(s.type_indicator in ENCRYPTED for s in subs) else subs:
            self._visit(sub, prefix, parent_spec)

    def _visit(self, node: Any, prefix: str, parent_spec: Any) -> None:
        ti = node.type_indicator
        if ti in ENCRYPTED:
            node = self._unlock(node, prefix)
            if node is None:
                return
            known = len(self.volumes)
            if node.sub_nodes:
                self._visit_children(node, prefix, node.path_spec)
            else:
                self._tsk_fallback(prefix, node.path_spec)
            if len(self.volumes) == known:  # unlocked, nothing known inside: still a volume to describe and hash
                self.volumes.append(VolumeInfo(name=prefix, index=len(self.volumes), offset=None, type=ENCRYPTED[ti],
                                               length=self._encryption_details[prefix].get("decrypted_size"),
                                               encryption=ENCRYPTED[ti]))
            return
        if node.IsFileSystem():
            self._add_filesystem(prefix, node.path_spec, parent_spec)
            return
        if ti in VOLUME_SYSTEMS and node.IsVolumeSystemRoot():
            self._visit_volume_system(node, prefix)
            return
        if not node.sub_nodes:
            self._tsk_fallback(prefix, node.path_spec)
            return
        self._visit_children(node, prefix, node.path_spec)

    def _tsk_fallback(self, volume: str, spec: Any) -> None:
        """dfvfs found no file system here (its back-end, e.g. libfsfat, refused it): try TSK."""
        reader = tsk_fs.TskFileSystem.try_open(self.path, volume, spec, self._media_spec)
        if reader is None:
            return
        reader.warnings.append(f"volume {volume or '(whole media)'}: dfvfs found no {reader.fs_type} file system "
                               "here; it is read by The Sleuth Kit alone, without a cross-check")
        fs_spec = spec_factory.Factory.NewPathSpec(dd.TYPE_INDICATOR_TSK, location="/", parent=spec)
        self._add_filesystem(volume, fs_spec, spec, reader)

    def _visit_volume_system(self, node: Any, prefix: str) -> None:
        kind = VOLUME_SYSTEMS[node.type_indicator]
        extents = _volume_extents(node)
        real = [s for s in node.sub_nodes if getattr(s.path_spec, "location", None)]
        real.sort(key=lambda s: (extents.get(s.path_spec.location.lstrip("/"), (0, 0, ""))[0], s.path_spec.location))
        if self.format_chain[-1] != kind:
            self.format_chain.append(kind)
        for number, sub in enumerate(real, start=1):
            name = f"{prefix}{'.' if prefix else ''}{VOLUME_PREFIX[kind]}{number}"
            offset, length, description = extents.get(sub.path_spec.location.lstrip("/"), (None, None, ""))
            if kind not in ("mbr", "gpt", "apm"):
                offset = None
            self.volumes.append(VolumeInfo(name=name, index=len(self.volumes), offset=offset, length=length,
                                           type=f"{kind}:{description}" if description else kind))
            if kind == "vss":
                # Like dfvfs's volume scanner: a store holds the NTFS it shadows; read it with TSK.
                fs_spec = spec_factory.Factory.NewPathSpec(dd.TYPE_INDICATOR_TSK, location="/", parent=sub.path_spec)
                self._add_filesystem(name, fs_spec, sub.path_spec)
            else:
                self._visit(sub, name, sub.path_spec)

    def _unlock(self, node: Any, prefix: str) -> Any:
        kind = ENCRYPTED[node.type_indicator]
        spec = node.path_spec
        if self._ctx.IsLockedScanNode(spec):
            pairs = self._credentials.pairs()
            if not pairs and self._locked_ok:
                self.format_chain.append(kind)
                self.volumes.append(VolumeInfo(name=prefix, index=len(self.volumes), offset=None, length=None,
                                               type=kind, encryption=kind, locked=True))
                return None
            if not pairs:
                raise CredentialError("{path}: the {kind} volume {volume} is encrypted: give --password or --recovery-key",
                                      path=self.path, kind=kind, volume=prefix or "(whole media)")
            if not any(self._try_unlock(spec, ctype, value) for ctype, value in pairs):
                raise CredentialError("{path}: wrong password or recovery key for the {kind} volume {volume}" if prefix else
                                      "{path}: wrong password or recovery key for the {kind} volume",
                                      path=self.path, kind=kind, volume=prefix)
            try:
                self._scanner.Scan(self._ctx, scan_path_spec=spec)
            except (dfvfs_errors.BackEndError, OSError, RuntimeError, ValueError) as err:
                # e.g. pybde or pyluksde failing inside pytsk3's Volume_Info on a truncated image
                self.warnings.append(f"volume {prefix or '(whole media)'}: the decrypted {kind} volume cannot be "
                                     f"scanned to its end (truncated or damaged?): {explain(err)}")
        self.format_chain.append(kind)
        self._encrypted[prefix] = kind
        self._encryption_details[prefix] = _encryption_details(kind, spec)
        return self._ctx.GetScanNode(spec)

    def _try_unlock(self, spec: Any, ctype: str, value: str) -> bool:
        try:
            return bool(self._scanner.Unlock(self._ctx, spec, ctype, value))
        except (dfvfs_errors.BackEndError, KeyError, ValueError):
            return False

    def _add_filesystem(self, volume: str, fs_spec: Any, volume_spec: Any, reader: Any = None) -> None:
        ref = FileSystemRef(volume=volume, fs_spec=fs_spec, volume_spec=volume_spec, reader=reader)
        try:
            ref.reader = reader or _open_reader(self.path, ref, self._media_spec)
        except EvidenceError as err:
            self.warnings.append(f"volume {volume or '(whole media)'}: {err}")
        if ref.reader is not None:
            self.warnings.extend(ref.reader.warnings)
        fs_name = ref.reader.fs_type if ref.reader else fs_spec.type_indicator.lower()
        if fs_name not in self.format_chain:
            self.format_chain.append(fs_name)
        self._filesystems.append(ref)
        existing = next((v for v in self.volumes if v.name == volume), None)
        label = ref.reader.label if ref.reader else None
        if existing is None:
            size = self.media_size
            self.volumes.append(VolumeInfo(name=volume, index=len(self.volumes), offset=0 if not volume else None,
                                           length=size if not volume else None, type="whole" if not volume else "volume",
                                           filesystem=fs_name, fs_label=label))
        else:
            self.volumes[self.volumes.index(existing)] = _replace(existing, filesystem=fs_name, fs_label=label)

    def _order_volumes(self) -> None:
        # The current state leads: the unpartitioned file system, then partitions, then snapshots.
        def key(name: str) -> tuple[bool, bool, str]:
            return (".vss" in name or name.startswith("vss"), name != "", name)

        self._filesystems.sort(key=lambda r: key(r.volume))
        ordered = sorted(self.volumes, key=lambda v: (key(v.name), v.index))
        self.volumes = [_replace(v, index=i, encryption=self._encrypted.get(v.name, v.encryption),
                                 encryption_details=self._encryption_details.get(v.name, v.encryption_details))
                        for i, v in enumerate(ordered)]

    # -- the Evidence API -------------------------------------------------------------------
    @property
    def media_reader(self) -> str | None:
        """Which library decodes an E01's media (None for other containers): shown by ``info``."""
        if self.format_chain[:1] != ["ewf"]:
            return None
        handle = libewf.open_handle(self.segment_files, self.media_size)
        if handle is not None:
            handle.close()
            return f"system libewf {libewf.version()}"
        import pyewf

        return f"pyewf {pyewf.get_version()} (install the Debian package libewf2 for E01 reads about 15x faster)"

    def open_media(self) -> BinaryIO:
        if self.format_chain[:1] == ["raw"] and len(self.segment_files) == 1:
            return open(self.path, "rb")  # noqa: SIM115 - the caller closes it
        if self.format_chain[:2] == ["gzip", "raw"]:
            return gzip.open(self.path, "rb")  # type: ignore[return-value]
        if self.format_chain[:1] == ["ewf"]:
            handle = libewf.open_handle(self.segment_files, self.media_size)  # the system libewf: faster
            if handle is not None:
                return libewf.EwfMedia(handle)  # type: ignore[return-value]
        # A resolver context of its own: dfvfs caches file objects, and the walk shares the cached one.
        fo = resolver.Resolver.OpenFileObject(self._media_spec, resolver_context=dfvfs_context.Context())
        fo.seek(0)
        return io.BufferedReader(dfvfs_fs.FileObjectStream(fo), buffer_size=1 << 20)  # type: ignore[arg-type]

    def entries(self, volume: str | None = None) -> Iterator[Entry]:
        self.require_filesystems()
        for ref in self._filesystems:
            if volume is not None and ref.volume != volume:
                continue
            if ref.reader is None:
                continue
            seen = len(ref.reader.warnings)
            yield from ref.reader.entries(self.path)
            self.warnings.extend(ref.reader.warnings[seen:])

    def set_source_tz(self, name: str) -> None:
        super().set_source_tz(name)
        for ref in self._filesystems:
            if ref.reader is not None:
                ref.reader.set_source_tz(name)

    def readers(self) -> list[tuple[str, Any]]:
        self.require_filesystems()
        return [(ref.volume, ref.reader) for ref in self._filesystems if ref.reader is not None]

    def open_locator(self, locator: Locator) -> BinaryIO:
        spec = from_spec_dict(locator.spec)
        for ref in self._filesystems:
            if ref.reader is not None and ref.reader.owns(locator.spec):
                return ref.reader.open_spec(locator.spec)
        return dfvfs_fs.open_spec(spec)

    def close(self) -> None:
        for ref in self._filesystems:
            if ref.reader is not None:
                ref.reader.close()
        self._filesystems = []


def _forget_credentials(evidence_path: str) -> None:
    """dfvfs keeps unlocked volumes' keys in a process-wide key chain: evidence opened again
    without its password must not open on the strength of an earlier one."""
    chain = resolver.Resolver.key_chain
    per_spec = getattr(chain, "_credentials_per_path_spec", None)
    if not isinstance(per_spec, dict):  # unknown dfvfs internals: forget every key, reuse none silently
        chain.Empty()
        return
    bitlocker.forget(evidence_path)
    marker = f"location: {evidence_path}\n"
    for comparable in [c for c in per_spec if marker in c]:
        del per_spec[comparable]


def _open_reader(evidence_path: str, ref: FileSystemRef, media_spec: Any) -> Any:
    """TSK over the dfvfs-opened volume where TSK reads the file system, else dfvfs.

    FAT and exFAT, which dfvfs reads through libfsfat, are cross-checked: the root directory's
    names and sizes must agree between the two libraries, else a warning says so."""
    if ref.fs_spec.type_indicator not in dfvfs_fs.DFVFS_ONLY:
        reader = tsk_fs.TskFileSystem.try_open(evidence_path, ref.volume, ref.volume_spec, media_spec)
        if reader is not None:
            if ref.fs_spec.type_indicator == dd.TYPE_INDICATOR_FAT:
                reader.warnings.extend(dfvfs_fs.cross_check_root(ref.fs_spec, reader.root_names(), ref.volume))
            return reader
    fallback = dfvfs_fs.DfvfsFileSystem.open(ref.volume, ref.fs_spec)
    if ref.fs_spec.type_indicator == dd.TYPE_INDICATOR_FAT:
        fallback.warnings.append(f"volume {ref.volume or '(whole media)'}: The Sleuth Kit does not open this "
                                 f"{fallback.fs_type} file system; it is read by libfsfat (dfvfs) alone, without a cross-check")
    return fallback


def _encryption_details(kind: str, spec: Any) -> dict[str, Any]:
    """What ``info`` shows of an unlocked volume's encryption (LUKS: cipher, KDF, payload, size)."""
    try:
        file_object = resolver.Resolver.OpenFileObject(spec)
        size = int(file_object.get_size())
    except (dfvfs_errors.BackEndError, OSError, ValueError):
        file_object, size = None, None
    if kind == "bitlocker" and file_object is not None:
        return {**bitlocker.describe(file_object), "decrypted_size": size}
    if kind != "luks":
        return {"decrypted_size": size}
    header = luks_volume.header_of(spec.parent)
    details = header.describe(size or 0) if header else {}
    details["decrypted_size"] = size
    return details


def _volume_extents(node: Any) -> dict[str, tuple[int | None, int | None, str]]:
    """identifier -> (offset, length, description) from the dfvfs volume system."""
    out: dict[str, tuple[int | None, int | None, str]] = {}
    try:
        vs = volume_factory.Factory.NewVolumeSystem(node.type_indicator)
        vs.Open(node.path_spec)
    except (dfvfs_errors.BackEndError, ValueError, KeyError):
        return out
    for vol in vs.volumes:
        extent = vol.extents[0] if vol.extents else None
        desc = vol.GetAttribute("description")
        out[vol.identifier] = (extent.offset if extent else None, extent.size if extent else None,
                               desc.value if desc else "")
    return out


def _replace(info: VolumeInfo, **changes: Any) -> VolumeInfo:
    from dataclasses import replace

    return replace(info, **changes)


def _clean(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text.rstrip(".") or type(err).__name__
