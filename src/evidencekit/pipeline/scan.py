"""Content scans of a case's exhibits (types, YARA, hash sets): results stored with the inventory,
one ledger entry each, through the case's run context.

For each exhibit the pass reads every inventoried file once (type and YARA), outside any write
transaction; then the results, a ``scan_runs`` row and the signed ledger entry are committed
together. The entry names the rules' hash, the settings, the inventory it applies to (its digest)
and the digest of the rows written. Re-running replaces the earlier results of the same rule set
(types: the earlier type of each file); the ledger keeps the history.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

import yara as libyara

from evidencekit.case import Case
from evidencekit.case.examiners import Examiner
from evidencekit.errors import CaseError
from evidencekit.models import FileRecord
from evidencekit.pipeline.exhibits import open_exhibit
from evidencekit.scan.engine import ContentPass, FileResult
from evidencekit.scan.hashcheck import Rows, hits_of, unhashed
from evidencekit.scan.hashsets import HashSet
from evidencekit.scan.magic import libmagic_version
from evidencekit.scan.store import (
    Collected,
    earlier_digests,
    locator_key,
    restate_replaced,
    run_digest,
    store_rows,
)
from evidencekit.sources import Credentials


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
        raise CaseError("exhibit {exhibit} has no inventory yet; run 'evidencekit case process' first",
                        exhibit=exhibit)
    return {key: digest, f"ledger:processed/{exhibit}": row[0]}


def exhibit_ids(case: Case, wanted: tuple[str, ...]) -> list[str]:
    """The exhibits to scan: those named (each must exist) or every exhibit of the case."""
    if wanted:
        return [case.exhibit(e).id for e in wanted]
    found = [e.id for e in case.exhibits()]
    if not found:
        raise CaseError("{root}: the case has no exhibits to scan", root=case.root)
    return found


def collect(case: Case, exhibit: str, content: ContentPass, credentials: Credentials,
            progress: Callable[[FileRecord], None] | None = None) -> Collected:
    """Run the pass over one exhibit's evidence and map results to its inventory rows."""
    ids = inventory_ids(case.db, exhibit)
    if not ids:
        raise CaseError("{root}: exhibit {exhibit} has no inventory yet; run 'evidencekit case process' "
                        "first", root=case.root, exhibit=exhibit)
    registered = case.exhibit(exhibit)
    with open_exhibit(registered, credentials) as ev:
        return collected(ids, content.run(ev.entries(), progress))


def collected(ids: dict[bytes, int], results: Iterable[FileResult]) -> Collected:
    """A pass's results (read here, or by a batch worker) mapped to the inventory rows ``ids``."""
    out = Collected()
    for res in results:
        out.add(ids.get(locator_key(res.record.locator.to_json())), res)
    return out


def scan_exhibit(case: Case, exhibit: str, examiner: Examiner, content: ContentPass, *,
                 credentials: Credentials | None = None,
                 progress: Callable[[FileRecord], None] | None = None) -> dict[str, Any]:
    """Type and/or YARA-scan one exhibit and record it: one ledger entry, same transaction."""
    started = time.time_ns()
    got = collect(case, exhibit, content, credentials or Credentials(), progress)
    return record_scan(case, exhibit, examiner, content, got, started)


def record_scan(case: Case, exhibit: str, examiner: Examiner, content: ContentPass, got: Collected,
                started: int) -> dict[str, Any]:
    """The storing half of :func:`scan_exhibit`: the pass's rows, its run and its ledger entry."""
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
    with case.run("analysed", examiner=examiner, exhibit=exhibit, details=details, inputs=inputs) as act:
        before = earlier_digests(act.db, exhibit)
        run_id = store_rows(act.db, exhibit, kind, scanner.ruleset.sha256 if scanner else None, params, got)
        act.details["run_id"] = run_id
        act.outputs[f"db:scan_runs/{run_id}"] = run_digest(act.db, run_id)
        restate_replaced(act.db, before, act.outputs)
    return {"exhibit": exhibit, "run_id": run_id, **{k: v for k, v in details.items() if k != "rules"}}


def _hashes(case: Case, exhibit: str, sets: list[HashSet]) -> Rows:
    """(id, md5, sha1, sha256) of the exhibit's files; NULL for an algorithm no set holds."""
    cols = [alg if any(s.counts.get(alg) for s in sets) else "NULL" for alg in ("md5", "sha1", "sha256")]
    rows = case.db.execute(f"SELECT id, {', '.join(cols)} FROM files WHERE exhibit = ? AND type = 'file'",
                           (exhibit,)).fetchall()
    if not rows:
        raise CaseError("{root}: exhibit {exhibit} has no inventory yet; run 'evidencekit case process' "
                        "first", root=case.root, exhibit=exhibit)
    return rows


def check_exhibit(case: Case, exhibit: str, examiner: Examiner, sets: list[HashSet]) -> dict[str, Any]:
    """Look up one exhibit's files in ``sets`` and record the hits with their ledger entry."""
    files = _hashes(case, exhibit, sets)
    started = time.time_ns()
    per_set = {s.name: hits_of(s, files) for s in sets}
    summary = {s.name: {"kind": s.kind, "hits": len(per_set[s.name]), "files_without_usable_hash": unhashed(s, files)}
               for s in sets}
    details = {"analysis": "hashsets", "hashsets": [s.describe() for s in sets], "files_checked": len(files),
               "results": summary, "lookup_seconds": round((time.time_ns() - started) / 1e9, 3)}
    inputs: dict[str, Any] = {f"hashset:{s.name}": s.manifest_sha256 for s in sets}
    inputs.update(inventory_reference(case.db, exhibit))
    rows = sorted((fid, s.name, s.kind, alg) for s in sets for fid, alg in per_set[s.name].items())
    with case.run("analysed", examiner=examiner, exhibit=exhibit, details=details, inputs=inputs) as act:
        before = earlier_digests(act.db, exhibit)
        run_id = act.db.execute(
            "INSERT INTO scan_runs (kind, exhibit, time_ns, parameters) VALUES ('hashsets', ?, ?, ?)",
            (exhibit, started, json.dumps({"hashsets": [s.name for s in sets]}))).lastrowid
        assert run_id is not None
        for s in sets:
            act.db.execute("DELETE FROM hashset_hits WHERE hashset = ? AND file_id IN "
                           "(SELECT id FROM files WHERE exhibit = ?)", (s.name, exhibit))
        act.db.executemany("INSERT INTO hashset_hits (file_id, hashset, kind, algorithm, run_id) VALUES (?, ?, ?, ?, ?)",
                           [(*row, run_id) for row in rows])
        act.details["run_id"] = run_id
        act.outputs[f"db:scan_runs/{run_id}"] = run_digest(act.db, run_id)
        restate_replaced(act.db, before, act.outputs)
    return {"exhibit": exhibit, "run_id": run_id, "files_checked": len(files), "results": summary}
