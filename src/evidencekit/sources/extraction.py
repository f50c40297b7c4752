"""Logical extractions: a directory tree, a zip, a tar (optionally gzip-compressed).

Archives are read in place with the standard library and never extracted, so a hostile member
name (absolute, ``..``, drive letter) cannot write anywhere; it is listed under a safe path with a
warning that quotes the original name.
"""

from __future__ import annotations

import os
import stat
import struct
import tarfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, BinaryIO

from evidencekit.errors import CredentialError, EvidenceError
from evidencekit.models import FileRecord, Locator, VolumeInfo
from evidencekit.sources import ffs
from evidencekit.sources.base import Credentials, Entry, Evidence

_MODE_TYPES = ((stat.S_ISDIR, "dir"), (stat.S_ISREG, "file"), (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
               (stat.S_ISCHR, "chardev"), (stat.S_ISBLK, "blockdev"), (stat.S_ISSOCK, "socket"))
_TAR_TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
              tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "chardev", tarfile.BLKTYPE: "blockdev",
              tarfile.FIFOTYPE: "fifo", tarfile.CONTTYPE: "file", tarfile.GNUTYPE_SPARSE: "file"}


def _os_spec(path: str) -> dict[str, Any]:
    return {"__type__": "PathSpec", "type_indicator": "OS", "location": path}


def safe_member_path(name: str) -> tuple[str, str | None]:
    """A member name as an absolute, normalised path inside the archive, and a warning if unsafe."""
    cleaned = name.replace("\\", "/")
    unsafe = cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":")
    parts = []
    for part in cleaned.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            unsafe = True
            continue
        parts.append(part.split(":", 1)[1] if len(part) == 2 and part[1] == ":" else part)
    path = "/" + "/".join(p for p in parts if p)
    return path, (f"unsafe member name {name!r} (absolute or escaping the archive): listed as {path}" if unsafe else None)


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
        rel = "/" + os.path.relpath(full, self.path).replace(os.sep, "/")
        warnings = (warning,) if warning else ()
        try:
            st = os.lstat(full)
        except OSError as err:
            st, warnings = None, (*warnings, f"cannot stat: {err.strerror}")
        kind = _mode_type(st.st_mode) if st else "unknown"
        record = FileRecord(
            volume="", path=rel, inode=st.st_ino if st else None, type=kind, deleted=False,
            size=st.st_size if st else None, locator=Locator(self.path, _os_spec(full)),
            mtime=st.st_mtime_ns if st else None, atime=st.st_atime_ns if st else None,
            ctime=st.st_ctime_ns if st else None, filesystem="directory", mode=st.st_mode if st else None,
            uid=st.st_uid if st else None, gid=st.st_gid if st else None,
            link_target=os.readlink(full) if kind == "symlink" else None, warnings=warnings)
        return Entry(record, (lambda: _open_noatime(full)) if kind == "file" else None)

    def open_locator(self, locator: Locator) -> BinaryIO:
        location = locator.spec.get("location", "")
        real = os.path.realpath(location)
        if not real.startswith(os.path.realpath(self.path) + os.sep):
            raise EvidenceError(f"{location}: not inside {self.path}")
        return _open_noatime(location)


def _open_noatime(path: str) -> BinaryIO:
    """Open for reading without touching the access time where the kernel allows it."""
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)
    except OSError as err:
        raise EvidenceError(f"{path}: cannot be read: {err.strerror}") from err
    return os.fdopen(fd, "rb")


class ZipExtraction(Evidence):
    """A logical extraction in a zip archive (read in place)."""

    def __init__(self, path: str, credentials: Credentials | None = None):
        super().__init__(path=path, kind="zip", format_chain=["zip"])
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as err:
            raise EvidenceError(f"{path}: damaged zip archive: {err}") from err
        self.media_size = os.path.getsize(path)
        self.segment_files = [path]
        self.volumes = [VolumeInfo(name="", index=0, offset=None, length=None, type="zip", filesystem="zip")]
        self._password = (credentials or Credentials()).password
        self._check_password(infos)
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
            raise CredentialError(f"{self.path}: wrong password for the encrypted zip members") from err
        except NotImplementedError as err:
            raise EvidenceError(f"{self.path}: unsupported zip encryption: {err}") from err

    def close(self) -> None:
        self._zip.close()

    def open_media(self) -> BinaryIO:
        return open(self.path, "rb")  # noqa: SIM115 - the caller closes it

    def entries(self, volume: str | None = None) -> Iterator[Entry]:
        if volume not in (None, ""):
            return
        parent = _os_spec(self.path)  # shared by every member: its JSON is encoded once
        for info in self._zip.infolist():
            yield self._entry(info, parent)

    def _entry(self, info: zipfile.ZipInfo, parent: dict[str, Any]) -> Entry:
        path, warning = safe_member_path(info.filename)
        warnings = [warning] if warning else []
        times, zone = _zip_times(info)
        unix_mode = info.external_attr >> 16
        kind = "dir" if info.is_dir() else _mode_type(unix_mode) if stat.S_IFMT(unix_mode) else "file"
        spec = {"__type__": "PathSpec", "type_indicator": "ZIP", "location": "/" + info.filename.lstrip("/"),
                "parent": parent}
        record = FileRecord(volume="", path=path, inode=None, type=kind, deleted=False, size=info.file_size,
                            locator=Locator(self.path, spec), time_digits=0, assumed_zone=zone,
                            filesystem="zip", warnings=tuple(warnings), **times)
        return Entry(record, partial(self._open, info) if kind == "file" else None)

    def _open(self, info: zipfile.ZipInfo) -> BinaryIO:
        try:
            return self._zip.open(info, pwd=self._password.encode() if self._password else None)  # type: ignore[return-value]
        except (RuntimeError, zipfile.BadZipFile, NotImplementedError, OSError) as err:
            raise EvidenceError(f"{info.filename}: cannot be read: {err}") from err

    def open_locator(self, locator: Locator) -> BinaryIO:
        name = locator.spec.get("location", "").lstrip("/")
        try:
            return self._open(self._zip.getinfo(name))
        except KeyError as err:
            raise EvidenceError(f"{name}: not in {self.path}") from err


def _zip_times(info: zipfile.ZipInfo) -> tuple[dict[str, Any], str | None]:
    """UTC times from the extended-timestamp field (0x5455) if present, else the DOS local time."""
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
    return {"mtime": int(dt.timestamp()) * 1_000_000_000}, "UTC"


class TarExtraction(Evidence):
    """A logical extraction in a tar archive, plain or compressed (gzip, bzip2, xz)."""

    def __init__(self, path: str):
        super().__init__(path=path, kind="tar", format_chain=["tar"])
        try:
            self._tar = tarfile.open(path, "r:*")  # noqa: SIM115 - open for the evidence's lifetime
            self._members = self._tar.getmembers()
        except (tarfile.TarError, OSError, EOFError) as err:
            raise EvidenceError(f"{path}: damaged tar archive: {err}") from err
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
            path, warning = safe_member_path(member.name)
            kind = _TAR_TYPES.get(member.type, "unknown")
            spec = {"__type__": "PathSpec", "type_indicator": "TAR", "location": "/" + member.name.lstrip("/"),
                    "parent": parent}
            record = FileRecord(volume="", path=path, inode=None, type=kind, deleted=False, size=member.size,
                                locator=Locator(self.path, spec), mtime=int(member.mtime) * 1_000_000_000,
                                time_digits=0, filesystem="tar", mode=member.mode, uid=member.uid, gid=member.gid,
                                link_target=member.linkname or None, warnings=(warning,) if warning else ())
            yield Entry(record, partial(self._open, member) if kind == "file" else None)

    def _open(self, member: tarfile.TarInfo) -> BinaryIO:
        fh = self._tar.extractfile(member)
        if fh is None:
            raise EvidenceError(f"{member.name}: has no content")
        return fh  # type: ignore[return-value]

    def open_locator(self, locator: Locator) -> BinaryIO:
        name = locator.spec.get("location", "").lstrip("/")
        for member in self._members:
            if member.name.lstrip("/") == name:
                return self._open(member)
        raise EvidenceError(f"{name}: not in {self.path}")
