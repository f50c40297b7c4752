"""Content scans of a case's exhibits: results stored with the inventory, one ledger entry each.

For each exhibit the pass reads every inventoried file once (type and YARA), outside any write
transaction; then the results, a ``scan_runs`` row and the signed ledger entry are committed
together. The entry names the rules' hash, the settings, the inventory it applies to (its digest)
and the digest of the rows written. Re-running replaces the earlier results of the same rule set
(types: the earlier type of each file); the ledger keeps the history.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yara as libyara

from evidencekit.case import Case
from evidencekit.case.examiners import Examiner
from evidencekit.errors import CaseError
from evidencekit.models import FileRecord
from evidencekit.scan.engine import ContentPass, FileResult
from evidencekit.scan.magic import libmagic_version
from evidencekit.sources import Credentials, open_evidence


def locator_key(locator_json: str) -> bytes:
    return hashlib.blake2b(locator_json.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def inventory_ids(db: sqlite3.Connection, exhibit: str) -> dict[bytes, int]:
    """Locator -> ``files.id`` of an exhibit's regular files (what a scan attaches results to)."""
    rows = db.execute("SELECT id, locator FROM files WHERE exhibit = ? AND type = 'file'", (exhibit,))
    return {locator_key(loc): fid for fid, loc in rows}


def inventory_reference(db: sqlite3.Connection, exhibit: str) -> dict[str, Any]:
    """The inventory a scan applies to, as its 'processed' ledger entry recorded it (seq, digest)."""
    row = db.execute("SELECT seq, body FROM ledger WHERE action = 'processed' AND exhibit = ? "
                     "ORDER BY seq DESC LIMIT 1", (exhibit,)).fetchone()
    key = f"db:files/{exhibit}"
    digest = json.loads(row[1]).get("outputs", {}).get(key) if row else None
    if digest is None:
        raise CaseError(f"exhibit {exhibit} has no inventory yet; run 'evidencekit case process' first")
    return {key: digest, f"ledger:processed/{exhibit}": row[0]}


def exhibit_ids(case: Case, wanted: tuple[str, ...]) -> list[str]:
    """The exhibits to scan: those named (each must exist) or every exhibit of the case."""
    if wanted:
        return [case.exhibit(e).id for e in wanted]
    found = [e.id for e in case.exhibits()]
    if not found:
        raise CaseError(f"{case.root}: the case has no exhibits to scan")
    return found


@dataclass
class Collected:
    """Rows of one exhibit's pass, gathered before the write transaction."""

    types: list[tuple[int, str, str, int | None]] = field(default_factory=list)
    matches: list[tuple[int, str, str, str, str, str]] = field(default_factory=list)
    warnings: list[tuple[int | None, str]] = field(default_factory=list)
    files: int = 0
    matched_files: int = 0
    mismatches: int = 0

    def add(self, fid: int | None, res: FileResult) -> None:
        self.files += 1
        for w in res.all_warnings:
            self.warnings.append((fid, f"{res.record.path}: {w}"))
        if fid is None:
            self.warnings.append((None, f"{res.record.path}: entry not in the inventory, results not stored"))
            return
        if res.type is not None:
            self.types.append((fid, res.type.mime, res.type.description,
                               None if res.type.mismatch is None else int(res.type.mismatch)))
            self.mismatches += bool(res.type.mismatch)
        if res.yara and res.yara.matches:
            self.matched_files += 1
            for m in res.yara.matches:
                self.matches.append((fid, m.rule, m.namespace, json.dumps(list(m.tags)),
                                     json.dumps(m.meta, sort_keys=True, default=str),
                                     json.dumps([s.to_dict() for s in m.strings])))


def collect(case: Case, exhibit: str, content: ContentPass, credentials: Credentials,
            progress: Callable[[FileRecord], None] | None = None) -> Collected:
    """Run the pass over one exhibit's evidence and map results to its inventory rows."""
    ids = inventory_ids(case.db, exhibit)
    if not ids:
        raise CaseError(f"{case.root}: exhibit {exhibit} has no inventory yet; run 'evidencekit case process' first")
    out = Collected()
    registered = case.exhibit(exhibit)
    with open_evidence(registered.path, credentials, name_encoding=registered.name_encoding) as ev:
        for res in content.run(ev.entries(), progress):
            out.add(ids.get(locator_key(res.record.locator.to_json())), res)
    return out


_DIGEST_QUERIES = (
    ("types", "SELECT f.seq, t.mime, t.description, t.mismatch FROM file_types t JOIN files f ON f.id = t.file_id "
              "WHERE t.run_id = ? ORDER BY f.seq"),
    ("matches", "SELECT f.seq, y.namespace, y.rule, y.tags, y.meta, y.strings FROM yara_matches y "
                "JOIN files f ON f.id = y.file_id WHERE y.run_id = ? ORDER BY f.seq, y.namespace, y.rule"),
    ("hashsets", "SELECT f.seq, h.hashset, h.kind, h.algorithm FROM hashset_hits h JOIN files f ON f.id = h.file_id "
                 "WHERE h.run_id = ? ORDER BY f.seq, h.hashset"),
    ("warnings", "SELECT coalesce(f.seq, -1), w.message FROM scan_warnings w LEFT JOIN files f ON f.id = w.file_id "
                 "WHERE w.run_id = ? ORDER BY 1, 2"),
)


def run_digest(db: sqlite3.Connection, run_id: int) -> str:
    """sha256 over the rows a scan run wrote, in a fixed order (files named by walk order ``seq``).

    This is the output hash of the run's ledger entry (``outputs["db:scan_runs/<id>"]``); a verifier
    recomputes it. Rows replaced by a later run of the same kind (re-scan) no longer count.
    """
    h = hashlib.sha256()
    for name, sql in _DIGEST_QUERIES:
        for row in db.execute(sql, (run_id,)):
            h.update(f"{name}\t{json.dumps(row, ensure_ascii=False)}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def earlier_digests(db: sqlite3.Connection, exhibit: str) -> dict[int, str]:
    """Digests of the exhibit's earlier scan runs, taken before a re-scan replaces some of their rows."""
    runs = db.execute("SELECT id FROM scan_runs WHERE exhibit = ?", (exhibit,)).fetchall()
    return {run: run_digest(db, run) for (run,) in runs}


def restate_replaced(db: sqlite3.Connection, before: dict[int, str], outputs: dict[str, Any]) -> None:
    """A re-scan replaces rows of earlier runs: the new entry states what those runs' rows hash to
    now, so that the verifier, which checks each output's latest statement, finds them intact."""
    for run, digest in before.items():
        now = run_digest(db, run)
        if now != digest:
            outputs[f"db:scan_runs/{run}"] = now


def _store(db: sqlite3.Connection, exhibit: str, kind: str, ruleset_sha256: str | None,
           params: dict[str, Any], got: Collected) -> int:
    run_id = db.execute(
        "INSERT INTO scan_runs (kind, exhibit, time_ns, ruleset_sha256, parameters) VALUES (?, ?, ?, ?, ?)",
        (kind, exhibit, time.time_ns(), ruleset_sha256, json.dumps(params, sort_keys=True))).lastrowid
    assert run_id is not None
    if got.types:
        db.executemany("INSERT OR REPLACE INTO file_types (file_id, mime, description, mismatch, run_id) "
                       "VALUES (?, ?, ?, ?, ?)", [(*row, run_id) for row in got.types])
    if ruleset_sha256 is not None:
        db.execute("DELETE FROM yara_matches WHERE ruleset_sha256 = ? AND file_id IN "
                   "(SELECT id FROM files WHERE exhibit = ?)", (ruleset_sha256, exhibit))
        db.executemany("INSERT INTO yara_matches (file_id, run_id, ruleset_sha256, rule, namespace, tags, meta, "
                       "strings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(row[0], run_id, ruleset_sha256, *row[1:]) for row in got.matches])
    db.executemany("INSERT INTO scan_warnings (run_id, file_id, message) VALUES (?, ?, ?)",
                   [(run_id, fid, msg) for fid, msg in got.warnings])
    return run_id


def scan_exhibit(case: Case, exhibit: str, examiner: Examiner, content: ContentPass, *,
                 credentials: Credentials | None = None,
                 progress: Callable[[FileRecord], None] | None = None) -> dict[str, Any]:
    """Type and/or YARA-scan one exhibit and record it: one ledger entry, same transaction."""
    started = time.time_ns()
    got = collect(case, exhibit, content, credentials or Credentials(), progress)
    scanner = content.scanner
    kind = "yara" if scanner is not None else "types"
    params: dict[str, Any] = {"types": content.types, "head_bytes": content.head_bytes}
    details: dict[str, Any] = {"files_scanned": got.files, "warnings": len(got.warnings), "started_ns": started}
    inputs: dict[str, Any] = {}
    if content.types:
        details.update(libmagic=libmagic_version(), mismatches=got.mismatches)
    if scanner is not None:
        params.update(scanner.parameters())
        details.update(rules=scanner.ruleset.describe(), yara_python=libyara.__version__,
                       matches=len(got.matches), files_matched=got.matched_files)
        inputs["rules_sha256"] = scanner.ruleset.sha256
    details["parameters"] = params
    details["analysis"] = "yara" if scanner is not None else "types"
    inputs.update(inventory_reference(case.db, exhibit))
    with case.action("analysed", examiner=examiner, exhibit=exhibit, details=details, inputs=inputs) as act:
        before = earlier_digests(act.db, exhibit)
        run_id = _store(act.db, exhibit, kind, scanner.ruleset.sha256 if scanner else None, params, got)
        act.details["run_id"] = run_id
        act.outputs[f"db:scan_runs/{run_id}"] = run_digest(act.db, run_id)
        restate_replaced(act.db, before, act.outputs)
    return {"exhibit": exhibit, "run_id": run_id, **{k: v for k, v in details.items() if k != "rules"}}
