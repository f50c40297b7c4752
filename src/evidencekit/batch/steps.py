"""The adapter between the batch layer and today's per-exhibit operations.

The only module of ``batch/`` that touches ``pipeline.intake``, ``pipeline.processing`` and
``pipeline.timeline``. Each step is split in two halves:

- compute (worker side, no case, no key): :func:`examine`, :func:`plan_listing`,
  :func:`list_part`, :func:`media`, :func:`plaso_run`; each opens the evidence read-only and
  returns picklable data;
- store (coordinator side): :func:`store_intake`, :func:`store_processed`, :func:`timeline_*`;
  each writes rows and signs entries in one transaction, exactly as ``case add`` / ``case process``
  / ``timeline build`` would.

The store halves mirror ``intake._register`` and the transaction of ``processing.process_exhibit``
using their helpers, so the rows and entries are the same as the single commands make.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from evidencekit.case import ledger
from evidencekit.case.examiners import Examiner
from evidencekit.case.rows import FILE_COLUMNS, RowTails
from evidencekit.case.store import Case
from evidencekit.errors import CaseError
from evidencekit.hashing import ALGORITHMS
from evidencekit.inventory.parallel import MIN_INODES
from evidencekit.pipeline import intake
from evidencekit.pipeline import processing as process
from evidencekit.references import IntegrityCheck, references_from
from evidencekit.sources import Credentials, open_evidence

KEEP_OPEN = 2  # evidence a worker keeps open between units (an exhibit's units follow each other)
BATCH_NOTE = "batch"  # details key of the batch's own 'note' entries
INSERT_FILES = f"INSERT INTO files ({', '.join(FILE_COLUMNS)}) VALUES ({', '.join('?' * len(FILE_COLUMNS))})"


# -- compute halves (run in workers) -------------------------------------------------------
_OPEN: OrderedDict[tuple[str, Credentials, tuple[Any, ...]], Any] = OrderedDict()


@contextmanager
def _evidence(path: str, credentials: Credentials, **registered: Any) -> Iterator[Any]:
    """The evidence, opened read-only once per worker and kept for its next units (as one
    ``case process`` keeps it for the check before, the walk and the check after).
    ``registered``: name_encoding / source_tz as the exhibit was registered (``open_exhibit``)."""
    key = (path, credentials, tuple(sorted(registered.items())))
    ev = _OPEN.pop(key, None) or open_evidence(path, credentials, **registered)
    try:
        yield ev
    except BaseException:
        ev.close()  # not kept: whatever failed may have left it in a bad state
        raise
    _OPEN[key] = ev
    while len(_OPEN) > KEEP_OPEN:
        _OPEN.popitem(last=False)[1].close()


def _never() -> None:
    return None


def examine(path: str, credentials: Credentials, exhibit_id: str, seizure: dict[str, Any],
            acquisition: str | None, check: Callable[[], None] = _never) -> dict[str, Any]:
    """Intake's reading part: hash the decoded media, read stored and sidecar hashes, make the row."""
    acq = intake.parse_acquisition_hash(acquisition) if acquisition else None
    with _evidence(path, credentials) as ev:
        digests = intake.media_digests(ev, ALGORITHMS, lambda n: check())
        stored = dict(ev.acquisition.stored_hashes) if ev.acquisition else {}
        sidecars, notes = intake.sidecar_hashes(ev)
        row = intake._exhibit_row(exhibit_id, ev, digests, stored, intake.Seizure(**seizure), acq)
    row["sidecar_hashes"] = json.dumps({alg: ref[0] for alg, ref in sidecars.items()}, sort_keys=True)
    extra: dict[str, Any] = {}
    if sidecars:
        extra["sidecars"] = {alg: ref[1] for alg, ref in sidecars.items()}
    if notes:
        extra["sidecar_notes"] = notes
    return {"row": row, "digests": digests, "extra": extra}


@dataclass
class ListingPlan:
    """How an exhibit's inventory is cut into units: per volume, whole or in segment groups."""

    volumes: list[Any]
    format_chain: list[str]
    parts: list[tuple[str, list[Any] | None]] = field(default_factory=list)  # walk order
    warnings: list[str] = field(default_factory=list)


def plan_listing(path: str, credentials: Credentials, units_per_volume: int,
                 check: Callable[[], None] = _never, trees_per_unit: int = 8) -> ListingPlan:
    """The walk plan of ``files -j`` (``reader.plan``), grouped into about ``units_per_volume`` parts.

    ``trees_per_unit``: subtrees the plan looks for per part; the fewer, the shallower (cheaper)
    the plan's own walk of the top directories, the coarser the parts.

    Concatenating the parts' rows in this order gives exactly the rows of one serial walk.
    """
    with _evidence(path, credentials) as ev:
        plan = ListingPlan(list(ev.volumes), list(ev.format_chain))
        for name, reader in ev.readers():
            seen = len(reader.warnings)
            if units_per_volume > 1 and hasattr(reader, "plan") and reader.size_hint() >= MIN_INODES:
                segments = reader.plan(units_per_volume * trees_per_unit)
                size = max(1, -(-len(segments) // units_per_volume))
                plan.parts += [(name, segments[i:i + size]) for i in range(0, len(segments), size)]
            else:
                plan.parts.append((name, None))
            plan.warnings += reader.warnings[seen:]
            check()
        plan.warnings += ev.warnings
    return plan


def list_part(path: str, credentials: Credentials, volume: str, segments: list[Any] | None,
              hashes: tuple[str, ...], check: Callable[[], None] = _never,
              media_before: dict[str, Any] | None = None, before_check: Callable[[], None] = _never
              ) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Rows (without exhibit and seq) of one part of the walk, with the reader's warnings.

    ``media_before`` (``token``, ``algorithms``): first start the media hash of the check before
    in this worker's background thread (``batch.media_hash``; ``before_check``: its time-out), as
    ``case process`` hashes beside its walk; the coordinator asks for it when it has one worker."""
    from evidencekit.inventory import hash_entries

    with _evidence(path, credentials) as ev:
        if media_before:
            from evidencekit.batch import media_hash

            media_hash.start(media_before["token"], ev, media_before["algorithms"], before_check, check)
        reader = ev.reader(volume)
        seen = len(reader.warnings)
        if segments is None:
            entries: Iterable[Any] = reader.entries(ev.path)
        else:
            entries = (e for seg in segments for e in reader.segment_entries(ev.path, seg))
        rows, _ = RowTails()(list(hash_entries(_checked(entries, check), hashes)))
        return rows, reader.warnings[seen:]


def _checked(entries: Iterable[Any], check: Callable[[], None]) -> Iterator[Any]:
    for entry in entries:
        check()
        yield entry


def media(path: str, credentials: Credentials, algorithms: list[str], check: Callable[[], None] = _never,
          token: str | None = None) -> tuple[dict[str, str], bool]:
    """Digests of the decoded media (the integrity gate's reading part; ``batch.media_hash``), and
    whether they were hashed beside the walk."""
    from evidencekit.batch import media_hash

    return media_hash.media(path, credentials, algorithms, check, token, _evidence)


def content_scan(path: str, credentials: Credentials, registered: dict[str, Any], rules: str | None,
                 timeout: int, check: Callable[[], None] = _never) -> Any:
    """The content pass of ``scan types`` / ``scan yara`` over the evidence (``batch.analysis``)."""
    from evidencekit.batch.analysis import content_pass, scan_entries

    content = content_pass(rules, timeout)
    with _evidence(path, credentials, **registered) as ev:
        return scan_entries(content, ev.entries(), check)


def plaso_run(source: str, kind: str, workdir: str, artifacts: str, timeout: float | None) -> Any:
    """log2timeline + psort into ``workdir``: the batch's work folder, never the case (the
    coordinator moves the storage file into the case: :func:`place_plaso`)."""
    from evidencekit.timeline.plaso import run_plaso

    archives = "zip,tar" if kind in ("zip", "tar") else None
    return run_plaso(Path(source), Path(workdir), artifacts, archives, 1, timeout, image=kind == "disk_image")


def place_plaso(case: Case, exhibit_id: str, run: Any) -> Any:
    """Move a worker's plaso storage (and its logs) from the work folder into the case's
    ``timeline/plaso/<exhibit>/``, checking it is the file the worker hashed; the JSON lines stay
    in the work folder until imported."""
    import shutil
    from dataclasses import replace

    from evidencekit.hashing import sha256_file
    from evidencekit.pipeline.timeline import plaso_workdir as workdir

    if not run.storage.is_file():
        return run
    dest = workdir(case.root, exhibit_id)
    dest.mkdir(parents=True, exist_ok=True)
    stem = run.storage.stem
    for part in sorted(run.storage.parent.glob(stem + ".*")):
        if part != run.jsonl:
            shutil.move(str(part), str(dest / part.name))
    placed = replace(run, storage=dest / run.storage.name)
    if run.storage_sha256 and sha256_file(placed.storage) != run.storage_sha256:
        raise CaseError("{storage}: not the plaso storage the worker wrote (sha256 differs); not imported",
                        storage=placed.storage)
    return placed


# -- what the coordinator needs to know ------------------------------------------------------
def gate_algorithms(case: Case, exhibit_id: str) -> list[str]:
    return process.gate_algorithms(case.exhibit(exhibit_id))


def tidy_work(folder: Path, work: Path) -> None:
    """Remove a unit's folder and its parents up to the work folder, once they are empty."""
    while folder != work and work in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty (or already gone): leave it
            return
        folder = folder.parent
    with suppress(OSError):
        work.rmdir()


def plaso_workdir(work: Path, case: Case, exhibit_id: str) -> str:
    """A unit's folder in the batch's work folder (shared storage, writable by the workers)."""
    return str(work / case.id / exhibit_id.replace("/", "_") / "plaso")


def remove_work(work: Path, case: Case, exhibit_id: str) -> None:
    """Remove an exhibit's folder from the work folder (and the parents it leaves empty)."""
    import shutil

    folder = Path(plaso_workdir(work, case, exhibit_id)).parent
    if folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        tidy_work(folder.parent, work)


def registered_path(case: Case, exhibit_id: str) -> str | None:
    row = case.db.execute("SELECT path FROM exhibits WHERE id = ?", (exhibit_id,)).fetchone()
    return row[0] if row else None


def step_done(case: Case, exhibit_id: str, step: str) -> bool:
    """Whether a step is finished in the case, whoever did it (so a rerun or a resume skips it)."""
    row = case.db.execute("SELECT status FROM exhibits WHERE id = ?", (exhibit_id,)).fetchone()
    if step == "intake" or row is None:
        return row is not None
    if step == "process":
        return bool(row[0] == "processed")
    processed = _last_seq(case, exhibit_id, lambda action, details: action == "processed")
    finished = _last_seq(case, exhibit_id, lambda action, details: action == "note"
                         and details.get(BATCH_NOTE, {}).get("step") == "timeline")
    return finished > processed > 0


def processed_seq(case: Case, exhibit_id: str) -> int:
    return _last_seq(case, exhibit_id, lambda action, details: action == "processed")


def _last_seq(case: Case, exhibit_id: str, match: Any) -> int:
    last = 0
    for seq, action, body in case.db.execute("SELECT seq, action, body FROM ledger WHERE exhibit = ? ORDER BY seq",
                                             (exhibit_id,)):
        if match(action, json.loads(body).get("details", {})):
            last = seq
    return last


def _note(case: Case, examiner: Examiner, exhibit_id: str | None, details: dict[str, Any]) -> None:
    """The batch's record in the ledger; the caller holds the write transaction."""
    ledger.append(case.db, case.id, examiner, "note", exhibit=exhibit_id, details={BATCH_NOTE: details})


def record_note(case: Case, examiner: Examiner, exhibit_id: str | None, details: dict[str, Any]) -> None:
    """A step's batch note in its own transaction (steps recorded by a library call of their own)."""
    with case.transaction(wait=True):
        _note(case, examiner, exhibit_id, details)


def record_batch(case: Case, examiner: Examiner, details: dict[str, Any]) -> None:
    """One entry per run and case: manifest hash, executor kind, worker hosts."""
    with case.transaction(wait=True):
        _note(case, examiner, None, details)


# -- store halves (coordinator) -------------------------------------------------------------
def store_intake(case: Case, examiner: Examiner, examined: dict[str, Any], note: dict[str, Any]) -> dict[str, Any]:
    """Record the exhibit and its 'received' entry (mirrors ``intake._register``)."""
    row, digests = dict(examined["row"]), examined["digests"]
    exhibit_id = row["id"]
    if case.db.execute("SELECT 1 FROM exhibits WHERE id = ?", (exhibit_id,)).fetchone():
        raise CaseError("{root}: exhibit {exhibit_id} is already registered", root=case.root,
                        exhibit_id=exhibit_id)
    refs = [r for r in intake.reference_hashes(intake._RowView(row)) if r.origin != "registered"]
    mismatches = IntegrityCheck("intake", tuple(refs), digests).mismatches
    seizure = ("description", "seal", "seized_from", "seized_at", "seized_on", "received_from")
    details = {k: row[k] for k in seizure if row.get(k)}
    details.update(path=row["path"], kind=row["kind"], format_chain=json.loads(row["format_chain"]),
                   media_size=row["media_size"],
                   acquisition_check=("mismatch" if mismatches else "match") if refs else "no acquisition hash",
                   mismatches=mismatches, **examined["extra"])
    inputs = {"media_" + k: v for k, v in digests.items()}
    inputs.update({f"{r.origin}_{r.algorithm}": r.value for r in refs})
    with case.transaction(wait=True) as db:
        db.execute(f"INSERT INTO exhibits ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                   tuple(row.values()))
        ledger.append(db, case.id, examiner, "received", exhibit=exhibit_id, details=details, inputs=inputs)
        _note(case, examiner, exhibit_id, note)
    return {"exhibit": exhibit_id, "acquisition_check": details["acquisition_check"], "mismatches": mismatches}


def store_processed(case: Case, examiner: Examiner, exhibit_id: str, plan: ListingPlan, staged: Any,
                    before: dict[str, str], after: dict[str, str], hashes: tuple[str, ...],
                    note: dict[str, Any]) -> dict[str, Any]:
    """Rows, checks and entries of ``case process`` in one transaction (mirrors ``process_exhibit``)."""
    exhibit = case.exhibit(exhibit_id)
    run_id = process._claim(case, exhibit_id, False)
    if run_id is None:
        return {"exhibit": exhibit_id, "status": "already processed"}
    try:
        with case.transaction(wait=True) as db:
            db.execute("DELETE FROM files WHERE exhibit = ?", (exhibit_id,))
            staged.copy_into_files(db)  # batch.staging: numbered and digested as the parts came
            encoder = staged.encoder
            checked = process._gate_before(case, exhibit, examiner, before, None)
            again = process.gate("after", references_from("before", checked.got), after)
            if again.result == "mismatch":
                raise process._Stop(again)
            ev = SimpleNamespace(volumes=plan.volumes, format_chain=plan.format_chain)
            summary = process._record(case, exhibit, examiner, run_id, ev, encoder, checked, again, hashes)
            _note(case, examiner, exhibit_id, note)
            return summary
    except process._Stop as stop:  # rolled back: record the failed check alone, as case process does
        process._abandon(case, run_id)
        process._record_failed(case, exhibit, examiner, stop.gate)
        raise CaseError(process._stop_message(exhibit, stop.gate)) from None
    except BaseException:
        process._abandon(case, run_id)
        raise


def timeline_fs(case: Case, examiner: Examiner, exhibit_id: str, now_ns: int) -> dict[str, Any]:
    from evidencekit.pipeline.timeline import build_fs

    return _part(build_fs(case, exhibit_id, examiner, now_ns))


def timeline_plaso(case: Case, examiner: Examiner, exhibit_id: str, run: Any, artifacts: str,
                   now_ns: int) -> dict[str, Any]:
    from evidencekit.pipeline.timeline import build_plaso

    return _part(build_plaso(case, exhibit_id, examiner, artifacts, now_ns=now_ns, run=run))


def timeline_native(case: Case, examiner: Examiner, exhibit_id: str, now_ns: int, note: dict[str, Any],
                    credentials: Credentials | None = None) -> dict[str, Any] | None:
    """Native artefacts (read here: small files of folder/archive exhibits), then the step's note."""
    from evidencekit.pipeline.timeline import build_native

    part = build_native(case, exhibit_id, examiner, now_ns, credentials)
    with case.transaction(wait=True):
        _note(case, examiner, exhibit_id, note)
    return _part(part) if part is not None else None


def _part(part: Any) -> dict[str, Any]:
    return {"source": part.source, "events": part.events, "warnings": list(part.warnings)}


def now_ns() -> int:
    return time.time_ns()
