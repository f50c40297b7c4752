"""The custody ledger: append-only, hash-chained, Ed25519-signed entries.

Canonical form of an entry: deterministic JSON (:func:`signing.canonical`) of every field except
``entry_hash``, ``signature`` and ``cosignatures``; ``entry_hash = sha256(prev_hash + canonical)``;
the signature (and any co-signature) is Ed25519 over the 32 bytes of the entry hash. The signed
*head* (``ledger_head``) holds the last sequence number and hash, signed by the examiner who
appended it, so that a truncated tail is detected.
"""

from __future__ import annotations

import functools
import importlib
import json
import platform
import socket
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from evidencekit.case import signing
from evidencekit.case.examiners import Examiner
from evidencekit.errors import CustodyError

ACTIONS = (
    "created", "received", "sealed", "imaged", "verified", "deviation", "processed", "analysed",
    "exported", "reported", "transferred", "returned", "disposed", "note",
    "procedure", "attested", "reviewed",  # SOP runs: steps and results, manual attestations, four-eyes reviews
    "finding", "retracted", "question", "answered",  # findings and the case's questions (evidencekit.findings)
    "extracted",  # files copied out of an exhibit, with their manifest (evidencekit.findings.extraction)
)
# Columns of the ledger table that are part of the canonical form; the rest lives in ``body``.
COLUMN_FIELDS = ("seq", "time_ns", "examiner", "action", "exhibit", "prev_hash")


@dataclass
class LedgerEntry:
    """One ledger entry as stored: the canonical fields plus hash and signatures."""

    seq: int
    time_ns: int
    examiner: str
    action: str
    exhibit: str | None
    prev_hash: str
    body: dict[str, Any]
    entry_hash: str
    signature: str
    cosignatures: dict[str, str] = field(default_factory=dict)

    def canonical_fields(self) -> dict[str, Any]:
        out = dict(self.body)
        out.update(seq=self.seq, time_ns=self.time_ns, examiner=self.examiner, action=self.action,
                   exhibit=self.exhibit, prev_hash=self.prev_hash)
        return out

    def canonical(self) -> str:
        return signing.canonical(self.canonical_fields())

    def to_dict(self) -> dict[str, Any]:
        """The JSONL form used in bundles and ``custody log --format jsonl``."""
        out = self.canonical_fields()
        out.update(entry_hash=self.entry_hash, signature=self.signature, cosignatures=self.cosignatures)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LedgerEntry:
        data = dict(data)
        cols = {name: data.pop(name) for name in COLUMN_FIELDS}
        entry_hash, signature = data.pop("entry_hash"), data.pop("signature")
        cosignatures = data.pop("cosignatures", {}) or {}
        return cls(body=data, entry_hash=entry_hash, signature=signature, cosignatures=cosignatures, **cols)

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple[Any, ...]) -> LedgerEntry:
        seq, time_ns, examiner, action, exhibit, body, prev_hash, entry_hash, signature, cosig = row
        return cls(seq, time_ns, examiner, action, exhibit, prev_hash, _json_object(body), entry_hash,
                   signature, _json_object(cosig or "{}"))


def _json_object(text: str) -> dict[str, Any]:
    """A stored JSON object; damaged text is kept (under ``__unreadable__``) so verify reports the entry."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {"__unreadable__": str(text)}
    return value if isinstance(value, dict) else {"__unreadable__": str(text)}


SELECT_ENTRIES = (
    "SELECT seq, time_ns, examiner, action, exhibit, body, prev_hash, entry_hash, signature, cosignatures "
    "FROM ledger"
)


@functools.lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    """Versions of evidencekit and of every library that can shape a result."""
    out: dict[str, str] = {}
    for label, dist in (("evidencekit", "evidencekit"), ("dfvfs", "dfvfs"), ("plaso", "plaso"),
                        ("pytsk3", "pytsk3"), ("yara-python", "yara-python"),
                        ("python-magic", "python-magic"), ("cryptography", "cryptography")):
        try:
            out[label] = version(dist)
        except PackageNotFoundError:
            out[label] = "absent"
    out.update(_native_versions())
    out["python"] = platform.python_version()
    out["sqlite"] = sqlite3.sqlite_version
    return out


def _native_versions() -> dict[str, str]:
    out: dict[str, str] = {}
    probes = {
        "libtsk": lambda: importlib.import_module("pytsk3").TSK_VERSION_STR,
        "libewf": lambda: importlib.import_module("pyewf").get_version(),
        "libewf_system": _system_libewf_version,
        "libyara": lambda: importlib.import_module("yara").YARA_VERSION,
        "libmagic": lambda: str(importlib.import_module("magic").version()),
    }
    for name, probe in probes.items():
        try:
            out[name] = str(probe())
        except Exception:  # a missing native library is recorded, not fatal
            out[name] = "absent"
    return out


@functools.lru_cache(maxsize=1)
def host() -> dict[str, str]:
    return {"hostname": socket.gethostname(), "platform": platform.platform()}


SECRET_OPTIONS = ("--password", "--passphrase", "--recovery-key", "--key-passphrase")


def redacted(argv: list[str]) -> list[str]:
    """The command line with the values of secret options (passwords, recovery keys) masked."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        name, eq, _ = arg.partition("=")
        if hide_next:
            out.append("***")
            hide_next = False
        elif name in SECRET_OPTIONS and eq:
            out.append(f"{name}=***")
        else:
            out.append(arg)
            hide_next = arg in SECRET_OPTIONS
    return out


def last_entry(db: sqlite3.Connection) -> tuple[int, str, int]:
    """(seq, entry_hash, time_ns) of the last entry, or (0, GENESIS, 0) for an empty ledger."""
    row = db.execute("SELECT seq, entry_hash, time_ns FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1], row[2]) if row else (0, signing.GENESIS, 0)


def append(
    db: sqlite3.Connection,
    case_id: str,
    examiner: Examiner,
    action: str,
    *,
    exhibit: str | None = None,
    details: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    cosigners: tuple[Examiner, ...] = (),
) -> LedgerEntry:
    """Append one signed entry and move the signed head. The caller holds the write transaction."""
    if not db.in_transaction:
        raise CustodyError("ledger append outside a transaction (internal error)")
    if action not in ACTIONS:
        raise CustodyError("unknown custody action {action!r}; one of: {listing}", action=action,
                           listing=', '.join(ACTIONS))
    for person in (examiner, *cosigners):
        register_examiner(db, person)
    seq, prev, prev_ns = last_entry(db)
    body = {
        "case": case_id, "key": examiner.fingerprint, "details": details or {}, "inputs": inputs or {},
        "outputs": outputs or {}, "tools": tool_versions(), "host": host(), "command": redacted(sys.argv),
        "cosigners": [c.id for c in cosigners],
    }
    entry = LedgerEntry(seq + 1, max(time.time_ns(), prev_ns + 1), examiner.id, action, exhibit, prev, body, "", "")
    entry.entry_hash = signing.entry_hash(prev, entry.canonical())
    digest = bytes.fromhex(entry.entry_hash)
    entry.signature = examiner.sign(digest)
    entry.cosignatures = {c.id: c.sign(digest) for c in cosigners}
    _store(db, entry, examiner.sign(signing.head_message(case_id, entry.seq, entry.entry_hash)))
    return entry


def _store(db: sqlite3.Connection, entry: LedgerEntry, head_signature: str) -> None:
    """Insert the entry and move the signed head to it."""
    db.execute(
        "INSERT INTO ledger (seq, time_ns, examiner, action, exhibit, body, prev_hash, entry_hash, signature,"
        " cosignatures) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (entry.seq, entry.time_ns, entry.examiner, entry.action, entry.exhibit, signing.canonical(entry.body),
         entry.prev_hash, entry.entry_hash, entry.signature, signing.canonical(entry.cosignatures)),
    )
    db.execute(
        "INSERT OR REPLACE INTO ledger_head (id, seq, entry_hash, examiner, signature) VALUES (1,?,?,?,?)",
        (entry.seq, entry.entry_hash, entry.examiner, head_signature),
    )


def register_examiner(db: sqlite3.Connection, examiner: Examiner) -> None:
    """Store the examiner's public key in the case; refuse a different key under the same id."""
    row = db.execute("SELECT public_key FROM examiners WHERE id = ?", (examiner.id,)).fetchone()
    if row is None:
        db.execute(
            "INSERT INTO examiners (id, name, public_key, fingerprint, added_ns) VALUES (?,?,?,?,?)",
            (examiner.id, examiner.name, examiner.public_key, examiner.fingerprint, time.time_ns()),
        )
    elif row[0] != examiner.public_key:
        raise CustodyError(
            "examiner {examiner}: key {fingerprint} differs from the key this case knows", examiner=examiner.id,
            fingerprint=examiner.fingerprint[:16])


def entries(db: sqlite3.Connection) -> list[LedgerEntry]:
    """Every entry in sequence order."""
    return [LedgerEntry.from_row(r) for r in db.execute(SELECT_ENTRIES + " ORDER BY seq")]


def _system_libewf_version() -> str:
    """E01 media are read through the system libewf when it is installed (sources/libewf.py)."""
    from evidencekit.sources import libewf

    return libewf.version() or "not used"
