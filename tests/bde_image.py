"""A BitLocker (Windows 7 and later, "-FVE-FS-") volume built around a plain volume, for tests.

No Windows and no BitLocker writer exist here, so the volume is made from the public format
description (libyal/libbde, "BitLocker Drive Encryption (BDE) format"; the XTS methods 0x8004 and
0x8005 as Windows 10 writes them, which that text predates): a volume header with the BitLocker
identifier and three FVE metadata block offsets; three metadata blocks (block header, metadata
header, entries, then the validation record with its CRC-32 and the AES-CCM-wrapped SHA-256 of the
block); a password protector (user key SHA-256(SHA-256(UTF-16LE password)), stretched by the
SHA-256 chain over 0x100000 rounds with the protector's salt), optionally a recovery-password
protector; the VMK and the FVEK wrapped with AES-CCM (12-byte nonce: FILETIME and counter, 16-byte
MAC in front of the ciphertext); sectors encrypted with AES-XTS (tweak: the sector number) or
AES-CBC (IV: AES-ECB of the byte offset); the first 16 plain sectors relocated, encrypted where
they are stored (the "volume header block"). Readers show the metadata blocks and the relocated
block as zeros, so the builder puts them where the plain volume has zeros: the first block and
the relocated sectors in the reserved sectors of a FAT volume made with ``-R``, the other two
blocks after the plain volume (or all three in the reserved sectors). Both pybde (libbde) and dissect.fve read what this writes
(``tests/test_bitlocker.py``), and the decrypted volume equals the plain one byte for byte.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

SECTOR = 512
METADATA_SIZE = 0x10000  # each FVE metadata block's region (version 2)
HEADER_SECTORS = 16  # the plain sectors relocated ("volume header block")
BITLOCKER_GUID = uuid.UUID("4967d63b-2e29-4ad8-8399-f6a339e3d001")
METHODS = {"aes-xts-128": (0x8004, 32), "aes-xts-256": (0x8005, 64), "aes-cbc-128": (0x8002, 16),
           "aes-cbc-256": (0x8003, 32)}
PROTECT_PASSWORD, PROTECT_RECOVERY = 0x2000, 0x0800
FILETIME = 133_000_000_000_000_000  # 2022-06-18T04:26:40Z


@dataclass
class BdeVolume:
    """What the builder wrote, for the tests' own checks."""

    path: Path
    size: int
    method: str
    fvek: bytes
    vmk: bytes
    metadata_offsets: tuple[int, int, int]
    header_offset: int
    recovery_password: str | None = None
    identifiers: list[str] = field(default_factory=list)


def user_key(password: str) -> bytes:
    return hashlib.sha256(hashlib.sha256(password.encode("utf-16-le")).digest()).digest()


def recovery_key(recovery_password: str) -> bytes:
    return hashlib.sha256(b"".join(struct.pack("<H", int(b) // 11) for b in recovery_password.split("-"))).digest()


def make_recovery_password() -> str:
    """48 digits in 8 blocks, each a multiple of 11 below 720896 (so its check digit holds)."""
    return "-".join(f"{secrets.randbelow(1 << 16) * 11:06d}" for _ in range(8))


@functools.lru_cache(maxsize=8)
def stretch(key: bytes, salt: bytes, rounds: int = 0x100000) -> bytes:
    state = bytearray(88)  # last SHA-256 | initial SHA-256 | salt | count (uint64 LE)
    state[32:64], state[64:80] = key, salt
    for count in range(rounds):
        state[80:88] = count.to_bytes(8, "little")
        state[:32] = hashlib.sha256(state).digest()
    return bytes(state[:32])


def _datum(role: int, value_type: int, payload: bytes) -> bytes:
    return struct.pack("<HHHH", 8 + len(payload), role, value_type, 1) + payload


def _key(key_type: int, key: bytes, role: int = 0) -> bytes:
    return _datum(role, 0x0001, struct.pack("<HH", key_type, 0) + key)


class _Wrapper:
    """AES-CCM wrapping with the metadata's running nonce counter."""

    def __init__(self) -> None:
        self.counter = 0

    def wrap(self, key: bytes, inner: bytes, role: int = 0) -> bytes:
        nonce = struct.pack("<QI", FILETIME, self.counter)
        self.counter += 1
        sealed = AESCCM(key, tag_length=16).encrypt(nonce, inner, None)
        return _datum(role, 0x0005, nonce + sealed[-16:] + sealed[:-16])


def _vmk_entry(wrapper: _Wrapper, protection: int, secret: bytes, vmk: bytes, label: str) -> tuple[bytes, str]:
    salt = hashlib.sha256(b"salt" + secret).digest()[:16]  # fixed per secret: two volumes share one stretch
    identifier = uuid.uuid4()
    props = _datum(0, 0x0002, (label + "\0").encode("utf-16-le"))
    props += _datum(0, 0x0003, struct.pack("<HH", 0x1000, 0) + salt)
    props += wrapper.wrap(stretch(secret, salt), _key(0x2000, vmk))
    head = identifier.bytes_le + struct.pack("<QHH", FILETIME, 0, protection)
    return _datum(0x0002, 0x0008, head + props), str(identifier)


def _entries(wrapper: _Wrapper, vol: BdeVolume, password: str, method_id: int) -> bytes:
    vmk_entry, ident = _vmk_entry(wrapper, PROTECT_PASSWORD, user_key(password), vol.vmk, "")
    entries, vol.identifiers = vmk_entry, [ident]
    if vol.recovery_password:
        vmk_entry, ident = _vmk_entry(wrapper, PROTECT_RECOVERY, recovery_key(vol.recovery_password), vol.vmk,
                                      "DiskPassword")
        entries += vmk_entry
        vol.identifiers.append(ident)
    entries += wrapper.wrap(vol.vmk, _key(method_id, vol.fvek), role=0x0003)
    entries += _datum(0x000F, 0x000F, struct.pack("<QQ", vol.header_offset, HEADER_SECTORS * SECTOR))
    text = "EVIDENCEKIT-TEST BitLocker test volume 2022-06-18"
    while (len(entries) + 8 + 2 * (len(text) + 1)) % 16:  # the block's size is counted in 16-byte units
        text += "\0"
    return entries + _datum(0x0007, 0x0002, (text + "\0").encode("utf-16-le"))


def _metadata_block(vol: BdeVolume, password: str, method_id: int, volume_id: bytes) -> bytes:
    wrapper = _Wrapper()
    entries = _entries(wrapper, vol, password, method_id)
    dataset_size = 48 + len(entries)
    dataset = struct.pack("<IIII16sIHHQ", dataset_size, 1, 48, dataset_size, volume_id, wrapper.counter + 1,
                          method_id, 0, FILETIME) + entries
    header = struct.pack("<8sHHHHQII3QQ", b"-FVE-FS-", (64 + dataset_size) >> 4, 2, 4, 4, vol.size, 0,
                         HEADER_SECTORS, *vol.metadata_offsets, vol.header_offset)
    block = header + dataset
    integrity = wrapper.wrap(vol.vmk, _key(0x2005, hashlib.sha256(block).digest()))
    validation = struct.pack("<HHI", 8 + len(integrity), 2, zlib.crc32(block)) + integrity
    return block + validation


def _volume_header(total_sectors: int, offsets: tuple[int, int, int]) -> bytes:
    head = bytearray(SECTOR)
    head[0:11] = b"\xeb\x58\x90-FVE-FS-"
    struct.pack_into("<HBHBHHBHHHII", head, 11, SECTOR, 8, 0, 0, 0, 0, 0xF8, 0, 0x3F, 0xFF, 0, total_sectors)
    struct.pack_into("<HH", head, 48, 1, 6)
    head[64], head[66] = 0x80, 0x29
    head[67:90] = struct.pack("<I", 0x5EC0DE01) + b"NO NAME    FAT32   "
    head[160:176] = BITLOCKER_GUID.bytes_le
    struct.pack_into("<3Q", head, 176, *offsets)
    head[510:512] = b"\x55\xaa"
    return bytes(head)


def _encrypt_sector(method: str, fvek: bytes, sector: int, data: bytes) -> bytes:
    if method.startswith("aes-xts"):
        mode: modes.Mode = modes.XTS(sector.to_bytes(16, "little"))
    else:
        ecb = Cipher(algorithms.AES(fvek), modes.ECB()).encryptor()
        mode = modes.CBC(ecb.update((sector * SECTOR).to_bytes(16, "little")) + ecb.finalize())
    enc = Cipher(algorithms.AES(fvek), mode).encryptor()
    return enc.update(data) + enc.finalize()


def build(plain: Path, out: Path, password: str, *, method: str = "aes-xts-128", first_metadata: int = 64 * SECTOR,
          recovery: bool = False, all_in_front: bool = False) -> BdeVolume:
    """Encrypt ``plain`` into the BitLocker volume ``out``. The first metadata block and the relocated
    sectors take ``first_metadata`` and the 72 KiB after it, which must be zeros in ``plain``; the
    other two blocks follow the plain volume (128 KiB more), or, ``all_in_front``, the relocated
    sectors too (200 KiB of zeros from ``first_metadata``, the volume as long as the plain one)."""
    data = plain.read_bytes()
    assert len(data) % SECTOR == 0
    if all_in_front:
        offsets = tuple(first_metadata + i * METADATA_SIZE for i in range(3))
        header_offset, size = first_metadata + 3 * METADATA_SIZE, len(data)
    else:
        offsets = (first_metadata, len(data), len(data) + METADATA_SIZE)
        header_offset, size = first_metadata + METADATA_SIZE, len(data) + 2 * METADATA_SIZE
    assert not data[first_metadata:header_offset + HEADER_SECTORS * SECTOR].strip(b"\0"), "region not free"
    method_id, key_size = METHODS[method]
    vol = BdeVolume(out, size, method, os.urandom(key_size), os.urandom(32), offsets,  # type: ignore[arg-type]
                    header_offset, make_recovery_password() if recovery else None)
    block = _metadata_block(vol, password, method_id, uuid.uuid4().bytes_le)
    assert len(block) <= METADATA_SIZE
    plain_view = data + bytes(size - len(data))
    with open(out, "wb") as fh:
        fh.write(_volume_header(size // SECTOR, vol.metadata_offsets))
        for sector in range(1, size // SECTOR):
            fh.write(_encrypt_sector(method, vol.fvek, sector, plain_view[sector * SECTOR:(sector + 1) * SECTOR]))
        for offset in offsets:
            fh.seek(offset)
            fh.write(block.ljust(METADATA_SIZE, b"\0"))
        fh.seek(header_offset)
        for i in range(HEADER_SECTORS):
            sector = header_offset // SECTOR + i
            fh.write(_encrypt_sector(method, vol.fvek, sector, data[i * SECTOR:(i + 1) * SECTOR]))
    return vol
