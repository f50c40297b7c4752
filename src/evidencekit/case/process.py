"""``case process``: integrity gate, inventory with hashes, and the 'processed' entry.

Resumability: inventory rows are first written in small committed batches to ``files_staging``
under a row of ``runs``; only the final transaction moves them into ``files`` together with the
signed 'processed' entry. A run that died (``kill -9``) leaves a stale run and staged rows, which
the next run discards before starting over, so ``files`` never holds rows without their entry and
never holds duplicates.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from evidencekit.case import intake
from evidencekit.case.examiners import Examiner
from evidencekit.case.store import Case, Exhibit
from evidencekit.errors import CaseError
from evidencekit.models import FileRecord

FILE_COLUMNS = (
    "exhibit", "seq", "volume", "path", "inode", "stream", "type", "deleted", "orphan", "size", "filesystem",
    "mode", "uid", "gid", "link_target", "mtime", "atime", "ctime", "crtime", "dtime", "fn_mtime", "fn_atime",
    "fn_ctime", "fn_crtime", "time_digits", "assumed_zone", "md5", "sha1", "sha256", "locator", "warnings", "ext",
)
BATCH = 2000
DEFAULT_HASHES = ("md5", "sha1", "sha256")
POLL_S = 0.5


@dataclass
class Gate:
    """One integrity check of the decoded media against every reference hash."""

    phase: str
    references: dict[str, dict[str, str]]
    got: dict[str, str]
    mismatches: list[str]

    @property
    def result(self) -> str:
        if not self.got:
            return "not applicable (no single media)"
        return "mismatch" if self.mismatches else "match"

    def as_details(self) -> dict[str, Any]:
        return {"phase": self.phase, "result": self.result, "mismatches": self.mismatches}

    def as_inputs(self) -> dict[str, str]:
        out = {f"{self.phase}_media_{alg}": h for alg, h in self.got.items()}
        out.update({f"{src}_{alg}": h for src, vals in self.references.items() for alg, h in vals.items()})
        return out


def row_of(exhibit: str, seq: int, rec: FileRecord) -> tuple[Any, ...]:
    """The ``files`` row (in FILE_COLUMNS order) of one inventory record."""
    ext = PurePosixPath(rec.path).suffix.lower().lstrip(".") if rec.type == "file" else ""
    return (
        exhibit, seq, rec.volume, rec.path, rec.inode, rec.stream or "", rec.type, int(rec.deleted),
        int(rec.orphan), rec.size, rec.filesystem, rec.mode, rec.uid, rec.gid, rec.link_target, rec.mtime,
        rec.atime, rec.ctime, rec.crtime, rec.dtime, rec.fn_mtime, rec.fn_atime, rec.fn_ctime, rec.fn_crtime,
        rec.time_digits, rec.assumed_zone, rec.md5, rec.sha1, rec.sha256, rec.locator.to_json(),
        json.dumps(list(rec.warnings)), ext,
    )


def inventory_digest(db: sqlite3.Connection, exhibit: str, table: str = "files") -> tuple[int, str]:
    """(row count, sha256) over an exhibit's inventory rows in walk order: what the ledger signs."""
    digest = hashlib.sha256()
    count = 0
    cols = ", ".join(FILE_COLUMNS)
    for row in db.execute(f"SELECT {cols} FROM {table} WHERE exhibit = ? ORDER BY seq", (exhibit,)):
        digest.update(("\t".join(map(str, row)) + "\n").encode("utf-8", "surrogatepass"))
        count += 1
    return count, digest.hexdigest()


def check_media(
    ev: Any, exhibit: Exhibit, phase: str, progress: Callable[[int], None] | None = None,
    refs: dict[str, dict[str, str]] | None = None,
) -> Gate:
    """Hash the decoded media with every algorithm a reference exists for and compare.

    The references are the exhibit's (registered, acquisition, container) unless given: after
    processing the media is compared with what was hashed before it.
    """
    refs = refs if refs is not None else intake.reference_hashes(exhibit)
    algorithms = sorted({alg for values in refs.values() for alg in values} or {"sha256"})
    got = intake.media_digests(ev, algorithms, progress)
    return Gate(phase, refs, got, intake.compare(refs, got))


def process_exhibit(
    case: Case,
    exhibit_id: str,
    examiner: Examiner,
    *,
    hashes: Iterable[str] = DEFAULT_HASHES,
    deviation: str | None = None,
    reprocess: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Verify, inventory and record one exhibit; returns a summary. CaseError when the gate stops it."""
    from evidencekit import open_evidence

    exhibit = case.exhibit(exhibit_id)
    run_id = _claim(case, exhibit_id, reprocess)
    if run_id is None:
        return {"exhibit": exhibit_id, "status": "already processed"}
    try:
        with open_evidence(exhibit.path) as ev:
            before = check_media(ev, exhibit, "before", _bytes(progress, "verify"))
            _gate(case, exhibit, examiner, before, deviation)
            _stage(case, exhibit_id, ev.files(hashes=tuple(hashes)), progress)
            after = check_media(ev, exhibit, "after", _bytes(progress, "re-verify"), {"before": before.got})
            _gate(case, exhibit, examiner, after, None, record_match=False)  # a match goes in 'processed'
            summary = _commit(case, exhibit, examiner, run_id, ev, before, after, tuple(hashes))
    except BaseException:
        _abandon(case, exhibit_id, run_id)
        raise
    return summary


def _bytes(progress: Callable[[str, int], None] | None, phase: str) -> Callable[[int], None] | None:
    return (lambda n: progress(phase, n)) if progress else None


def _gate(
    case: Case, exhibit: Exhibit, examiner: Examiner, gate: Gate, deviation: str | None, record_match: bool = True
) -> None:
    """Record the check; on a mismatch stop, unless a justified deviation is recorded."""
    if gate.result == "mismatch" or record_match:
        with case.action("verified", examiner=examiner, exhibit=exhibit.id, details=gate.as_details(),
                         inputs=gate.as_inputs()):
            pass
    if gate.result != "mismatch":
        return
    if deviation and deviation.strip():
        details = {"justification": deviation.strip(), "phase": gate.phase, "mismatches": gate.mismatches}
        with case.action("deviation", examiner=examiner, exhibit=exhibit.id, details=details,
                         inputs=gate.as_inputs()):
            pass
        return
    raise CaseError(
        f"{exhibit.path}: exhibit {exhibit.id} no longer hashes the same ({gate.mismatches[0]}); "
        f"processing stopped{' (' + gate.phase + ' processing)' if gate.phase == 'after' else ''}; "
        "to proceed anyway record a deviation with --deviation 'justification'"
    )


def _stage(case: Case, exhibit_id: str, records: Iterator[FileRecord], progress: Any) -> None:
    batch: list[tuple[Any, ...]] = []
    sql = f"INSERT INTO files_staging ({', '.join(FILE_COLUMNS)}) VALUES ({', '.join('?' * len(FILE_COLUMNS))})"
    for seq, rec in enumerate(records, start=1):
        batch.append(row_of(exhibit_id, seq, rec))
        if progress:
            progress("inventory", 1)
        if len(batch) >= BATCH:
            with case.transaction() as db:
                db.executemany(sql, batch)
            batch = []
    if batch:
        with case.transaction() as db:
            db.executemany(sql, batch)


def _commit(
    case: Case, exhibit: Exhibit, examiner: Examiner, run_id: int, ev: Any, before: Gate, after: Gate,
    hashes: tuple[str, ...],
) -> dict[str, Any]:
    cols = ", ".join(FILE_COLUMNS)
    details: dict[str, Any] = {"hashes": list(hashes), "format_chain": list(ev.format_chain),
               "integrity": {"before": before.result, "after": after.result}}
    inputs = {**before.as_inputs(), **after.as_inputs()}
    with case.action("processed", examiner=examiner, exhibit=exhibit.id, details=details, inputs=inputs) as act:
        db = act.db
        db.execute("DELETE FROM files WHERE exhibit = ?", (exhibit.id,))
        db.execute(f"INSERT INTO files ({cols}) SELECT {cols} FROM files_staging WHERE exhibit = ? ORDER BY seq",
                   (exhibit.id,))
        db.execute("DELETE FROM files_staging WHERE exhibit = ?", (exhibit.id,))
        _store_volumes(db, exhibit.id, ev.volumes)
        db.execute("UPDATE exhibits SET status = 'processed' WHERE id = ?", (exhibit.id,))
        db.execute("UPDATE runs SET done = 1 WHERE id = ?", (run_id,))
        count, digest = inventory_digest(db, exhibit.id)
        act.details.update(files=count, volumes=len(ev.volumes))
        act.outputs[f"db:files/{exhibit.id}"] = digest
    return {"exhibit": exhibit.id, "status": "processed", "files": count, "inventory_sha256": digest,
            "integrity_before": before.result, "integrity_after": after.result}


def _store_volumes(db: sqlite3.Connection, exhibit_id: str, volumes: list[Any]) -> None:
    db.execute("DELETE FROM volumes WHERE exhibit = ?", (exhibit_id,))
    db.executemany(
        "INSERT INTO volumes (exhibit, name, idx, offset, length, type, label, filesystem, fs_label, encryption,"
        " locked) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(exhibit_id, v.name, v.index, v.offset, v.length, v.type, v.label, v.filesystem, v.fs_label,
          v.encryption, int(v.locked)) for v in volumes],
    )


def _claim(case: Case, exhibit_id: str, reprocess: bool) -> int | None:
    """Start a run for the exhibit: wait for a live run elsewhere, discard a dead one's staging."""
    announced = False
    while True:
        with case.transaction() as db:
            status = db.execute("SELECT status FROM exhibits WHERE id = ?", (exhibit_id,)).fetchone()[0]
            live = [r for r in db.execute("SELECT id, pid, host FROM runs WHERE exhibit = ? AND done = 0",
                                          (exhibit_id,)) if _alive(r[1], r[2])]
            if not live:
                if status == "processed" and not reprocess:
                    return None
                db.execute("DELETE FROM files_staging WHERE exhibit = ?", (exhibit_id,))
                db.execute("UPDATE runs SET done = -1 WHERE exhibit = ? AND done = 0", (exhibit_id,))
                cur = db.execute("INSERT INTO runs (exhibit, started_ns, pid, host) VALUES (?,?,?,?)",
                                 (exhibit_id, time.time_ns(), os.getpid(), socket.gethostname()))
                return int(cur.lastrowid or 0)
        if not announced:
            import sys

            print(f"evidencekit: exhibit {exhibit_id} is being processed by pid {live[0][1]} on {live[0][2]};"
                  " waiting", file=sys.stderr)
            announced = True
        reprocess = False  # the other run's result is what this request asked for
        time.sleep(POLL_S)


def _alive(pid: int, host: str) -> bool:
    if host != socket.gethostname():
        return True  # cannot tell: treat as alive
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _abandon(case: Case, exhibit_id: str, run_id: int) -> None:
    """After an exception in this process: drop the staged rows of the run (best effort)."""
    try:
        if case.db.in_transaction:
            case.db.execute("ROLLBACK")
        with case.transaction() as db:
            db.execute("DELETE FROM files_staging WHERE exhibit = ?", (exhibit_id,))
            db.execute("UPDATE runs SET done = -1 WHERE id = ?", (run_id,))
    except Exception:  # the next run cleans up a stale run anyway
        pass
