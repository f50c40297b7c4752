"""Android ``adb backup`` files (``.ab``), versions 1 to 5: plain, zlib-compressed, AES-256 encrypted.

The layout (AOSP ``BackupManagerService``/``PerformAdbBackupTask``): a text header
``ANDROID BACKUP``, version, compressed flag, encryption (``none`` or ``AES-256``), for AES-256
five more lines (user-key salt, master-key-checksum salt, PBKDF2 rounds, user IV, the encrypted
master-key blob), then a tar stream, deflated when compressed, AES-256-CBC (PKCS#7) when encrypted.
The tar holds ``apps/<package>/{_manifest,a,f,db,sp,r,ef,...}`` and ``shared/<user>/...``.

The backup is read as a stream and never written out: decryption (``cryptography``) and inflation
(``zlib``) feed ``tarfile`` in stream mode. An entry's content can be read while the listing
stands on it (that is how ``files`` hashes); reopening a single entry later reads the stream again
up to it. A plain uncompressed backup is read in place with seeks instead.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from evidencekit.errors import CredentialError, EvidenceError
from evidencekit.models import FileRecord, Locator, VolumeInfo
from evidencekit.sources.base import Credentials, Entry, Evidence
from evidencekit.sources.extraction import _TAR_TYPES, member_path

MAGIC = b"ANDROID BACKUP\n"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Header:
    version: int
    compressed: bool
    encryption: str  # "none" or "AES-256"
    data_offset: int
    user_salt: bytes = b""
    checksum_salt: bytes = b""
    rounds: int = 0
    user_iv: bytes = b""
    master_blob: bytes = b""


def read_header(path: str) -> Header:
    """The header lines; EvidenceError when they are not an Android backup header."""
    with open(path, "rb") as fh:
        lines = [fh.readline(4096) for _ in range(4)]
        if lines[0] != MAGIC:
            raise EvidenceError("{path}: not an Android backup (no 'ANDROID BACKUP' header)", path=path)
        try:
            version, compressed = int(lines[1]), int(lines[2])
            encryption = lines[3].strip().decode("ascii")
            if encryption == "none":
                return Header(version, bool(compressed), encryption, fh.tell())
            if encryption != "AES-256":
                raise EvidenceError("{path}: unsupported Android backup encryption {encryption!r}",
                                    path=path, encryption=encryption)
            extra = [fh.readline(8192).strip() for _ in range(5)]
            return Header(version, bool(compressed), encryption, fh.tell(), binascii.unhexlify(extra[0]),
                          binascii.unhexlify(extra[1]), int(extra[2]), binascii.unhexlify(extra[3]),
                          binascii.unhexlify(extra[4]))
        except (ValueError, UnicodeDecodeError, binascii.Error) as err:
            raise EvidenceError("{path}: damaged Android backup header: {cause}", path=path, cause=err) from err


def java_key_bytes(key: bytes) -> bytes:
    """The master key as Java's PBKDF2 sees it from v2 on: each byte cast to a (sign-extended) char,
    then UTF-8, so bytes >= 0x80 become U+FF80..U+FFFF (three UTF-8 bytes each)."""
    return "".join(chr(b if b < 0x80 else 0xFF00 | b) for b in key).encode("utf-8")


def password_bytes(password: str, version: int) -> bytes:
    """What PBKDF2 is given: v1 used the low 8 bits of each char ("And8bit"), later versions UTF-8."""
    return bytes(ord(c) & 0xFF for c in password) if version == 1 else password.encode("utf-8")


def _pbkdf2(secret: bytes, salt: bytes, rounds: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha1", secret, salt, rounds, 32)


def _cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()


def master_key(header: Header, password: str, path: str) -> tuple[bytes, bytes]:
    """(key, iv) of the payload; CredentialError when the password does not decrypt the master key."""
    secret = password_bytes(password, header.version)
    wrong = CredentialError("{path}: wrong password for the encrypted Android backup", path=path)
    try:
        blob = _cbc_decrypt(_pbkdf2(secret, header.user_salt, header.rounds), header.user_iv, header.master_blob)
        iv_len = blob[0]
        iv = blob[1:1 + iv_len]
        key_len = blob[1 + iv_len]
        key = blob[2 + iv_len:2 + iv_len + key_len]
        ck_len = blob[2 + iv_len + key_len]
        checksum = blob[3 + iv_len + key_len:3 + iv_len + key_len + ck_len]
    except (ValueError, IndexError) as err:
        raise wrong from err
    mangled = key if header.version == 1 else java_key_bytes(key)
    if _pbkdf2(mangled, header.checksum_salt, header.rounds) != checksum:
        raise wrong
    return key, iv


class PayloadStream(io.RawIOBase):
    """The tar bytes of a backup: the file after its header, decrypted and inflated as read.

    ``problem`` names the first damage met (truncated ciphertext, bad padding, corrupt deflate
    data, a deflate stream that ends early); the data before it is delivered.
    """

    def __init__(self, path: str, header: Header, key: tuple[bytes, bytes] | None):
        super().__init__()
        self._fh = open(path, "rb")  # noqa: SIM115 - closed with the stream
        self._fh.seek(header.data_offset)
        self._decryptor = Cipher(algorithms.AES(key[0]), modes.CBC(key[1])).decryptor() if key else None
        self._unpadder = padding.PKCS7(128).unpadder() if key else None
        self._inflater = zlib.decompressobj() if header.compressed else None
        self._data, self._pos = b"", 0
        self._tail = b""  # compressed input the inflater has not consumed yet
        self._input_done = False
        self._eof = False
        self.problem: str | None = None

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._fh.close()
        super().close()

    def read(self, size: int | None = -1) -> bytes:
        want = CHUNK if size is None or size < 0 else size
        if len(self._data) - self._pos >= want:  # the common case: one slice, one copy
            out = self._data[self._pos:self._pos + want]
            self._pos += want
            return out
        parts = [self._data[self._pos:]]
        have = len(parts[0])
        while have < want and not self._eof:
            chunk = self._next_chunk()
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        self._data, self._pos = data, min(want, len(data))
        return data[:want]

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _next_chunk(self) -> bytes:
        """The next piece of tar bytes; inflated output is capped at CHUNK so memory stays flat."""
        if self._inflater is not None and self._tail:
            return self._inflate(self._tail)
        if self._input_done:
            if self._inflater is not None and not self._inflater.eof:
                self._damaged("the compressed stream ends early (truncated)")
            self._eof = True
            return b""
        raw = self._fh.read(CHUNK)
        self._input_done = not raw
        try:
            data = self._decrypt(raw)
        except ValueError as err:  # cryptography: truncated or bad padding
            self._damaged(f"decryption failed at the end ({err}): truncated or damaged")
            return b""
        return self._inflate(data) if self._inflater is not None else data

    def _inflate(self, data: bytes) -> bytes:
        assert self._inflater is not None
        try:
            out = self._inflater.decompress(data, CHUNK)
        except zlib.error as err:
            self._damaged(f"corrupt compressed data: {err}")
            self._tail = b""
            return b""
        self._tail = self._inflater.unconsumed_tail
        return out

    def _decrypt(self, raw: bytes) -> bytes:
        if self._decryptor is None or self._unpadder is None:
            return raw
        if raw:
            return self._unpadder.update(self._decryptor.update(raw))
        return self._unpadder.update(self._decryptor.finalize()) + self._unpadder.finalize()

    def _damaged(self, why: str) -> None:
        self._eof = True
        self.problem = self.problem or why


class AndroidBackup(Evidence):
    """An ``adb backup`` file, listed as the tar it carries (``apps/<package>/...``, ``shared/...``)."""

    def __init__(self, path: str, credentials: Credentials | None = None, locked_ok: bool = False):
        super().__init__(path=path, kind="android_backup")
        self.header = read_header(path)
        h = self.header
        self.format_chain = (["android_backup", f"v{h.version}"] + (["aes-256"] if h.encryption != "none" else [])
                             + (["zlib"] if h.compressed else []) + ["tar"])
        self.media_size = os.path.getsize(path)
        self.segment_files = [path]
        password = (credentials or Credentials()).password
        self._key: tuple[bytes, bytes] | None = None
        locked = False
        if h.encryption != "none":
            if password is not None:
                self._key = master_key(h, password, path)
            elif locked_ok:
                locked = True
            else:
                raise CredentialError("{path}: the Android backup is encrypted: give its backup password (--password)",
                                      path=path)
        self.volumes = [VolumeInfo(name="", index=0, offset=h.data_offset, length=None, type="android_backup",
                                   filesystem=None if locked else "tar",
                                   encryption="aes-256" if h.encryption != "none" else None, locked=locked)]
        self._current: tuple[tarfile.TarFile, tarfile.TarInfo] | None = None
        self._parent = {"__type__": "PathSpec", "type_indicator": "OS", "location": path}  # shared: encoded once

    def open_media(self) -> BinaryIO:
        return open(self.path, "rb")  # noqa: SIM115 - the caller closes it

    def require_filesystems(self) -> None:
        if self.volumes[0].locked:
            raise CredentialError("{path}: the Android backup is encrypted: give its backup password (--password)",
                                  path=self.path)

    def _seekable(self) -> bool:
        return not self.header.compressed and self._key is None and self.header.encryption == "none"

    def _open_tar(self) -> tuple[tarfile.TarFile, PayloadStream | None]:
        if self._seekable():  # plain: tarfile seeks past content, members keep their offsets
            window = _Window(self.path, self.header.data_offset)
            return tarfile.open(fileobj=window, mode="r:"), None  # type: ignore[arg-type]
        stream = PayloadStream(self.path, self.header, self._key)
        return tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 18), stream  # type: ignore[arg-type]

    def entries(self, volume: str | None = None) -> Iterator[Entry]:
        if volume not in (None, ""):
            return
        self.require_filesystems()
        for tf, member in self._members(self.warnings):
            self._current = (tf, member)
            yield Entry(self._record(member), partial(self._open_member, member)
                        if _TAR_TYPES.get(member.type) == "file" else None)
        self._current = None

    def _members(self, warnings: list[str] | None) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
        """(tar, member) in stream order; damage ends the walk with a warning (when a list is given)."""
        try:
            tf, stream = self._open_tar()
        except (tarfile.TarError, EOFError, OSError) as err:
            raise EvidenceError("{path}: the backup's tar stream cannot be read: {cause}",
                                path=self.path, cause=err) from err
        count = 0
        try:
            while True:
                try:
                    member = tf.next()
                except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
                    _warn(warnings, f"backup damaged after {count} entries: {err}"
                          + (f" ({stream.problem})" if stream is not None and stream.problem else ""))
                    return
                if member is None:
                    break
                tf.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every member read: memory would grow
                count += 1
                yield tf, member
            if stream is not None and stream.problem:
                _warn(warnings, f"backup damaged after {count} entries: {stream.problem}")
        finally:
            tf.close()
            if stream is not None:
                stream.close()

    def _record(self, member: tarfile.TarInfo) -> FileRecord:
        path, raw_name, warnings = member_path(member.name.encode("utf-8", "surrogateescape"), self.name_encoding)
        spec = {"__type__": "PathSpec", "type_indicator": "ANDROID_BACKUP",
                "location": "/" + member.name.lstrip("/"), "parent": self._parent}
        return FileRecord(volume="", path=path, inode=None, type=_TAR_TYPES.get(member.type, "unknown"),
                          deleted=False, size=member.size, locator=Locator(self.path, spec),
                          mtime=int(member.mtime) * 1_000_000_000, time_digits=0, filesystem="android_backup",
                          mode=member.mode, uid=member.uid, gid=member.gid, link_target=member.linkname or None,
                          warnings=tuple(warnings), raw_name=raw_name)

    def _open_member(self, member: tarfile.TarInfo) -> BinaryIO:
        current = self._current
        if current is not None and current[1] is member:
            return _Guarded(current[0].extractfile(member), member.name)  # type: ignore[arg-type,return-value]
        return self._reopen(member.name)

    def _reopen(self, name: str) -> BinaryIO:
        """Read the stream again up to the member named ``name``; its content streams from there
        (the walk is held open until the returned reader is closed)."""
        walk = self._members(None)
        for tf, member in walk:
            if member.name.lstrip("/") == name.lstrip("/") and member.isfile():
                return _Guarded(tf.extractfile(member), name, walk.close)  # type: ignore[arg-type,return-value,attr-defined]
        raise EvidenceError("{name}: not in {path}", name=name, path=self.path)

    def open_locator(self, locator: Locator) -> BinaryIO:
        return self._reopen(locator.spec.get("location", ""))


def _warn(warnings: list[str] | None, text: str) -> None:
    if warnings is not None and text not in warnings:
        warnings.append(text)


class _Guarded(io.RawIOBase):
    """A member's content stream whose damage is an EvidenceError naming the member."""

    def __init__(self, inner: Callable[..., bytes] | BinaryIO, name: str, on_close: Callable[[], None] | None = None):
        super().__init__()
        self._inner = inner
        self._name = name
        self._on_close = on_close

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
            self._on_close = None
        super().close()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._inner.read(-1 if size is None else size)  # type: ignore[union-attr]
        except (tarfile.TarError, EOFError, zlib.error, ValueError) as err:
            raise EvidenceError("{name}: content truncated or damaged: {cause}", name=self._name,
                                cause=err) from err

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Window(io.RawIOBase):
    """The file from ``start`` on, as a seekable stream (a plain backup's tar)."""

    def __init__(self, path: str, start: int):
        super().__init__()
        self._fh = open(path, "rb")  # noqa: SIM115 - closed with the window
        self._start = start
        self._fh.seek(start)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            offset += self._start
        return self._fh.seek(offset, whence) - self._start

    def tell(self) -> int:
        return self._fh.tell() - self._start

    def read(self, size: int | None = -1) -> bytes:
        return self._fh.read(-1 if size is None else size)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._fh.readinto(buffer)

    def close(self) -> None:
        self._fh.close()
        super().close()
