"""An encrypted iTunes/Finder backup, built from the public description of the scheme (iOS Security
Guide keybag, RFC 3394 key wrap, AES-256-CBC with a zero IV), independent of the reader's code."""

from __future__ import annotations

import hashlib
import os
import plistlib
import sqlite3
import struct
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

ITER, DPIC = 10, 100  # real backups use 10,000,000 and 10,000,000: far too slow for a test


def _tlv(tag: str, value: bytes | int) -> bytes:
    raw = struct.pack(">I", value) if isinstance(value, int) else value
    return tag.encode() + struct.pack(">I", len(raw)) + raw


def _cbc(key: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(key), modes.CBC(b"\x00" * 16)).encryptor()
    return enc.update(padder.update(data) + padder.finalize()) + enc.finalize()


def keybag(password: str, classes: dict[int, bytes], double: bool = True) -> bytes:
    salt, dpsl = os.urandom(20), os.urandom(20)
    secret = password.encode()
    if double:
        secret = hashlib.pbkdf2_hmac("sha256", secret, dpsl, DPIC, 32)
    key = hashlib.pbkdf2_hmac("sha1", secret, salt, ITER, 32)
    out = _tlv("VERS", 4) + _tlv("TYPE", 1) + _tlv("UUID", os.urandom(16)) + _tlv("HMCK", os.urandom(40))
    out += _tlv("WRAP", 0) + _tlv("SALT", salt) + _tlv("ITER", ITER)
    if double:
        out += _tlv("DPWT", 1) + _tlv("DPIC", DPIC) + _tlv("DPSL", dpsl)
    for cls, class_key in classes.items():
        out += _tlv("UUID", os.urandom(16)) + _tlv("CLAS", cls) + _tlv("WRAP", 2) + _tlv("KTYP", 0)
        out += _tlv("WPKY", aes_key_wrap(key, class_key))
    return out


def _mbfile(relative: str, size: int, mode: int, when: int, wrapped: bytes | None, cls: int) -> bytes:
    obj: dict = {"$class": plistlib.UID(3), "Birth": when, "LastModified": when, "LastStatusChange": when,
                 "Flags": 0, "GroupID": 501, "UserID": 501, "InodeNumber": 7000 + size, "Mode": mode,
                 "ProtectionClass": cls, "RelativePath": plistlib.UID(2), "Size": size}
    objects: list = ["$null", obj, relative, {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]}]
    if wrapped is not None:
        obj["EncryptionKey"] = plistlib.UID(4)
        objects.append({"NS.data": wrapped, "$class": plistlib.UID(5)})
        objects.append({"$classname": "NSMutableData", "$classes": ["NSMutableData", "NSData", "NSObject"]})
    return plistlib.dumps({"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": plistlib.UID(1)},
                           "$objects": objects}, fmt=plistlib.FMT_BINARY)


def write_encrypted_backup(folder: Path, password: str, files: dict[tuple[str, str], bytes | None],
                           when: int = 1_623_691_809, double: bool = True) -> Path:
    """files: (domain, relativePath) -> content (None: a folder)."""
    folder.mkdir(parents=True)
    classes = {cls: os.urandom(32) for cls in range(1, 12)}
    db_path = folder / "plain-manifest.db"
    con = sqlite3.connect(db_path)
    con.executescript("CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, "
                      "file BLOB); CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);")
    for (domain, rel), data in files.items():
        fid = hashlib.sha1(f"{domain}-{rel}".encode()).hexdigest()
        if data is None:
            blob = _mbfile(rel, 0, 0o40755, when, None, 0)
        else:
            file_key = os.urandom(32)
            blob = _mbfile(rel, len(data), 0o100644, when, struct.pack("<I", 3) + aes_key_wrap(classes[3], file_key), 3)
            (folder / fid[:2]).mkdir(exist_ok=True)
            (folder / fid[:2] / fid).write_bytes(_cbc(file_key, data))
        con.execute("INSERT INTO Files VALUES (?, ?, ?, ?, ?)", (fid, domain, rel, 2 if data is None else 1, blob))
    con.commit()
    con.close()
    manifest_key = os.urandom(32)
    (folder / "Manifest.db").write_bytes(_cbc(manifest_key, db_path.read_bytes()))
    db_path.unlink()
    manifest = {"BackupKeyBag": keybag(password, classes, double), "IsEncrypted": True, "Version": "10.0",
                "ManifestKey": struct.pack("<I", 4) + aes_key_wrap(classes[4], manifest_key),
                "Lockdown": {"ProductType": "iPhone12,1", "ProductVersion": "15.4.1", "DeviceName": "Айгүл iPhone",
                             "SerialNumber": "F2LZK0AAN72J", "UniqueDeviceID": "00008030-001A2B3C4D5E6F70"}}
    (folder / "Manifest.plist").write_bytes(plistlib.dumps(manifest, fmt=plistlib.FMT_BINARY))
    return folder
