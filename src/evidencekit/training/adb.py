"""An ``adb backup`` writer (``.ab`` v1-5, plain, compressed, AES-256), after AOSP's
``PerformAdbBackupTask``: used to build training evidence and test inputs.

Randomness (salts, IVs, master key) comes from a seed, so a build is byte-for-byte repeatable.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from evidencekit.sources.android_backup import MAGIC, java_key_bytes, password_bytes


@dataclass(frozen=True)
class Member:
    name: str  # "apps/com.whatsapp/db/msgstore.db"
    data: bytes | None = None  # None: a directory
    mtime: int = 1_623_600_000
    mode: int = 0o600


def _random(seed: str, label: str, size: int) -> bytes:
    out = b""
    while len(out) < size:
        out += hashlib.sha256(f"{seed}/{label}/{len(out)}".encode()).digest()
    return out[:size]


def tar_bytes(members: Iterable[Member]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.mtime, info.mode, info.uid, info.gid = m.mtime, m.mode, 10123, 10123
            if m.data is None:
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
            else:
                info.size = len(m.data)
                tf.addfile(info, io.BytesIO(m.data))
    return buf.getvalue()


def _encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()


def encryption_header(password: str, version: int, seed: str, rounds: int) -> tuple[bytes, bytes, bytes]:
    """(header lines after 'AES-256', master key, master IV)."""
    user_salt, ck_salt = _random(seed, "user_salt", 64), _random(seed, "ck_salt", 64)
    user_iv, master_iv, mk = _random(seed, "user_iv", 16), _random(seed, "master_iv", 16), _random(seed, "mk", 32)
    secret = password_bytes(password, version)
    user_key = hashlib.pbkdf2_hmac("sha1", secret, user_salt, rounds, 32)
    checksum = hashlib.pbkdf2_hmac("sha1", mk if version == 1 else java_key_bytes(mk), ck_salt, rounds, 32)
    blob = bytes([16]) + master_iv + bytes([32]) + mk + bytes([32]) + checksum
    lines = [user_salt.hex().upper(), ck_salt.hex().upper(), str(rounds), user_iv.hex().upper(),
             _encrypt(user_key, user_iv, blob).hex().upper()]
    return "".join(line + "\n" for line in lines).encode(), mk, master_iv


def write_backup(path: Path, members: Iterable[Member], version: int = 5, compressed: bool = True,
                 password: str | None = None, seed: str = "evidencekit", rounds: int = 10000) -> Path:
    """Write an ``.ab`` file holding ``members``; returns ``path``."""
    payload = tar_bytes(members)
    if compressed:
        payload = zlib.compress(payload, 9)
    header = MAGIC + f"{version}\n{int(compressed)}\n".encode()
    if password is None:
        header += b"none\n"
    else:
        lines, key, iv = encryption_header(password, version, seed, rounds)
        header += b"AES-256\n" + lines
        payload = _encrypt(key, iv, payload)
    path.write_bytes(header + payload)
    return path
