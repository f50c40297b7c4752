"""Examiner identities: Ed25519 key pairs kept outside the case, optionally passphrase-protected.

Key store: ``$EVIDENCEKIT_HOME/examiners/`` (default ``~/.evidencekit/examiners/``), one
``<id>.key`` (PKCS#8 PEM, encrypted when a passphrase is set) and ``<id>.json`` (name, id, public
key, fingerprint) per examiner.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidencekit import settings
from evidencekit.case import signing
from evidencekit.errors import CustodyError, ValidationError

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Examiner:
    """An examiner: identity, public key and (when loaded for signing) the private key."""

    id: str
    name: str
    public_key: str  # raw 32 bytes, base64
    fingerprint: str
    private_key: Ed25519PrivateKey | None = None

    def sign(self, message: bytes) -> str:
        """Base64 Ed25519 signature of ``message``; CustodyError if only the public key is loaded."""
        if self.private_key is None:
            raise CustodyError("examiner {id}: private key not loaded, cannot sign", id=self.id)
        return signing.b64(self.private_key.sign(message))


def store_dir() -> Path:
    return settings.get().home / "examiners"


def _paths(examiner_id: str) -> tuple[Path, Path]:
    base = store_dir()
    return base / f"{examiner_id}.key", base / f"{examiner_id}.json"


def check_id(examiner_id: str) -> str:
    if not ID_PATTERN.match(examiner_id):
        raise ValidationError(
            "examiner id {examiner_id!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit", examiner_id=examiner_id
        )
    return examiner_id


def init_examiner(name: str, examiner_id: str, passphrase: str | None = None) -> Examiner:
    """Create a key pair for a new examiner; CustodyError if the id already exists."""
    check_id(examiner_id)
    if not name.strip():
        raise ValidationError("examiner name must not be empty")
    key_path, meta_path = _paths(examiner_id)
    if key_path.exists() or meta_path.exists():
        raise CustodyError("{key_path}: examiner {examiner_id} already exists", key_path=key_path,
                           examiner_id=examiner_id)
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    examiner = Examiner(examiner_id, name.strip(), signing.b64(raw), signing.fingerprint(raw), private)
    meta = {
        "id": examiner.id, "name": examiner.name, "public_key": examiner.public_key,
        "fingerprint": examiner.fingerprint, "encrypted": bool(passphrase), "created_ns": time.time_ns(),
    }
    key_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_private(key_path, pem)
    tmp = meta_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    tmp.replace(meta_path)
    return examiner


def _write_private(path: Path, pem: bytes) -> None:
    tmp = path.with_suffix(".key.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    tmp.replace(path)


def list_examiners(skip_unreadable: Callable[[str], None] | None = None) -> list[Examiner]:
    """Every examiner in the key store (public parts only).

    An unreadable record is a CustodyError, or, given ``skip_unreadable``, is reported to it and
    skipped (checking a case needs only the keys the case holds).
    """
    if not store_dir().is_dir():
        return []
    found = []
    for path in sorted(store_dir().glob("*.json")):
        try:
            found.append(_read_meta(path))
        except CustodyError as err:
            if skip_unreadable is None:
                raise
            skip_unreadable(f"{err}: skipped")
    return found


def _read_meta(path: Path) -> Examiner:
    try:
        meta = json.loads(path.read_text())
        return Examiner(meta["id"], meta["name"], meta["public_key"], meta["fingerprint"])
    except (OSError, ValueError, KeyError) as err:
        raise CustodyError("{path}: unreadable examiner record: {cause}", path=path, cause=err) from err


def resolve_id(examiner_id: str | None) -> str:
    """The acting examiner: the argument, else $EVIDENCEKIT_EXAMINER, else the only one in the store."""
    chosen = examiner_id or settings.get().examiner
    if chosen:
        return check_id(chosen)
    known = list_examiners()
    if len(known) == 1:
        return known[0].id
    raise CustodyError(
        f"{store_dir()}: no examiner chosen: give --examiner ID or set EVIDENCEKIT_EXAMINER"
        + (" (no examiner exists yet: run 'evidencekit examiner init')" if not known else "")
    )


def needs_passphrase(examiner_id: str) -> bool:
    """True when the examiner's private key is encrypted."""
    key_path, _ = _paths(check_id(examiner_id))
    try:
        return b"ENCRYPTED" in key_path.read_bytes()[:64]
    except OSError:
        return False


def load_examiner(examiner_id: str | None = None, passphrase: str | None = None) -> Examiner:
    """Load an examiner with the private key, ready to sign.

    ``passphrase`` defaults to $EVIDENCEKIT_PASSPHRASE. CustodyError: unknown examiner, missing
    key file, passphrase needed, wrong passphrase, or a key that does not match the record.
    """
    examiner_id = resolve_id(examiner_id)
    key_path, meta_path = _paths(examiner_id)
    if not meta_path.is_file() or not key_path.is_file():
        missing = key_path if not key_path.is_file() else meta_path
        raise CustodyError("{path}: key of examiner {examiner} not found", path=missing, examiner=examiner_id)
    meta = _read_meta(meta_path)
    if passphrase is None:
        passphrase = settings.get().passphrase
    private = _load_private(key_path, examiner_id, passphrase)
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if signing.b64(raw) != meta.public_key:
        raise CustodyError("{key_path}: private key does not match the public key in {name}",
                           key_path=key_path, name=meta_path.name)
    return Examiner(meta.id, meta.name, meta.public_key, meta.fingerprint, private)


def _load_private(key_path: Path, examiner_id: str, passphrase: str | None) -> Ed25519PrivateKey:
    data = key_path.read_bytes()
    encrypted = b"ENCRYPTED" in data[:64]
    if encrypted and not passphrase:
        raise CustodyError(
            "{key_path}: key of examiner {examiner_id} is passphrase-protected: set EVIDENCEKIT_PASSPHRASE",
            key_path=key_path, examiner_id=examiner_id
        )
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.encode() if encrypted and passphrase else None)
    except (ValueError, TypeError) as err:
        if encrypted:
            raise CustodyError("{key_path}: wrong passphrase for examiner {examiner_id}", key_path=key_path,
                               examiner_id=examiner_id) from err
        raise CustodyError("{key_path}: unreadable key ({cause}) for examiner {examiner_id}",
                           key_path=key_path, cause=err, examiner_id=examiner_id) from err
    if not isinstance(key, Ed25519PrivateKey):
        raise CustodyError("{key_path}: not an Ed25519 key", key_path=key_path)
    return key
