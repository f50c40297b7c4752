"""The scan layer's rows in the case database: what a pass collected, how it is stored, and the
digest a ledger entry signs over it. Given a connection inside a run context by the pipeline;
never opens a case itself. Tables: ``scan/schema.py``."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from evidencekit.hashing import RowDigest
from evidencekit.scan.engine import FileResult


def locator_key(locator_json: str) -> bytes:
    return hashlib.blake2b(locator_json.encode("utf-8", "surrogatepass"), digest_size=16).digest()


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
    """The canonical digest (``hashing.RowDigest``) of the rows a scan run wrote, in a fixed order
    (files named by walk order ``seq``), each kind of row after a ``[name]`` marker.

    This is the output hash of the run's ledger entry (``outputs["db:scan_runs/<id>"]``); a verifier
    recomputes it. Rows replaced by a later run of the same kind (re-scan) no longer count.
    """
    digest = RowDigest()
    for name, sql in _DIGEST_QUERIES:
        digest.value([name])
        digest.rows(db.execute(sql, (run_id,)))
    return digest.hexdigest()


def legacy_run_digest(db: sqlite3.Connection, run_id: int) -> str:
    """The digest scan entries signed before the canonical form (one ``name<TAB>json`` line per
    row): kept only so that those entries still verify."""
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


def store_rows(db: sqlite3.Connection, exhibit: str, kind: str, ruleset_sha256: str | None,
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


