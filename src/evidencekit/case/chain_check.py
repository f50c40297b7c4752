"""Verify a custody ledger: the hash chain, every signature, the signed head, and what it names.

Works on the same in-memory view whether the ledger comes from a case database or from a bundle
(:class:`LedgerView`). Each problem is a one-line :class:`Finding` that names the entry, the
examiner or the file concerned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidencekit.case import signature_pool, signing
from evidencekit.case.ledger import LedgerEntry

MOVE_WINDOW = 64  # how far from its stored position an entry is looked for when it does not hash


@dataclass(frozen=True)
class Finding:
    kind: str  # edited, deleted, reordered, inserted, signature, truncated, head, output, key, case
    message: str


@dataclass
class Head:
    seq: int
    entry_hash: str
    examiner: str
    signature: str


@dataclass
class LedgerView:
    """What verification needs: entries, the examiners' public keys, the head, and the case id."""

    case_id: str
    entries: list[LedgerEntry]
    keys: dict[str, str]  # examiner id -> raw public key, base64
    head: Head | None
    check_outputs: Callable[[list[LedgerEntry]], list[Finding]] | None = None
    extra: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why


@dataclass
class Report:
    entries: int
    findings: list[Finding]
    examiners: dict[str, str]  # id -> fingerprint of the keys that signed
    notes: list[str] = field(default_factory=list)
    head: Head | None = None  # the signed head as found (quote it in reports: it anchors the ledger)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        head = {"seq": self.head.seq, "entry_hash": self.head.entry_hash, "examiner": self.head.examiner} \
            if self.head else None
        return {"ok": self.ok, "entries": self.entries, "examiners": self.examiners, "notes": self.notes, "head": head,
                "findings": [{"kind": f.kind, "message": f.message} for f in self.findings]}


def verify(view: LedgerView) -> Report:
    """Check everything; return every finding (an empty list means the ledger is intact)."""
    keys, findings = _load_keys(view.keys)
    rows, duplicates = _unique(view.entries)
    findings += duplicates
    pending = signature_pool.start(rows, view.keys)  # Ed25519 checks run in worker processes meanwhile
    origin = {e.seq: _original_seq(e) for e in rows}
    head_seq = view.head.seq if view.head else None
    findings += _content_findings(rows, origin, keys, view.case_id, head_seq, pending.result())
    findings += _order_findings(rows, origin)
    findings += _chain_findings(rows, origin)
    findings += _head_findings(view, rows, keys)
    if view.check_outputs is not None:
        findings += view.check_outputs(rows)
    findings += view.extra
    used = {e.examiner for e in rows} | {c for e in rows for c in e.body.get("cosigners", [])}
    return Report(len(rows), findings, {x: signing.fingerprint(signing.unb64(view.keys[x]))
                                        for x in sorted(used) if x in view.keys}, view.notes, view.head)


def _unique(entries: list[LedgerEntry]) -> tuple[list[LedgerEntry], list[Finding]]:
    """Entries in sequence order; a sequence number seen twice (only possible in a bundle) is reported."""
    by_seq: dict[int, LedgerEntry] = {}
    found = []
    for e in entries:
        if e.seq in by_seq:
            found.append(Finding("inserted", f"entry {e.seq} appears twice in the ledger; the second is ignored"))
            continue
        by_seq[e.seq] = e
    return [by_seq[k] for k in sorted(by_seq)], found


def _load_keys(raw: dict[str, str]) -> tuple[dict[str, Ed25519PublicKey], list[Finding]]:
    keys, findings = {}, []
    for examiner, public in raw.items():
        try:
            keys[examiner] = signing.load_public(public)
        except ValueError:
            findings.append(Finding("key", f"examiner {examiner}: public key is not a valid Ed25519 key"))
    return keys, findings


def _hash_as(entry: LedgerEntry, seq: int) -> str:
    fields = entry.canonical_fields()
    fields["seq"] = seq
    return signing.entry_hash(entry.prev_hash, signing.canonical(fields))


def _original_seq(entry: LedgerEntry) -> int | None:
    """The sequence number the entry's content was hashed with (None: the content was changed)."""
    if _hash_as(entry, entry.seq) == entry.entry_hash:
        return entry.seq
    for delta in range(1, MOVE_WINDOW + 1):
        for seq in (entry.seq - delta, entry.seq + delta):
            if seq > 0 and _hash_as(entry, seq) == entry.entry_hash:
                return seq
    return None


def _content_findings(
    rows: list[LedgerEntry], origin: dict[int, int | None], keys: dict[str, Ed25519PublicKey], case_id: str,
    head_seq: int | None, valid: set[int],
) -> list[Finding]:
    out: list[Finding] = []
    positions = set(origin.values())
    for e in rows:
        signed = e.seq in valid
        if origin[e.seq] is None:
            beyond_head = head_seq is not None and e.seq > head_seq
            out.append(_unexplained(e, signed, e.seq in positions or beyond_head))
            continue
        if not signed:
            out.append(Finding("signature", f"entry {e.seq}: bad signature by examiner {e.examiner}"
                               + ("" if e.examiner in keys else " (no public key for this examiner)")))
        out += _body_findings(e, keys, case_id)
    return out


def _unexplained(e: LedgerEntry, signed: bool, foreign: bool) -> Finding:
    if foreign:
        return Finding("inserted", f"entry {e.seq} inserted: not part of the signed chain (its hash does not "
                       f"match its content" + ("" if signed else f", signature by examiner {e.examiner} invalid") + ")")
    if signed:
        return Finding("edited", f"entry {e.seq} edited: its content no longer matches its signed hash "
                       f"(action {e.action}, examiner {e.examiner})")
    return Finding("edited", f"entry {e.seq} edited: content and hash changed, signature by examiner "
                   f"{e.examiner} does not verify")


def _body_findings(e: LedgerEntry, keys: dict[str, Ed25519PublicKey], case_id: str) -> list[Finding]:
    out = []
    if e.body.get("case") != case_id:
        out.append(Finding("case", f"entry {e.seq}: belongs to case {e.body.get('case')}, not {case_id}"))
    key = keys.get(e.examiner)
    if key is not None and e.body.get("key") != signing.fingerprint(key.public_bytes_raw()):
        out.append(Finding("key", f"entry {e.seq}: signed with key {str(e.body.get('key'))[:16]} but examiner "
                           f"{e.examiner}'s registered key differs"))
    digest = bytes.fromhex(e.entry_hash)
    for cosigner in e.body.get("cosigners", []):
        ckey, sig = keys.get(cosigner), e.cosignatures.get(cosigner)
        if ckey is None or sig is None or not signing.signature_ok(ckey, sig, digest):
            out.append(Finding("signature", f"entry {e.seq}: missing or bad co-signature by examiner {cosigner}"))
    return out


def _order_findings(rows: list[LedgerEntry], origin: dict[int, int | None]) -> list[Finding]:
    """Entries stored at a position other than the one they were signed at."""
    moved = [(e.seq, origin[e.seq]) for e in rows if origin[e.seq] not in (None, e.seq)]
    if not moved:
        return []
    shifts = {orig - pos for pos, orig in moved if orig is not None}
    if len(shifts) == 1 and len(moved) > 1 or (len(moved) == 1 and not _swapped(moved)):
        shift = shifts.pop()
        first, last = moved[0][0], moved[-1][0]
        how = "to close a gap" if shift > 0 else "to make room"
        return [Finding("reordered", f"entries {first + shift}..{last + shift} renumbered to "
                        f"{first}..{last} ({how})")]
    pairs = ", ".join(f"position {pos} holds entry {orig}" for pos, orig in moved)
    return [Finding("reordered", f"entries reordered: {pairs}")]


def _swapped(moved: list[tuple[int, int | None]]) -> bool:
    positions = {p for p, _ in moved}
    return any(o in positions for _, o in moved)


def _chain_findings(rows: list[LedgerEntry], origin: dict[int, int | None]) -> list[Finding]:
    by_orig = {o: e for e in rows if (o := origin[e.seq]) is not None}
    out: list[Finding] = []
    present = sorted(by_orig)
    expected = 1
    for seq in sorted(set(present) | {e.seq for e in rows if origin[e.seq] is None}):
        if seq > expected:
            out.append(Finding("deleted", f"entries deleted: sequence gap between {expected - 1} and {seq} "
                               f"(missing {expected}" + (f"..{seq - 1})" if seq - 1 > expected else ")")))
        expected = seq + 1
    for seq in present:
        prev = by_orig.get(seq - 1)
        want = signing.GENESIS if seq == 1 else (prev.entry_hash if prev else None)
        if want is not None and by_orig[seq].prev_hash != want:
            out.append(Finding("chain", f"entry {seq} does not follow entry {seq - 1}: previous hash mismatch"))
    return out


def _head_findings(view: LedgerView, rows: list[LedgerEntry], keys: dict[str, Ed25519PublicKey]) -> list[Finding]:
    head = view.head
    if head is None:
        return [Finding("head", "signed ledger head missing")] if rows else []
    out = []
    key = keys.get(head.examiner)
    message = signing.head_message(view.case_id, head.seq, head.entry_hash)
    if key is None or not signing.signature_ok(key, head.signature, message):
        out.append(Finding("head", f"ledger head: bad signature by examiner {head.examiner}"))
    last = rows[-1] if rows else None
    if last is None or head.seq > last.seq:
        out.append(Finding("truncated", f"ledger truncated: signed head names entry {head.seq} "
                           f"(hash {head.entry_hash[:16]}) but the ledger ends at entry {last.seq if last else 0}"))
    elif head.seq < last.seq:
        out.append(Finding("inserted", f"entries {head.seq + 1}..{last.seq} appended after the signed head "
                           f"(head names entry {head.seq})"))
    elif head.entry_hash != last.entry_hash:
        out.append(Finding("head", f"ledger head names hash {head.entry_hash[:16]} for entry {head.seq}, "
                           f"the ledger holds {last.entry_hash[:16]}"))
    return out
