"""Building a case's timeline: file system events from the inventory, artefact events from plaso
and the native readers, each part one custody action through the case's run context.

Each part (``analysed``, with ``details.analysis`` ``timeline:fs``, ``timeline:plaso`` or
``timeline:native``) commits in the same transaction as the events it describes. A rebuild replaces
that exhibit's events of that source. A plaso failure (absent, crash, unparseable exhibit) is a
recorded warning: the file system part is built regardless, and a corrupt event never aborts the
build."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from evidencekit.errors import ValidationError
from evidencekit.sources.base import Credentials
from evidencekit.timeline import store
from evidencekit.timeline.anomalies import AnomalyContext, event_future
from evidencekit.timeline.apps import read_apps
from evidencekit.timeline.build import PartResult, _with_cache, fs_created, reference_time
from evidencekit.timeline.events import SOURCE_FS, SOURCE_PLASO, TimelineEvent
from evidencekit.timeline.fs_sql import insert_fs_events
from evidencekit.timeline.native import SOURCE_NATIVE, read_native, reader_names
from evidencekit.timeline.plaso import PlasoRun, run_plaso, storage_warnings
from evidencekit.timeline.plaso_import import backup_names, read_jsonl, real_name


def timeline(case: Any, *, start: int | None = None, end: int | None = None, exhibit: str | None = None,
             source: str | None = None, grep: str | None = None, flagged: bool = False,
             limit: int | None = None) -> Iterator[TimelineEvent]:
    """The case's events in time order, filtered; ``start``/``end`` are ns UTC (end exclusive).

    An ``exhibit`` the case does not have, or a ``source`` that is neither a kind (fs, plaso,
    native) nor a parser of the timeline, is a ValidationError naming those that exist."""
    q = store.Query(start, end, exhibit, source, grep, flagged, limit)
    check_selection(case, q)
    return store.query(case.db, q)


def check_selection(case: Any, q: store.Query) -> None:
    """ValidationError when ``q.exhibit`` or ``q.source`` can match nothing, naming what exists."""
    store.check_selection(case.db, str(case.root), [ex.id for ex in case.exhibits()], q)


def build(case: Any, examiner: Any, exhibits: list[str] | None = None, artifacts: str = "default",
          workers: int = 1, timeout: float | None = None, year: int | None = None,
          progress: Callable[[int, int], None] | None = None,
          credentials: Credentials | None = None) -> list[tuple[str, PartResult]]:
    """File system timeline of each exhibit, then plaso and native artefacts unless ``artifacts`` is "none".

    ``credentials``: for the native readers on an encrypted backup or volume (checked, never stored).

    ``year``: the year plaso gives timestamps that carry none (syslog); recorded in the ledger.
    ``progress(done, total)``: parts built (file system, plaso, native: three per exhibit, one
    with ``artifacts`` "none"), called after each, a native part with nothing to read included."""
    ids = exhibits or [ex.id for ex in case.exhibits()]
    if not ids:
        raise ValidationError("{path}: the case has no exhibits to build a timeline of", path=case.root)
    now = time.time_ns()
    results: list[tuple[str, PartResult]] = []
    with_artifacts = artifacts.lower() != "none"
    total, done = len(ids) * (3 if with_artifacts else 1), 0

    def built(part: PartResult | None) -> None:
        nonlocal done
        done += 1
        if part is not None:
            results.append((exhibit_id, part))
        if progress:
            progress(done, total)

    for exhibit_id in ids:
        built(build_fs(case, exhibit_id, examiner, now))
        if with_artifacts:
            built(build_plaso(case, exhibit_id, examiner, artifacts, workers, timeout, now, year))
            built(build_native(case, exhibit_id, examiner, now, credentials))
    return results


def acquisition_date(path: str) -> str | None:
    """The acquisition date an evidence container (E01) records, if any."""
    from evidencekit.errors import EvidenceKitError
    from evidencekit.sources import open_evidence

    try:
        with open_evidence(path) as ev:
            return ev.acquisition.acquisition_date if ev.acquisition else None
    except EvidenceKitError:
        return None


def rename_ios(db: sqlite3.Connection, run: int, names: dict[str, str], exhibit: str) -> int:
    """Give the file system run's events of iOS backup files their real domain/path (hashed name kept in extra)."""
    renamed = []
    # exhibit and source first: the (exhibit, source) index finds the run's events without a scan of the timeline
    for eid, path, extra in db.execute("SELECT id, path, extra FROM timeline_events WHERE exhibit = ? AND source = ? "
                                       "AND run = ?", (exhibit, SOURCE_FS, run)):
        real = real_name(path, names)
        if real is not None:
            renamed.append((real, json.dumps({**json.loads(extra or "{}"), "backup_path": path}), eid))
    db.executemany("UPDATE timeline_events SET path = ?, extra = ? WHERE id = ?", renamed)
    return len(renamed)


def exhibit_acquired(exhibit: Any) -> str | None:
    """The container's acquisition date (only EWF carries one; other formats are not opened)."""
    return acquisition_date(exhibit.path) if "ewf" in exhibit.format_chain else None


def build_fs(case: Any, exhibit_id: str, examiner: Any, now_ns: int | None = None) -> PartResult:
    """File system events of one exhibit from its inventory, in one custody action."""
    exhibit = case.exhibit(exhibit_id)
    now_ns = now_ns or time.time_ns()
    ref, ref_source = reference_time(exhibit_acquired(exhibit), exhibit.seized_on, now_ns)
    ctx = AnomalyContext(ref, ref_source, fs_created(case.db, exhibit_id))
    names = backup_names(Path(exhibit.path)) if exhibit.kind in ("directory", "zip", "tar") else {}
    result = PartResult(SOURCE_FS)
    with case.run("analysed", examiner=examiner, exhibit=exhibit_id) as act:
        replaced, superseded = store.replace_source(act.db, exhibit_id, SOURCE_FS)
        act.outputs.update(superseded)
        run = store.start_run(act.db, exhibit_id, SOURCE_FS, now_ns)
        result.events = _with_cache(act.db, lambda: insert_fs_events(act.db, run, exhibit_id, ctx))
        renamed = rename_ios(act.db, run, names, exhibit_id) if names else 0
        if result.events == 0:
            msg = f"exhibit {exhibit_id}: no inventory rows with times; process the exhibit first"
            store.add_warning(act.db, run, exhibit_id, SOURCE_FS, msg)
            result.warnings.append(msg)
        flagged = act.db.execute("SELECT count(*) FROM timeline_events WHERE exhibit = ? AND source = ? AND run = ? "
                                 "AND flags != ''", (exhibit_id, SOURCE_FS, run)).fetchone()[0]
        result.details = {"analysis": "timeline:fs", "source": SOURCE_FS, "run": run, "events": result.events,
                          "flagged": flagged, "replaced_events": replaced, "anomaly_reference": ctx.to_details(),
                          "ios_backup_names": len(names), "ios_renamed_events": renamed,
                          "warnings": result.warnings}
        store.finish_run(act.db, run, result.events, result.details)
        act.details.update(result.details)
        act.outputs[store.run_output(run)] = store.run_digest(act.db, run)
    return result


def build_plaso(case: Any, exhibit_id: str, examiner: Any, artifacts: str = "default", workers: int = 1,
                timeout: float | None = None, now_ns: int | None = None, year: int | None = None,
                run: PlasoRun | None = None) -> PartResult:
    """Run plaso over the exhibit and import its events, in one custody action.

    ``run``: a plaso run already made (by a batch worker, into :func:`plaso_workdir`) to import."""
    started = time.monotonic()
    exhibit = case.exhibit(exhibit_id)
    now_ns = now_ns or time.time_ns()
    ref, ref_source = reference_time(exhibit_acquired(exhibit), exhibit.seized_on, now_ns)
    ctx = AnomalyContext(ref, ref_source)
    source = Path(exhibit.path)
    archives = "zip,tar" if exhibit.kind in ("zip", "tar") else None
    if run is None:
        run = run_plaso(source, plaso_workdir(case.root, exhibit_id), artifacts, archives, workers, timeout,
                        image=exhibit.kind == "disk_image", year=year)
    names = backup_names(source) if exhibit.kind in ("directory", "zip", "tar") else {}
    root = str(source) if exhibit.kind == "directory" else None
    result = PartResult(SOURCE_PLASO)
    inputs = {"plaso_storage_sha256": run.storage_sha256} if run.storage_sha256 else {}
    with case.run("analysed", examiner=examiner, exhibit=exhibit_id, inputs=inputs) as act:
        replaced, superseded = store.replace_source(act.db, exhibit_id, SOURCE_PLASO)
        act.outputs.update(superseded)
        rid = store.start_run(act.db, exhibit_id, SOURCE_PLASO, now_ns)
        result.events, result.warnings = _import_events(act.db, rid, run, exhibit_id, str(source), root, ctx,
                                                        names)
        plaso_warnings = _import_storage_warnings(act.db, rid, exhibit_id, run.storage)
        result.details = {**run.details(), "analysis": "timeline:plaso", "source": SOURCE_PLASO, "run": rid,
                          "events": result.events, "replaced_events": replaced, "plaso_warnings": plaso_warnings,
                          "ios_backup_names": len(names), "preferred_year": year, "warnings": result.warnings}
        # The whole part (plaso, import, warnings) against plaso's own time: our overhead.
        result.details["seconds"] = {**run.seconds, "part_total": round(time.monotonic() - started, 3)}
        store.finish_run(act.db, rid, result.events, result.details)
        act.details.update(result.details)
        act.outputs[store.run_output(rid)] = store.run_digest(act.db, rid)
        if run.storage_sha256:
            act.outputs[str(run.storage.relative_to(case.root))] = run.storage_sha256
    if run.jsonl.is_file():
        run.jsonl.unlink()  # an intermediate: its content is now in the case, the .plaso is kept
    return result


def plaso_workdir(case_root: Path, exhibit_id: str) -> Path:
    """Where an exhibit's plaso storage files are kept in the case."""
    return case_root / "timeline" / "plaso" / exhibit_id


def build_native(case: Any, exhibit_id: str, examiner: Any, now_ns: int | None = None,
                 credentials: Credentials | None = None) -> PartResult | None:
    """Artefacts read by evidencekit itself (native readers), in one custody action; None (and no
    ledger entry) when the exhibit holds none of them and has no earlier native events."""
    from dataclasses import replace

    exhibit = case.exhibit(exhibit_id)
    now_ns = now_ns or time.time_ns()
    ref, ref_source = reference_time(exhibit_acquired(exhibit), exhibit.seized_on, now_ns)
    ctx = AnomalyContext(ref, ref_source)
    result = PartResult(SOURCE_NATIVE)
    found = [replace(ev, flags=event_future(ev.time, ctx)) for ev in _native_events(case, exhibit, result.warnings, credentials)]
    if not found and not result.warnings and not store.count(case.db, store.Query(exhibit=exhibit_id,
                                                                                  source=SOURCE_NATIVE)):
        return None
    with case.run("analysed", examiner=examiner, exhibit=exhibit_id) as act:
        replaced, superseded = store.replace_source(act.db, exhibit_id, SOURCE_NATIVE)
        act.outputs.update(superseded)
        rid = store.start_run(act.db, exhibit_id, SOURCE_NATIVE, now_ns)
        result.events = store.insert_events(act.db, rid, found)
        for msg in result.warnings:
            store.add_warning(act.db, rid, exhibit_id, SOURCE_NATIVE, msg)
        result.details = {"analysis": "timeline:native", "source": SOURCE_NATIVE, "run": rid,
                          "events": result.events, "replaced_events": replaced, "readers": reader_names(),
                          "files": sorted({ev.path: ev.sha256 for ev in found}.items()),
                          "anomaly_reference": ctx.to_details(), "warnings": result.warnings}
        store.finish_run(act.db, rid, result.events, result.details)
        act.details.update(result.details)
        act.outputs[store.run_output(rid)] = store.run_digest(act.db, rid)
    return result


def _native_events(case: Any, exhibit: Any, warnings: list[str],
                   credentials: Credentials | None = None) -> list[TimelineEvent]:
    """iOS backup artefacts (folder, zip, tar) and app databases the inventory lists (any exhibit)."""
    from evidencekit.pipeline.exhibits import open_exhibit

    found = []
    if exhibit.kind in ("directory", "zip", "tar"):
        found += list(read_native(Path(exhibit.path), exhibit.kind, exhibit.id, warnings))
    found += list(read_apps(case.db, exhibit.id, exhibit.kind, lambda: open_exhibit(exhibit, credentials), warnings,
                            credentials_given=bool(credentials and (credentials.password or credentials.recovery_key))))
    return found


def _import_events(db: sqlite3.Connection, rid: int, run: PlasoRun, exhibit_id: str, evidence: str,
                   root: str | None, ctx: AnomalyContext, names: dict[str, str]) -> tuple[int, list[str]]:
    """Insert the events of a plaso run; (count, warnings). Failures and bad lines become warnings."""
    bad: list[str] = []
    count = 0
    warnings: list[str] = []
    if run.ok:
        count = store.insert_events(db, rid, read_jsonl(run.jsonl, exhibit_id, evidence, root, ctx, names, bad))
    else:
        warnings.append(f"plaso: {run.reason}; file system timeline unaffected")
    warnings += bad[:100] + ([f"... and {len(bad) - 100} more undecodable lines"] if len(bad) > 100 else [])
    for msg in warnings:
        store.add_warning(db, rid, exhibit_id, SOURCE_PLASO, msg)
    return count, warnings


def _import_storage_warnings(db: sqlite3.Connection, run: int, exhibit: str, storage: Path) -> int:
    if not storage.is_file():
        return 0
    count = 0
    for chain, spec, message in storage_warnings(storage):
        store.add_warning(db, run, exhibit, f"plaso:{chain}", message, spec or None)
        count += 1
    return count
