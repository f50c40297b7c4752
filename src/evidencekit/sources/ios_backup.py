"""Encrypted iTunes/Finder backups (``Manifest.plist`` ``IsEncrypted``), decrypted with the password.

The scheme (Apple's iOS Security Guide; public write-ups of the backup keybag): the password
gives the keybag's passcode key by PBKDF2-HMAC-SHA1 over ``SALT``/``ITER``, since iOS 10.2 first
run through PBKDF2-HMAC-SHA256 over ``DPSL``/``DPIC``; it unwraps (RFC 3394 AES key unwrap) each
protection class key of ``BackupKeyBag``. ``ManifestKey`` (class + wrapped key) decrypts
``Manifest.db``; each file's ``EncryptionKey`` in its MBFile record (class + wrapped key) decrypts
its payload, AES-256-CBC with a zero IV and PKCS#7 padding, cut to the record's ``Size``.

Decrypted data is never written to disk: Manifest.db is opened from memory
(``sqlite3.deserialize``) and payloads are decrypted as they are read. Entries are listed under
their real names, ``/<domain>/<relativePath>``. ``cryptography`` does the AES work; the keybag and
MBFile parsing are here because the one PyPI reader (iphone_backup_decrypt, used by the tests as
an independent cross-check) writes the decrypted Manifest.db and files to disk, which evidence
handling must not do.
"""

from __future__ import annotations

import hashlib
import io
import os
import plistlib
import sqlite3
import struct
from collections.abc import Iterator
from functools import partial
from typing import Any, BinaryIO

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from evidencekit.errors import CredentialError, EvidenceError
from evidencekit.models import FileRecord, Locator, VolumeInfo
from evidencekit.sources.base import Credentials, Entry, Evidence

ZERO_IV = b"\x00" * 16
WRAP_PASSCODE = 2
_TYPES = {1: "file", 2: "dir", 4: "symlink"}


def encrypted_manifest(folder: str) -> dict[str, Any] | None:
    """The Manifest.plist of an encrypted backup folder, or None (absent, unreadable, not encrypted)."""
    try:
        with open(os.path.join(folder, "Manifest.plist"), "rb") as fh:
            manifest = plistlib.load(fh)
    except (OSError, plistlib.InvalidFileException, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("IsEncrypted") else None


def parse_keybag(blob: bytes) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """(keybag attributes, {protection class: its attributes}) of a TLV keybag."""
    head: dict[str, Any] = {}
    classes: dict[int, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    pos = 0
    while pos + 8 <= len(blob):
        tag = blob[pos:pos + 4].decode("ascii", "replace")
        (length,) = struct.unpack(">I", blob[pos + 4:pos + 8])
        value: Any = blob[pos + 8:pos + 8 + length]
        pos += 8 + length
        if length == 4 and tag not in ("UUID", "WPKY", "SALT", "DPSL", "HMCK"):
            value = struct.unpack(">I", value)[0]
        if tag == "UUID" and "UUID" in head:  # a second UUID starts the class keys
            current = {}
        if current is None:
            head[tag] = value
            continue
        current[tag] = value
        if tag == "CLAS":
            classes[value] = current
    return head, classes


def passcode_key(head: dict[str, Any], password: str) -> bytes:
    secret = password.encode("utf-8")
    if "DPSL" in head:  # iOS 10.2 and later: a first, slow PBKDF2-SHA256 round
        secret = hashlib.pbkdf2_hmac("sha256", secret, head["DPSL"], int(head["DPIC"]), 32)
    return hashlib.pbkdf2_hmac("sha1", secret, head["SALT"], int(head["ITER"]), 32)


def class_keys(keybag: bytes, password: str, path: str) -> dict[int, bytes]:
    head, classes = parse_keybag(keybag)
    key = passcode_key(head, password)
    out = {}
    try:
        for cls, attrs in classes.items():
            if int(attrs.get("WRAP", 0)) & WRAP_PASSCODE and "WPKY" in attrs:
                out[cls] = aes_key_unwrap(key, attrs["WPKY"])
    except InvalidUnwrap as err:
        raise CredentialError("{path}: wrong password for the encrypted iOS backup", path=path) from err
    return out


def _unwrap(keys: dict[int, bytes], wrapped: bytes, what: str) -> bytes:
    (cls,) = struct.unpack("<I", wrapped[:4])
    if cls not in keys:
        raise EvidenceError("{what}: protection class {cls} has no key in the keybag", what=what,
                            cls=cls)
    try:
        return aes_key_unwrap(keys[cls], wrapped[4:])
    except InvalidUnwrap as err:
        raise EvidenceError("{what}: its key does not unwrap (damaged keybag or record)", what=what) from err


def _decrypt_all(key: bytes, data: bytes) -> bytes:
    plain = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV)).decryptor().update(data)
    pad = plain[-1] if plain else 0
    return plain[:-pad] if 0 < pad <= 16 and plain.endswith(bytes([pad]) * pad) else plain


def mbfile(blob: bytes) -> dict[str, Any]:
    """The MBFile object of an NSKeyedArchiver blob, its UIDs resolved one level."""
    archive = plistlib.loads(blob)
    objects = archive["$objects"]
    top = objects[archive["$top"]["root"].data]
    return {k: (objects[v.data] if isinstance(v, plistlib.UID) else v) for k, v in top.items()}


class EncryptedIosBackup(Evidence):
    """An encrypted iTunes/Finder backup folder, listed under real names and decrypted as read."""

    def __init__(self, path: str, manifest: dict[str, Any], credentials: Credentials | None = None,
                 locked_ok: bool = False):
        super().__init__(path=path, kind="directory", format_chain=["directory", "ios_backup", "encrypted"])
        lockdown = manifest.get("Lockdown", {}) or {}
        self.device = {k: str(v) for k, v in (("make", "Apple"), ("model", lockdown.get("ProductType", "")),
                                               ("name", lockdown.get("DeviceName", "")), ("os", "iOS"),
                                               ("os_version", lockdown.get("ProductVersion", "")),
                                               ("serial", lockdown.get("SerialNumber", "")),
                                               ("udid", lockdown.get("UniqueDeviceID", "")),
                                               ("extraction_type", "iTunes/Finder backup (encrypted)"),
                                               ("extraction_date", manifest.get("Date", ""))) if v}
        password = (credentials or Credentials()).password
        self._keys: dict[int, bytes] = {}
        self._db: sqlite3.Connection | None = None
        if password is None and not locked_ok:
            raise CredentialError("{path}: the iOS backup is encrypted: give its backup password "
                                  "(--password)", path=path)
        if password is not None:
            self._keys = class_keys(manifest.get("BackupKeyBag", b""), password, path)
            self._db = self._manifest_db(manifest)
        self.volumes = [VolumeInfo(name="", index=0, offset=None, length=None, type="ios_backup",
                                   filesystem="ios_backup" if self._db else None, encryption="ios-backup",
                                   locked=self._db is None)]

    def _manifest_db(self, manifest: dict[str, Any]) -> sqlite3.Connection:
        key = _unwrap(self._keys, manifest.get("ManifestKey", b""), f"{self.path}: ManifestKey")
        try:
            with open(os.path.join(self.path, "Manifest.db"), "rb") as fh:
                plain = _decrypt_all(key, fh.read())
        except OSError as err:
            raise EvidenceError("{path}: Manifest.db cannot be read: {cause}", path=self.path,
                                cause=err.strerror) from err
        if not plain.startswith(b"SQLite format 3\x00"):
            raise EvidenceError("{path}: Manifest.db does not decrypt to a database (damaged)",
                                path=self.path)
        db = sqlite3.connect(":memory:")
        db.deserialize(plain)
        return db

    def open_media(self) -> BinaryIO | None:
        return None

    def require_filesystems(self) -> None:
        if self._db is None:
            raise CredentialError("{path}: the iOS backup is encrypted: give its backup password "
                                  "(--password)", path=self.path)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def entries(self, volume: str | None = None) -> Iterator[Entry]:
        if volume not in (None, ""):
            return
        self.require_filesystems()
        assert self._db is not None
        cur = self._db.execute("SELECT fileID, domain, relativePath, flags, file FROM Files ORDER BY domain, relativePath")
        for fid, domain, relative, flags, blob in cur:
            yield self._entry(fid, domain, relative, flags, blob)

    def _entry(self, fid: str, domain: str, relative: str, flags: int, blob: bytes) -> Entry:
        warnings: list[str] = []
        try:
            info = mbfile(blob)
        except (plistlib.InvalidFileException, ValueError, KeyError, IndexError, TypeError):
            info, warnings = {}, ["MBFile record unreadable: times and size unknown"]
        kind = _TYPES.get(flags, "unknown")
        location = f"/{domain}/{relative}" if relative else f"/{domain}"
        spec = {"__type__": "PathSpec", "type_indicator": "IOS_BACKUP", "location": location, "file_id": fid,
                "parent": {"__type__": "PathSpec", "type_indicator": "OS", "location": self.path}}
        ns: dict[str, Any] = {k: int(info[src]) * 1_000_000_000 for k, src in (("mtime", "LastModified"), ("crtime", "Birth"),
                                                              ("ctime", "LastStatusChange")) if src in info}
        record = FileRecord(volume="", path=location, inode=info.get("InodeNumber"), type=kind, deleted=False,
                            size=info.get("Size", 0) if kind == "file" else 0, locator=Locator(self.path, spec),
                            time_digits=0, filesystem="ios_backup", mode=info.get("Mode"), uid=info.get("UserID"),
                            gid=info.get("GroupID"), link_target=info.get("Target") if kind == "symlink" else None,
                            warnings=tuple(warnings), **ns)
        opener = partial(self._open, fid, info, location) if kind == "file" else None
        return Entry(record, opener)

    def _open(self, fid: str, info: dict[str, Any], location: str) -> BinaryIO:
        wrapped = info.get("EncryptionKey")
        wrapped = wrapped.get("NS.data") if isinstance(wrapped, dict) else wrapped
        payload = os.path.join(self.path, fid[:2], fid)
        if not os.path.isfile(payload):
            payload = os.path.join(self.path, fid)  # iOS 5-9 kept payloads flat
        if not wrapped:
            raise EvidenceError("{location}: no EncryptionKey in its record", location=location)
        key = _unwrap(self._keys, wrapped, location)
        try:
            fh = open(payload, "rb")  # noqa: SIM115 - closed with the reader
        except OSError as err:
            raise EvidenceError("{location}: payload {fid} cannot be read: {cause}", location=location,
                                fid=fid, cause=err.strerror) from err
        return _Decrypting(fh, key, int(info.get("Size", 0)))  # type: ignore[return-value]

    def open_locator(self, locator: Locator) -> BinaryIO:
        self.require_filesystems()
        assert self._db is not None
        row = self._db.execute("SELECT fileID, domain, relativePath, flags, file FROM Files WHERE fileID = ?",
                               (locator.spec.get("file_id", ""),)).fetchone()
        if row is None:
            raise EvidenceError("{location}: not in {path}", location=locator.spec.get('location'),
                                path=self.path)
        return self._entry(*row).open()


class _Decrypting(io.RawIOBase):
    """A payload decrypted as read (AES-256-CBC, zero IV, PKCS#7), cut to the stated size."""

    def __init__(self, fh: BinaryIO, key: bytes, size: int):
        super().__init__()
        self._fh, self._left = fh, size
        self._decryptor = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV)).decryptor()
        self._unpadder = padding.PKCS7(128).unpadder()
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = self._left if size is None or size < 0 else min(size, self._left)
        while len(self._buffer) < want:
            raw = self._fh.read(1 << 20)
            if not raw:
                try:
                    self._buffer += self._unpadder.update(self._decryptor.finalize()) + self._unpadder.finalize()
                except ValueError as err:
                    raise EvidenceError("payload truncated or damaged: {cause}", cause=err) from err
                break
            self._buffer += self._unpadder.update(self._decryptor.update(raw))
        data, self._buffer = self._buffer[:want], self._buffer[want:]
        self._left -= len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._fh.close()
        super().close()
