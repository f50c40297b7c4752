"""Ed25519 primitives and the canonical byte form that entries and heads are hashed from."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_hash(prev_hash: str, canonical_text: str) -> str:
    """sha256 over the previous entry hash followed by this entry's canonical form."""
    return hashlib.sha256((prev_hash + canonical_text).encode("ascii")).hexdigest()


def head_message(case_id: str, seq: int, entry_hash_hex: str) -> bytes:
    """What a ledger head signature covers: the case, the last sequence number and its hash."""
    return f"evidencekit-ledger-head:{case_id}:{seq}:{entry_hash_hex}".encode("ascii")


def fingerprint(public_raw: bytes) -> str:
    """SHA256 of the raw 32-byte public key, hex."""
    return hashlib.sha256(public_raw).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def load_public(public_b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(unb64(public_b64))


def signature_ok(public: Ed25519PublicKey, signature_b64: str, message: bytes) -> bool:
    """True when ``signature_b64`` is a valid signature of ``message`` by ``public``."""
    try:
        public.verify(unb64(signature_b64), message)
    except (InvalidSignature, ValueError):
        return False
    return True
