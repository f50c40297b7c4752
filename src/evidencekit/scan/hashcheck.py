"""Look up every inventoried file of a case in imported hash sets (known-good, known-bad).

Uses the hashes the inventory already holds (no evidence is read). A file is in a set when any
of its digests of an algorithm the set holds is in it; the strongest such algorithm is recorded.
Re-checking against a set replaces that set's earlier hits; one ledger entry per exhibit names
every set by its manifest and source hashes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from evidencekit.case import Case
from evidencekit.case.examiners import Examiner
from evidencekit.errors import CaseError
from evidencekit.scan.hashsets import HashSet
from evidencekit.scan.results import earlier_digests, inventory_reference, restate_replaced, run_digest

ALGORITHMS = ("sha256", "sha1", "md5")  # strongest first: the one recorded for a hit
COLUMN = {"md5": 1, "sha1": 2, "sha256": 3}  # of the rows _hashes returns
Rows = list[tuple[int, str | None, str | None, str | None]]


def _hashes(case: Case, exhibit: str, sets: list[HashSet]) -> Rows:
    """(id, md5, sha1, sha256) of the exhibit's files; NULL for an algorithm no set holds."""
    cols = [alg if any(s.counts.get(alg) for s in sets) else "NULL" for alg in ("md5", "sha1", "sha256")]
    rows = case.db.execute(f"SELECT id, {', '.join(cols)} FROM files WHERE exhibit = ? AND type = 'file'",
                           (exhibit,)).fetchall()
    if not rows:
        raise CaseError(f"{case.root}: exhibit {exhibit} has no inventory yet; run 'evidencekit case process' first")
    return rows


def hits_of(hashset: HashSet, files: Rows) -> dict[int, str]:
    """file id -> algorithm of the first (strongest) digest found in ``hashset``."""
    found: dict[int, str] = {}
    for alg in reversed(ALGORITHMS):  # weakest first, so stronger algorithms overwrite
        if not hashset.counts.get(alg):
            continue
        col = COLUMN[alg]
        have = [(row[col], row[0]) for row in files if row[col]]  # contains() probes in key order itself
        flags = hashset.contains_hex(alg, [d for d, _ in have])  # type: ignore[misc]
        for index in flags.nonzero()[0]:
            found[have[index][1]] = alg
    return found


def _unhashed(hashset: HashSet, files: Rows) -> int:
    cols = [COLUMN[a] for a in ALGORITHMS if hashset.counts.get(a)]
    return sum(1 for row in files if not any(row[c] for c in cols))


def check_exhibit(case: Case, exhibit: str, examiner: Examiner, sets: list[HashSet]) -> dict[str, Any]:
    """Look up one exhibit's files in ``sets`` and record the hits with their ledger entry."""
    files = _hashes(case, exhibit, sets)
    started = time.time_ns()
    per_set = {s.name: hits_of(s, files) for s in sets}
    summary = {s.name: {"kind": s.kind, "hits": len(per_set[s.name]), "files_without_usable_hash": _unhashed(s, files)}
               for s in sets}
    details = {"analysis": "hashsets", "hashsets": [s.describe() for s in sets], "files_checked": len(files),
               "results": summary, "lookup_seconds": round((time.time_ns() - started) / 1e9, 3)}
    inputs: dict[str, Any] = {f"hashset:{s.name}": s.manifest_sha256 for s in sets}
    inputs.update(inventory_reference(case.db, exhibit))
    rows = sorted((fid, s.name, s.kind, alg) for s in sets for fid, alg in per_set[s.name].items())
    with case.action("analysed", examiner=examiner, exhibit=exhibit, details=details, inputs=inputs) as act:
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
