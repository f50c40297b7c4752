"""``case process``: integrity gate, inventory with hashes, and the 'processed' entry.

One exhibit is processed in one write transaction: the inventory rows, the 'verified' entry of
the check before, any 'deviation', and the 'processed' entry (carrying the check after and the
digest of the rows) commit together or not at all. A run killed at any point (``kill -9``) leaves
nothing but a stale row in ``runs``; the next run marks it abandoned and starts again, so
``files`` never holds rows without their entry, nor duplicates. The media hash before processing
is computed in a second thread while the inventory is walked; no row is committed unless it
matches (or a justified deviation is recorded). Other writers wait for the transaction (SQLite
``BEGIN IMMEDIATE`` with a busy timeout); readers are never blocked (WAL).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from evidencekit.case import ledger
from evidencekit.case.examiners import Examiner
from evidencekit.case.rows import FILE_COLUMNS, RowEncoder, RowTails, inventory_digest, volumes_digest
from evidencekit.case.store import Case, Exhibit
from evidencekit.errors import CaseError
from evidencekit.hashing import DEFAULT_FILE_HASHES
from evidencekit.pipeline import intake
from evidencekit.pipeline.exhibits import open_exhibit
from evidencekit.references import IntegrityCheck, Reference, references_from
from evidencekit.sources import Credentials

__all__ = ["FILE_COLUMNS", "inventory_digest", "process_exhibit"]

log = logging.getLogger(__name__)
QUEUED_BATCHES = 4  # batches (walk segments) waiting for the writer thread
DEFAULT_HASHES = DEFAULT_FILE_HASHES
POLL_S = 0.5


def gate_algorithms(exhibit: Exhibit) -> list[str]:
    """sha256 (compared with the registered hash) plus each algorithm an acquisition or container hash uses."""
    refs = intake.reference_hashes(exhibit)
    return sorted({"sha256"} | {r.algorithm for r in refs if r.origin != "registered"})


def gate(phase: str, refs: list[Reference], got: dict[str, str]) -> IntegrityCheck:
    return IntegrityCheck(phase, tuple(refs), got)


def process_exhibit(
    case: Case,
    exhibit_id: str,
    examiner: Examiner,
    *,
    hashes: Iterable[str] = DEFAULT_HASHES,
    deviation: str | None = None,
    reprocess: bool = False,
    progress: Callable[[str, int], None] | None = None,
    jobs: int = 0,
    credentials: Credentials | None = None,
) -> dict[str, Any]:
    """Verify, inventory and record one exhibit; returns a summary. CaseError when the gate stops it.

    The media is hashed before (alongside the walk) and after the walk (alongside the last
    inserts); rows, checks and entries then commit together.
    """
    exhibit = case.exhibit(exhibit_id)
    run_id = _claim(case, exhibit_id, reprocess)
    if run_id is None:
        return {"exhibit": exhibit_id, "status": "already processed"}
    hashes, algorithms = tuple(hashes), gate_algorithms(exhibit)
    if jobs <= 0:
        from evidencekit.inventory.parallel import default_jobs

        jobs = default_jobs()
    try:
        with open_exhibit(exhibit, credentials) as ev, \
                ThreadPoolExecutor(max_workers=2) as pool:
            before_job = pool.submit(intake.media_digests, ev, algorithms, _bytes(progress, "verify"))
            with case.transaction(wait=True) as db:
                encoder, writer = _insert_inventory(db, exhibit_id, ev, hashes, jobs, progress)
                after_job = pool.submit(intake.media_digests, ev, algorithms, _bytes(progress, "re-verify"))
                writer.close()
                before = _gate_before(case, exhibit, examiner, before_job.result(), deviation)
                after = gate("after", references_from("before", before.got), after_job.result())
                if after.result == "mismatch":
                    raise _Stop(after)
                return _record(case, exhibit, examiner, run_id, ev, encoder, before, after, hashes)
    except _Stop as stop:  # the transaction is rolled back: record the failed check alone
        _abandon(case, run_id)
        _record_failed(case, exhibit, examiner, stop.gate)
        raise CaseError(_stop_message(exhibit, stop.gate)) from None
    except BaseException:
        _abandon(case, run_id)
        raise


class _Stop(Exception):
    def __init__(self, gate: IntegrityCheck):
        super().__init__(gate.phase)
        self.gate = gate


def _bytes(progress: Callable[[str, int], None] | None, phase: str) -> Callable[[int], None] | None:
    return (lambda n: progress(phase, n)) if progress else None


def _insert_inventory(
    db: sqlite3.Connection, exhibit_id: str, ev: Any, hashes: tuple[str, ...], jobs: int, progress: Any
) -> tuple[RowEncoder, _Writer]:
    """Replace the exhibit's rows (dependent scan rows cascade) with the new walk.

    Large file systems are walked, hashed and rendered into rows by ``jobs`` worker processes
    (``evidencekit.inventory.parallel``, same rows in the same order as one process); a writer
    thread runs the inserts (SQLite works without the GIL) while this thread numbers and digests;
    only the writer touches the connection until the caller closes it.
    """
    from evidencekit.inventory.parallel import segments

    db.execute("DELETE FROM files WHERE exhibit = ?", (exhibit_id,))
    encoder = RowEncoder(exhibit_id)
    writer = _Writer(db, f"INSERT INTO files ({', '.join(FILE_COLUMNS)}) VALUES "
                         f"({', '.join('?' * len(FILE_COLUMNS))})")
    try:
        # segments' renderer type says text; any picklable payload passes through (rows here)
        for tails, count in segments(ev, hashes, jobs, None, RowTails()):
            writer.put(encoder.number(tails))
            if progress:
                progress("inventory", count)
    except BaseException:
        writer.close(raise_error=False)
        raise
    return encoder, writer


class _Writer:
    """Inserts batches of rows on a background thread; errors surface on put() or close()."""

    def __init__(self, db: sqlite3.Connection, sql: str):
        self._db, self._sql = db, sql
        self._queue: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="case-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._db.executemany(self._sql, batch)
                except BaseException as err:  # handed to the walking thread
                    self._error = err

    def put(self, batch: list[tuple[Any, ...]]) -> None:
        if self._error is not None:
            raise self._error
        if batch:
            self._queue.put(batch)

    def close(self, raise_error: bool = True) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and raise_error:
            raise self._error


def _gate_before(case: Case, exhibit: Exhibit, examiner: Examiner, got: dict[str, str], deviation: str | None) -> IntegrityCheck:
    """Inside the processing transaction: record the check before; stop unless it matches or is justified."""
    checked = gate("before", intake.reference_hashes(exhibit), got)
    if checked.result == "mismatch" and not (deviation and deviation.strip()):
        raise _Stop(checked)
    _append(case, examiner, "verified", exhibit.id, checked.as_details(), checked.as_inputs())
    if checked.result == "mismatch":
        details = {"justification": (deviation or "").strip(), "phase": "before", "mismatches": checked.mismatches}
        _append(case, examiner, "deviation", exhibit.id, details, checked.as_inputs())
    return checked


def _append(case: Case, examiner: Examiner, action: str, exhibit: str, details: dict[str, Any],
            inputs: dict[str, Any], outputs: dict[str, Any] | None = None) -> ledger.LedgerEntry:
    return ledger.append(case.db, case.id, examiner, action, exhibit=exhibit, details=details, inputs=inputs,
                         outputs=outputs)


def _record_failed(case: Case, exhibit: Exhibit, examiner: Examiner, gate: IntegrityCheck) -> None:
    with case.transaction():
        _append(case, examiner, "verified", exhibit.id, gate.as_details(), gate.as_inputs())


def _stop_message(exhibit: Exhibit, gate: IntegrityCheck) -> str:
    when = "changed during processing" if gate.phase == "after" else "no longer hashes the same"
    return (f"{exhibit.path}: exhibit {exhibit.id} {when} ({gate.mismatches[0]}); processing stopped, "
            "nothing stored; to proceed anyway record a deviation with --deviation 'justification'")


def _record(
    case: Case, exhibit: Exhibit, examiner: Examiner, run_id: int, ev: Any, encoder: RowEncoder,
    before: IntegrityCheck, after: IntegrityCheck, hashes: tuple[str, ...],
) -> dict[str, Any]:
    db = case.db
    _store_volumes(db, exhibit.id, ev.volumes)
    db.execute("UPDATE exhibits SET status = 'processed' WHERE id = ?", (exhibit.id,))
    db.execute("UPDATE runs SET done = 1 WHERE id = ?", (run_id,))
    details = {"hashes": list(hashes), "format_chain": list(ev.format_chain), "files": encoder.count,
               "source_tz": exhibit.source_tz or "UTC",
               "volumes": len(ev.volumes), "integrity": {"before": before.result, "after": after.result}}
    inputs = {**before.as_inputs(), **after.as_inputs()}
    digest = encoder.hexdigest()
    outputs: dict[str, str | None] = dict.fromkeys(_derived_outputs(db, exhibit.id))  # superseded: None
    outputs.update({f"db:files/{exhibit.id}": digest, f"db:volumes/{exhibit.id}": volumes_digest(db, exhibit.id)})
    _append(case, examiner, "processed", exhibit.id, details, inputs, outputs)
    return {"exhibit": exhibit.id, "status": "processed", "files": encoder.count, "inventory_sha256": digest,
            "integrity_before": before.result, "integrity_after": after.result}


def _derived_outputs(db: sqlite3.Connection, exhibit_id: str) -> list[str]:
    """Stored results earlier entries derived from the exhibit's previous inventory (now replaced)."""
    keys: set[str] = set()
    for (body,) in db.execute("SELECT body FROM ledger WHERE exhibit = ?", (exhibit_id,)):
        keys.update(k for k in json.loads(body).get("outputs", {}) if k.startswith("db:"))
    return sorted(keys - {f"db:files/{exhibit_id}", f"db:volumes/{exhibit_id}"})


def _store_volumes(db: sqlite3.Connection, exhibit_id: str, volumes: list[Any]) -> None:
    db.execute("DELETE FROM volumes WHERE exhibit = ?", (exhibit_id,))
    db.executemany(
        "INSERT INTO volumes (exhibit, name, idx, offset, length, type, label, filesystem, fs_label, encryption,"
        " locked) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(exhibit_id, v.name, v.index, v.offset, v.length, v.type, v.label, v.filesystem, v.fs_label,
          v.encryption, int(v.locked)) for v in volumes],
    )


def _claim(case: Case, exhibit_id: str, reprocess: bool) -> int | None:
    """Start a run for the exhibit: wait for a live run elsewhere, mark a dead one abandoned."""
    announced = False
    while True:
        with case.transaction(wait=True) as db:
            status = db.execute("SELECT status FROM exhibits WHERE id = ?", (exhibit_id,)).fetchone()[0]
            live = [r for r in db.execute("SELECT id, pid, host FROM runs WHERE exhibit = ? AND done = 0",
                                          (exhibit_id,)) if process_alive(r[1], r[2])]
            if not live:
                if status == "processed" and not reprocess:
                    return None
                db.execute("UPDATE runs SET done = -1 WHERE exhibit = ? AND done = 0", (exhibit_id,))
                cur = db.execute("INSERT INTO runs (exhibit, started_ns, pid, host) VALUES (?,?,?,?)",
                                 (exhibit_id, time.time_ns(), os.getpid(), socket.gethostname()))
                return int(cur.lastrowid or 0)
        if not announced:
            log.warning("exhibit %s is being processed by pid %s on %s; waiting", exhibit_id, live[0][1], live[0][2])
            announced = True
        reprocess = False  # the other run's result is what this request asked for
        time.sleep(POLL_S)


def process_alive(pid: int, host: str) -> bool:
    """Whether the process that recorded (pid, host) may still be running (another host: assume so)."""
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


def _abandon(case: Case, run_id: int) -> None:
    """Mark this process's run abandoned after an error (a killed run is detected by its dead pid)."""
    try:
        with case.transaction() as db:
            db.execute("UPDATE runs SET done = -1 WHERE id = ?", (run_id,))
    except Exception:  # best effort: the next run treats it as stale anyway
        pass
