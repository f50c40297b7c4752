"""Custody operations on a case: verify, transfer, manual records, and what an entry's outputs name.

Output conventions (``act.outputs``): a key that is a path relative to the case directory
(``exports/…``, ``reports/…``) maps to the file's sha256; a key ``db:files/<exhibit>`` maps to the
inventory digest (:func:`evidencekit.case.rows.inventory_digest`). ``custody verify`` re-hashes
each, using the latest entry that names it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evidencekit.case import chain_check, examiners
from evidencekit.case.examiners import Examiner
from evidencekit.case.ledger import LedgerEntry
from evidencekit.case.store import META_FIELDS, Case
from evidencekit.errors import CaseError, CustodyError, ValidationError
from evidencekit.hashing import sha256_file

EXHIBIT_FIELDS = ("path", "description", "seal", "seized_from", "seized_at", "seized_on", "received_from")
MANUAL_ACTIONS = ("sealed", "imaged", "returned", "disposed", "note", "reported", "analysed")


def digest_function(table: str) -> Callable[[sqlite3.Connection, str], str] | None:
    """The digest of a layer's stored rows named ``db:<table>/<id>`` (plugin registry kind ``digest``)."""
    from evidencekit.registry import registry

    plugins = registry()
    item = plugins.find("digest", table)
    return plugins.resolve(item) if item is not None else None


def _legacy_matches(case: Case, table: str, ident: str, value: str) -> bool:
    """Whether an entry signed before the canonical row digest (``hashing.RowDigest``) still matches
    the rows in the digest form it was signed in (``<table>@legacy``)."""
    legacy = digest_function(f"{table}@legacy")
    return legacy is not None and legacy(case.db, ident) == value


def latest_outputs(rows: list[LedgerEntry]) -> dict[str, tuple[int, Any]]:
    """{output key: (seq of the latest entry naming it, value)}."""
    out: dict[str, tuple[int, Any]] = {}
    for e in rows:
        for key, value in e.body.get("outputs", {}).items():
            out[key] = (e.seq, value)
    return out


def is_file_output(key: str, value: Any) -> bool:
    return "/" in key and not key.startswith("db:") and isinstance(value, str) and len(value) == 64


def check_file(root: Path, key: str, seq: int, expected: str, label: str = "exported file") -> list[chain_check.Finding]:
    path = root / key
    if not path.is_file():
        return [chain_check.Finding("output", f"{label} {key} (entry {seq}) missing")]
    got = sha256_file(path)
    if got != expected:
        return [chain_check.Finding("output", f"{label} {key} (entry {seq}) altered: sha256 expected {expected} got {got}")]
    return []


def _case_outputs(case: Case, notes: list[str], progress: Callable[[int, int], None] | None = None
                  ) -> Callable[[list[LedgerEntry]], list[chain_check.Finding]]:
    def check(rows: list[LedgerEntry]) -> list[chain_check.Finding]:
        found: list[chain_check.Finding] = []
        outputs = latest_outputs(rows)
        for done, (key, (seq, value)) in enumerate(outputs.items(), 1):
            if progress:
                progress(done, len(outputs))
            if value is None:
                continue  # superseded: a later entry replaced these results
            if is_file_output(key, value):
                found += check_file(case.root, key, seq, value)
            elif key.startswith("db:") and "/" in key:
                table, _, ident = key[3:].partition("/")
                func = digest_function(table)
                if func is None:
                    notes.append(f"{key} (entry {seq}): not re-checked, no digest function for table {table}")
                elif (got := func(case.db, ident)) != value and not _legacy_matches(case, table, ident, value):
                    found.append(chain_check.Finding("output", f"stored results {key} (entry {seq}) altered: "
                                                  f"sha256 expected {value} got {got}"))
        return found + _records_findings(case, rows)

    return check


def _records_findings(case: Case, rows: list[LedgerEntry]) -> list[chain_check.Finding]:
    """Case metadata and exhibit hashes must agree with the entries that recorded them."""
    out: list[chain_check.Finding] = []
    created = next((e for e in rows if e.action == "created"), None)
    if created is not None:
        for key in META_FIELDS:
            signed, stored = created.body["details"].get(key, ""), case.meta.get(key, "")
            if signed != stored:
                out.append(chain_check.Finding("case", f"case {key} altered: entry {created.seq} says {signed!r}, "
                                            f"the case says {stored!r}"))
    received = {e.exhibit: e for e in rows if e.action == "received" and e.exhibit}
    for ex in case.exhibits():
        entry = received.get(ex.id)
        if entry is None:
            out.append(chain_check.Finding("exhibit", f"exhibit {ex.id} has no 'received' entry"))
            continue
        signed = {f"media_{alg}": entry.body["inputs"].get(f"media_{alg}") for alg in ex.hashes}
        stored = {f"media_{alg}": value for alg, value in ex.hashes.items()}
        for name in EXHIBIT_FIELDS:
            signed[name] = entry.body["details"].get(name) or None
            stored[name] = getattr(ex, name) or None
        for name, value in stored.items():
            if signed[name] != value:
                label = name.replace("media_", "registered ")
                out.append(chain_check.Finding("exhibit", f"exhibit {ex.id} {label} altered: entry {entry.seq} says "
                                            f"{signed[name]!r}, the case says {value!r}"))
    return out


def _key_store_findings(keys: dict[str, str], notes: list[str]) -> list[chain_check.Finding]:
    """Examiners this machine knows must have the same key as the ledger says (unreadable records: a note)."""
    out = []
    local = {x.id: x for x in examiners.list_examiners(skip_unreadable=notes.append)}
    for examiner_id, public in keys.items():
        mine = local.get(examiner_id)
        if mine is not None and mine.public_key != public:
            out.append(chain_check.Finding("key", f"examiner {examiner_id}: key in the ledger differs from this "
                                            f"machine's key store ({mine.fingerprint[:16]})"))
    return out


def case_view(case: Case, progress: Callable[[int, int], None] | None = None) -> chain_check.LedgerView:
    keys = dict(case.db.execute("SELECT id, public_key FROM examiners").fetchall())
    row = case.db.execute("SELECT seq, entry_hash, examiner, signature FROM ledger_head WHERE id = 1").fetchone()
    head = chain_check.Head(*row) if row else None
    notes: list[str] = []
    return chain_check.LedgerView(case.id, case.entries(), keys, head, _case_outputs(case, notes, progress),
                                  _key_store_findings(keys, notes), notes)


def verify_case(case: Case, progress: Callable[[int, int], None] | None = None) -> chain_check.Report:
    """Recompute the chain and signatures and re-hash every output the ledger names.

    ``progress(done, total)``: outputs re-checked (files re-hashed, stored results re-digested)
    out of those the ledger names, called as each is begun.

    CaseError (not a finding) when the database itself cannot be read: a damaged page says
    nothing about tampering either way, and must not pass for "intact" or for "tampered".
    """
    where = case.root / "case.db"
    try:
        problems = [row[0] for row in case.db.execute("PRAGMA quick_check(1)")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(problems))
        return chain_check.verify(case_view(case, progress))
    except sqlite3.DatabaseError as err:
        cause = " ".join(str(err).replace("*** in database main ***", "").split())
        raise CaseError("{path}: cannot be read, the database is damaged ({cause}): nothing was verified; "
                        "restore it from a copy", path=where, cause=cause[:120]) from err


def transfer(
    case: Case, exhibit: str, examiner: Examiner, to: str, reason: str, receiver: Examiner | None = None
) -> LedgerEntry:
    """A hand-over, signed by the one handing over and co-signed by the receiver when present."""
    if not to.strip() or not reason.strip():
        raise ValidationError("a transfer needs --to and --reason")
    details = {"from": examiner.id, "to": to.strip(), "reason": reason.strip(),
               "receiver": receiver.id if receiver else None, "receiver_present": receiver is not None}
    cosigners = (receiver,) if receiver else ()
    with case.run("transferred", examiner=examiner, exhibit=exhibit, details=details, cosigners=cosigners) as act:
        pass
    assert act.entry is not None
    return act.entry


def record(case: Case, action: str, examiner: Examiner, text: str, exhibit: str | None = None) -> LedgerEntry:
    """A manual custody record (sealed, returned, disposed, note, ...) with free text."""
    if action not in MANUAL_ACTIONS:
        raise ValidationError("action {action!r}: record one of {listing}", action=action,
                              listing=', '.join(MANUAL_ACTIONS))
    with case.run(action, examiner=examiner, exhibit=exhibit, details={"text": text}) as act:
        pass
    assert act.entry is not None
    return act.entry


def entry_line(e: LedgerEntry) -> str:
    """One human-readable line per entry for ``custody log``."""
    from evidencekit.models import iso_utc

    details = json.dumps(e.body.get("details", {}), sort_keys=True, ensure_ascii=False)
    if len(details) > 120:
        details = details[:117] + "..."
    return f"{e.seq:>5} {iso_utc(e.time_ns)} {e.examiner:<12} {e.action:<11} {e.exhibit or '-':<8} {details}"


def require_entries(case: Case) -> list[LedgerEntry]:
    rows = case.entries()
    if not rows:
        raise CustodyError("{root}: the custody ledger is empty", root=case.root)
    return rows
