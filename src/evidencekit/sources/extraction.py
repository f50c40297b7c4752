"""Logical extractions: a directory tree, a zip, a tar (optionally gzip-compressed).

Archives are read in place with the standard library and never extracted, so a hostile member
name (absolute, ``..``, drive letter) cannot write anywhere; it is listed as stored, never resolved,
with a warning that flags it. A name that is not UTF-8 is shown escaped (or decoded in the code page
given as ``name_encoding``) and its raw bytes are kept (``sources.names``).
"""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, BinaryIO

from evidencekit.errors import CredentialError, EvidenceError
from evidencekit.models import FileRecord, Locator, VolumeInfo
from evidencekit.sources import ffs
from evidencekit.sources.base import Credentials, Entry, Evidence
from evidencekit.sources.fat import wall_to_utc_ns
from evidencekit.sources.names import decode_name, os_name
from evidencekit.sources.zipnames import UTF8_FLAG, open_zip

_MODE_TYPES = ((stat.S_ISDIR, "dir"), (stat.S_ISREG, "file"), (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
               (stat.S_ISCHR, "chardev"), (stat.S_ISBLK, "blockdev"), (stat.S_ISSOCK, "socket"))
MAX_LINK_TARGET = 4096  # PATH_MAX: a zip "link" holding more is not a link target
_TAR_TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
              tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "chardev", tarfile.BLKTYPE: "blockdev",
              tarfile.FIFOTYPE: "fifo", tarfile.CONTTYPE: "file", tarfile.GNUTYPE_SPARSE: "file"}


def _os_spec(path: str) -> dict[str, Any]:
    return {"__type__": "PathSpec", "type_indicator": "OS", "location": path}


def member_path(raw: bytes, encoding: str | None = None) -> tuple[str, str | None, list[str]]:
    """A stored member name as an absolute path inside the archive: (path, raw name hex, warnings).

    Backslashes read as ``/`` and empty or ``.`` parts are dropped (``./a/b`` is ``/a/b``); ``..``
    parts, a leading ``/`` and a drive letter are kept as stored and flagged, never resolved: a
    member ``a/../../x`` is listed as ``/a/../../x``, not as ``/x``. Bytes that are not UTF-8 are
    shown escaped or in ``encoding`` (sources.names), after the split, so an escape is no separator.
    """
    name = decode_name(raw, encoding)
    cleaned = raw.replace(b"\\", b"/")
    parts = [part for part in cleaned.split(b"/") if part not in (b"", b".")]
    reasons = [why for why, hit in (("absolute", cleaned.startswith(b"/")),
                                    ("drive letter", cleaned[1:2] == b":"),
                                    ("'..' climbs out of the archive", b".." in parts)) if hit]
    path = decode_name(b"/" + b"/".join(parts), encoding).text
    warnings = [name.warning] if name.warning else []
    if reasons:
        warnings.append(f"unsafe member name {name.text!r} ({', '.join(reasons)}): listed as stored, never resolved")
    return path, name.raw_hex, warnings


def _mode_type(mode: int) -> str:
    return next((name for test, name in _MODE_TYPES if test(mode)), "unknown")


class DirectoryExtraction(Evidence):
    """A logical extraction delivered as a folder (Android tree, iOS backup, copied files)."""

    def __init__(self, path: str):
        super().__init__(path=path, kind="directory", format_chain=["directory"])
        self.volumes = [VolumeInfo(name="", index=0, offset=None, length=None, type="directory", filesystem="directory")]
        if any(os.path.isfile(os.path.join(path, name)) for name in ("Manifest.db", "Manifest.mbdb")):
            self.format_chain.append("ios_backup")
        from evidencekit.sources.ufdr import parse_ufd, ufd_file

        ufd = ufd_file(path)
        if ufd is not None:  # a Cellebrite UFD/UFDX extraction folder: its .ufd names the device
            self.format_chain.append("ufd")
            self.device = parse_ufd(ufd)

    def open_media(self) -> BinaryIO | None:
        return None

    def entries(self, volume: str | None = None) -> Iterator[Entry]:
        if volume not in (None, ""):
            return
        errors: list[OSError] = []
        for top, dirs, files in os.walk(self.path, onerror=errors.append, followlinks=False):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                yield self._entry(os.path.join(top, name))
        for err in errors:
            yield self._entry(err.filename or self.path, f"unreadable: {err.strerror}")

    def _entry(self, full: str, warning: str | None = None) -> Entry:
        name = os_name(os.path.relpath(full, self.path).replace(os.sep, "/"), self.name_encoding)
        warnings = [w for w in (warning, name.warning) if w]
        try:
            st = os.lstat(full)
        except OSError as err:
            st = None
            warnings.append(f"cannot stat: {err.strerror}")
        kind = _mode_type(st.st_mode) if st else "unknown"
        target = self._link_target(full, warnings) if kind == "symlink" else None
        record = FileRecord(
            volume="", path="/" + name.text, inode=st.st_ino if st else None, type=kind, deleted=False,
            size=st.st_size if st else None, locator=Locator(self.path, _os_spec(full)),
            mtime=st.st_mtime_ns if st else None, atime=st.st_atime_ns if st else None,
            ctime=st.st_ctime_ns if st else None, filesystem="directory", mode=st.st_mode if st else None,
            uid=st.st_uid if st else None, gid=st.st_gid if st else None,
            link_target=target, warnings=tuple(warnings), raw_name=name.raw_hex)
        return Entry(record, (lambda: _open_noatime(full)) if kind == "file" else None)

    def _link_target(self, full: str, warnings: list[str]) -> str | None:
        try:
            target = os_name(os.readlink(full), self.name_encoding, "link target")
        except OSError as err:
            warnings.append(f"cannot read the link: {err.strerror}")
            return None
        if target.warning:
            warnings.append(target.warning)
        return target.text

    def open_locator(self, locator: Locator) -> BinaryIO:
        location = locator.spec.get("location", "")
        real = os.path.realpath(location)
        if not real.startswith(os.path.realpath(self.path) + os.sep):
            raise EvidenceError("{location}: not inside {path}", location=location, path=self.path)
        return _open_noatime(location)


def _open_noatime(path: str) -> BinaryIO:
    """Open for reading without touching the access time where the kernel allows it."""
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)
    except OSError as err:
        raise EvidenceError("{path}: cannot be read: {cause}", path=path, cause=err.strerror) from err
    return os.fdopen(fd, "rb")


class ZipExtraction(Evidence):
    """A logical extraction in a zip archive (read in place)."""

    phone_tree_detection = True  # a UFDR says what it holds in its report instead

    def __init__(self, path: str, credentials: Credentials | None = None):
        super().__init__(path=path, kind="zip", format_chain=["zip"])
        self._view = None
        try:
            self._zip, self._masked, self._view = open_zip(path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as err:
            raise EvidenceError("{path}: damaged zip archive: {cause}", path=path, cause=err) from err
        self.media_size = os.path.getsize(path)
        self.segment_files = [path]
        self.volumes = [VolumeInfo(name="", index=0, offset=None, length=None, type="zip", filesystem="zip")]
        self._password = (credentials or Credentials()).password
        self._check_password(infos)
        if self.phone_tree_detection:
            ffs.label(self, [i.filename for i in infos], self._read_small)

    def _read_small(self, name: str) -> bytes | None:
        try:
            info = self._zip.getinfo(name)
            return self._zip.read(info) if info.file_size <= 1 << 20 else None
        except (KeyError, RuntimeError, zipfile.BadZipFile, OSError):
            return None

    def _check_password(self, infos: list[zipfile.ZipInfo]) -> None:
        encrypted = next((i for i in infos if i.flag_bits & 0x1 and not i.is_dir()), None)
        if encrypted is None:
            return
        self.format_chain.append("encrypted")
        if self._password is None:
            self.warnings.append("encrypted members: give --password to read their content")
            return
        try:
            with self._zip.open(encrypted, pwd=self._password.encode()) as fh:
                fh.read(1)
        except RuntimeError as err:
            raise CredentialError("{path}: wrong password for the encrypted zip members", path=self.path) from err
        except NotImplementedError as err:
            raise EvidenceError("{path}: unsupported zip encryption: {cause}", path=self.path, cause=err) from err

    def close(self) -> None:
        self._zip.close()
        if self._view is not None:
            self._view.close()

    def open_media(self) -> BinaryIO:
        return open(self.path, "rb")  # noqa: SIM115 - the caller closes it

    def entries(self, volume: str | None = None) -> Iterator[Entry]:
        if volume not in (None, ""):
            return
        parent = _os_spec(self.path)  # shared by every member: its JSON is encoded once
        for index, info in enumerate(self._zip.infolist()):
            yield self._entry(info, parent, index)

    def _entry(self, info: zipfile.ZipInfo, parent: dict[str, Any], index: int) -> Entry:
        path, raw_name, warnings = member_path(*self._member_name(index, info))
        times, zone = _zip_times(info, self.source_tz or "UTC")
        unix_mode = info.external_attr >> 16
        kind = "dir" if info.is_dir() else _mode_type(unix_mode) if stat.S_IFMT(unix_mode) else "file"
        target = self._link_target(info, warnings) if kind == "symlink" else None
        spec = {"__type__": "PathSpec", "type_indicator": "ZIP", "location": "/" + info.filename.lstrip("/"),
                "parent": parent}
        record = FileRecord(volume="", path=path, inode=None, type=kind, deleted=False, size=info.file_size,
                            locator=Locator(self.path, spec), time_digits=0, assumed_zone=zone,
                            filesystem="zip", link_target=target, warnings=tuple(warnings),
                            raw_name=raw_name, **times)
        return Entry(record, partial(self._open, info) if kind == "file" else None)

    def _member_name(self, index: int, info: zipfile.ZipInfo) -> tuple[bytes, str | None]:
        """The stored name's bytes and the code page for them: a name flagged UTF-8 but not (read
        as cp437 by open_zip) or, with a name encoding, an unflagged 8-bit name, in that encoding;
        every other name as zipfile decoded it (UTF-8, or cp437 as the zip format defines)."""
        if index in self._masked or (self.name_encoding and not info.flag_bits & UTF8_FLAG
                                     and not info.orig_filename.isascii()):
            return info.orig_filename.encode("cp437"), self.name_encoding
        return info.filename.encode("utf-8", "surrogateescape"), None

    def _link_target(self, info: zipfile.ZipInfo, warnings: list[str]) -> str | None:
        """A symbolic link's target: the member's content (as Info-ZIP stores links)."""
        if info.file_size > MAX_LINK_TARGET:
            warnings.append(f"symbolic link target of {info.file_size} bytes not read (over {MAX_LINK_TARGET})")
            return None
        try:
            with self._open(info) as fh:
                target = decode_name(fh.read(MAX_LINK_TARGET), self.name_encoding, "link target")
        except (EvidenceError, zipfile.BadZipFile, OSError, EOFError) as err:
            warnings.append(f"symbolic link target unreadable: {err}")
            return None
        if target.warning:
            warnings.append(target.warning)
        return target.text

    def _open(self, info: zipfile.ZipInfo) -> BinaryIO:
        try:
            inner = self._zip.open(info, pwd=self._password.encode() if self._password else None)
        except (RuntimeError, zipfile.BadZipFile, NotImplementedError, OSError, EOFError, zlib.error) as err:
            raise EvidenceError("{filename}: cannot be read: {cause}", filename=info.filename, cause=err) from err
        return _Checked(inner, info.filename)  # type: ignore[return-value]

    def open_locator(self, locator: Locator) -> BinaryIO:
        name = locator.spec.get("location", "").lstrip("/")
        try:
            return self._open(self._zip.getinfo(name))
        except KeyError as err:
            raise EvidenceError("{name}: not in {path}", name=name, path=self.path) from err


def _zip_times(info: zipfile.ZipInfo, zone: str) -> tuple[dict[str, Any], str | None]:
    """UTC times from the extended-timestamp field (0x5455) if present, else the DOS local time in ``zone``."""
    extra, pos = info.extra, 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4: pos + 4 + size]
        if tag == 0x5455 and len(body) >= 5:
            flags, values = body[0], body[1:]
            out: dict[str, Any] = {}
            for bit, key in ((1, "mtime"), (2, "atime"), (4, "crtime")):
                if flags & bit and len(values) >= 4:
                    out[key] = struct.unpack_from("<i", values)[0] * 1_000_000_000
                    values = values[4:]
            return out, None
        pos += 4 + size
    dt = datetime(*info.date_time, tzinfo=UTC)
    return {"mtime": wall_to_utc_ns(int(dt.timestamp()) * 1_000_000_000, zone)}, zone


class TarExtraction(Evidence):
    """A logical extraction in a tar archive, plain or compressed (gzip, bzip2, xz)."""

    def __init__(self, path: str):
        super().__init__(path=path, kind="tar", format_chain=["tar"])
        try:
            # names as bytes through surrogateescape whatever the locale: sources.names recovers them
            self._tar = tarfile.open(path, "r:*", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
            self._members = self._tar.getmembers()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
            raise EvidenceError("{path}: damaged tar archive: {cause}", path=path, cause=_tar_cause(err)) from err
        with open(path, "rb") as fh:
            self._compressed = fh.read(2) == b"\x1f\x8b"
        if self._compressed:
            self.format_chain.insert(0, "gzip")
        self.media_size = os.path.getsize(path)
        self.segment_files = [path]
        self.volumes = [VolumeInfo(name="", index=0, offset=None, length=None, type="tar", filesystem="tar")]
        ffs.label(self, [m.name for m in self._members], self._read_small)

    def _read_small(self, name: str) -> bytes | None:
        wanted = name.lstrip("/").removeprefix("./")
        member = next((m for m in self._members if m.name.lstrip("/").removeprefix("./") == wanted), None)
        if member is None or not member.isfile() or member.size > 1 << 20:
            return None
        fh = self._tar.extractfile(member)
        return fh.read() if fh else None

    def close(self) -> None:
        self._tar.close()

    def open_media(self) -> BinaryIO:
        return open(self.path, "rb")  # noqa: SIM115 - the caller closes it

    def entries(self, volume: str | None = None) -> Iterator[Entry]:
        if volume not in (None, ""):
            return
        parent = _os_spec(self.path)
        if self._compressed:
            parent = {"__type__": "PathSpec", "type_indicator": "GZIP", "parent": parent}
        for member in self._members:
            path, raw_name, warnings = member_path(member.name.encode("utf-8", "surrogateescape"), self.name_encoding)
            kind = _TAR_TYPES.get(member.type, "unknown")
            spec = {"__type__": "PathSpec", "type_indicator": "TAR", "location": "/" + member.name.lstrip("/"),
                    "parent": parent}
            target = os_name(member.linkname, self.name_encoding, "link target") if member.linkname else None
            if target is not None and target.warning:
                warnings.append(target.warning)
            record = FileRecord(volume="", path=path, inode=None, type=kind, deleted=False, size=member.size,
                                locator=Locator(self.path, spec), mtime=int(member.mtime) * 1_000_000_000,
                                time_digits=0, filesystem="tar", mode=member.mode, uid=member.uid, gid=member.gid,
                                link_target=target.text if target else None, warnings=tuple(warnings),
                                raw_name=raw_name)
            yield Entry(record, partial(self._open, member) if kind == "file" else None)

    def _open(self, member: tarfile.TarInfo) -> BinaryIO:
        try:
            fh = self._tar.extractfile(member)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
            raise EvidenceError("{name}: cannot be read: {cause}", name=member.name,
                                cause=_tar_cause(err)) from err
        if fh is None:
            raise EvidenceError("{name}: has no content", name=member.name)
        return _Checked(fh, member.name)  # type: ignore[return-value]

    def open_locator(self, locator: Locator) -> BinaryIO:
        name = locator.spec.get("location", "").lstrip("/")
        for member in self._members:
            if member.name.lstrip("/") == name:
                return self._open(member)
        raise EvidenceError("{name}: not in {path}", name=name, path=self.path)


def _tar_cause(err: BaseException) -> str:
    """One line: tarfile lists each decompressor it tried on lines of their own."""
    text = str(err)
    if "could not be opened successfully" in text:
        return "not readable as a tar archive, plain or gzip, bzip2 or xz compressed"
    return " ".join(text.split()) or type(err).__name__


class _Checked(io.RawIOBase):
    """A member's content stream on which damage found while reading (a bad CRC, broken deflate
    data, a truncated archive) is an EvidenceError: a warning on that record, not a stop."""

    _DAMAGE = (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, RuntimeError, ValueError)

    def __init__(self, inner: Any, name: str):
        super().__init__()
        self._inner, self._name = inner, name

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._inner.read(-1 if size is None else size)  # type: ignore[no-any-return]
        except self._DAMAGE as err:
            raise EvidenceError("{name}: content damaged: {cause}", name=self._name, cause=err) from err

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()
