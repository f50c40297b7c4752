"""Build a case's timeline: file system events from the inventory, artefact events from plaso.

Each part is one custody action (``analysed``, with ``details.analysis`` ``timeline:fs`` or
``timeline:plaso``) whose ledger entry commits
in the same transaction as the events it describes. A rebuild replaces that exhibit's events of
that source. A plaso failure (absent, crash, unparseable exhibit) is a recorded warning: the
file system part is built regardless, and a corrupt event never aborts the build.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidencekit.models import FileRecord, Locator, parse_iso_utc
from evidencekit.timeline import store
from evidencekit.timeline.anomalies import AnomalyContext, event_future, scan_fs_created
from evidencekit.timeline.events import SOURCE_FS, SOURCE_PLASO
from evidencekit.timeline.fs_sql import insert_fs_events
from evidencekit.timeline.native import READERS, SOURCE_NATIVE, read_native
from evidencekit.timeline.plaso import PlasoRun, run_plaso, storage_warnings
from evidencekit.timeline.plaso_import import backup_names, read_jsonl, real_name

RECORD_FIELDS = (
    "id", "volume", "path", "inode", "stream", "type", "deleted", "orphan", "size", "filesystem", "mode",
    "uid", "gid", "link_target", "mtime", "atime", "ctime", "crtime", "dtime", "fn_mtime", "fn_atime",
    "fn_ctime", "fn_crtime", "time_digits", "assumed_zone", "md5", "sha1", "sha256", "locator", "warnings",
)
FS_ROOTS = ("/", "/$MFT", "/$Volume", "/lost+found")


@dataclass
class PartResult:
    """What one part of a build did: events written, warnings recorded, its ledger details."""

    source: str
    events: int = 0
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def records_from_case(db: sqlite3.Connection, exhibit: str, paths: tuple[str, ...] = ()
                      ) -> Iterator[tuple[int, FileRecord]]:
    """The exhibit's inventory rows as (files.id, FileRecord), in walk order (only ``paths`` if given)."""
    sql = f"SELECT {', '.join(RECORD_FIELDS)} FROM files WHERE exhibit = ?"
    if paths:
        sql += f" AND path IN ({','.join('?' * len(paths))})"
    cur = db.execute(sql + " ORDER BY seq", (exhibit, *paths))
    while rows := cur.fetchmany(5000):
        for row in rows:
            yield _record(row)


def _record(row: tuple[Any, ...]) -> tuple[int, FileRecord]:
    data = dict(zip(RECORD_FIELDS, row, strict=True))
    fid = data.pop("id")
    data["stream"] = data["stream"] or None
    data["deleted"], data["orphan"] = bool(data["deleted"]), bool(data["orphan"])
    data["locator"] = Locator.from_json(data["locator"])
    data["warnings"] = tuple(json.loads(data["warnings"] or "[]"))
    return fid, FileRecord(**data)


def fs_created(db: sqlite3.Connection, exhibit: str) -> dict[str, int]:
    """Per volume, the file system's creation time (see anomalies.before_fs_created)."""
    return scan_fs_created(rec for _, rec in records_from_case(db, exhibit, FS_ROOTS))


def reference_time(acquired: str | None, seized_on: str | None, now_ns: int) -> tuple[int, str]:
    """The "future" reference: acquisition date, else seizure date/time, else the build time."""
    for text, label in ((acquired, "acquisition date"), (seized_on, "seizure date")):
        value = parse_loose((text or "").strip())
        if value is not None:
            return value, label
    return now_ns, "build time"


def parse_loose(text: str) -> int | None:
    """ns UTC from ISO-8601, a date (end of that day) or ctime form ("Sun Jun 20 09:30:00 2021",
    as E01 headers store it; read as UTC); None when unparseable."""
    if not text:
        return None
    if len(text) > 10:
        try:
            return parse_iso_utc(text)
        except ValueError:
            pass
    for fmt, day_end in (("%a %b %d %H:%M:%S %Y", False), ("%Y-%m-%d", True)):
        try:
            dt = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return int(dt.timestamp()) * 1_000_000_000 + (86_400 * 1_000_000_000 - 1 if day_end else 0)
    return None


def acquisition_date(path: str) -> str | None:
    """The acquisition date an evidence container (E01) records, if any."""
    from evidencekit import open_evidence
    from evidencekit.errors import EvidenceKitError

    try:
        with open_evidence(path) as ev:
            return ev.acquisition.acquisition_date if ev.acquisition else None
    except EvidenceKitError:
        return None


def rename_ios(db: sqlite3.Connection, run: int, names: dict[str, str]) -> int:
    """Give the run's events of iOS backup files their real domain/path (hashed name kept in extra)."""
    renamed = []
    for eid, path, extra in db.execute("SELECT id, path, extra FROM timeline_events WHERE run = ?", (run,)):
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
    store.ensure_schema(case.db)
    ctx = AnomalyContext(ref, ref_source, fs_created(case.db, exhibit_id))
    names = backup_names(Path(exhibit.path)) if exhibit.kind in ("directory", "zip", "tar") else {}
    result = PartResult(SOURCE_FS)
    with case.action("analysed", examiner=examiner, exhibit=exhibit_id) as act:
        replaced, superseded = store.replace_source(act.db, exhibit_id, SOURCE_FS)
        act.outputs.update(superseded)
        run = store.start_run(act.db, exhibit_id, SOURCE_FS, now_ns)
        result.events = _with_cache(act.db, lambda: insert_fs_events(act.db, run, exhibit_id, ctx))
        renamed = rename_ios(act.db, run, names) if names else 0
        if result.events == 0:
            msg = f"exhibit {exhibit_id}: no inventory rows with times; process the exhibit first"
            store.add_warning(act.db, run, exhibit_id, SOURCE_FS, msg)
            result.warnings.append(msg)
        flagged = act.db.execute("SELECT count(*) FROM timeline_events WHERE run = ? AND flags != ''",
                                 (run,)).fetchone()[0]
        result.details = {"analysis": "timeline:fs", "source": SOURCE_FS, "run": run, "events": result.events,
                          "flagged": flagged, "replaced_events": replaced, "anomaly_reference": ctx.to_details(),
                          "ios_backup_names": len(names), "ios_renamed_events": renamed,
                          "warnings": result.warnings}
        store.finish_run(act.db, run, result.events, result.details)
        act.details.update(result.details)
        act.outputs[store.run_output(run)] = store.run_digest(act.db, run)
    return result


def _with_cache(db: sqlite3.Connection, work: Callable[[], int], kib: int = 65_536) -> int:
    """Run ``work`` with a larger page cache (index inserts in time order are random writes)."""
    before = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = -{kib}")
    try:
        return work()
    finally:
        db.execute(f"PRAGMA cache_size = {int(before)}")


def build_plaso(case: Any, exhibit_id: str, examiner: Any, artifacts: str = "default", workers: int = 1,
                timeout: float | None = None, now_ns: int | None = None, year: int | None = None,
                run: PlasoRun | None = None) -> PartResult:
    """Run plaso over the exhibit and import its events, in one custody action.

    ``run``: a plaso run already made (by a batch worker, with :func:`plaso_workdir`) to import."""
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
    store.ensure_schema(case.db)
    result = PartResult(SOURCE_PLASO)
    inputs = {"plaso_storage_sha256": run.storage_sha256} if run.storage_sha256 else {}
    with case.action("analysed", examiner=examiner, exhibit=exhibit_id, inputs=inputs) as act:
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


def build_native(case: Any, exhibit_id: str, examiner: Any, now_ns: int | None = None) -> PartResult | None:
    """Artefacts read by evidencekit itself (native.READERS), in one custody action; None (and no
    ledger entry) when the exhibit holds none of them and has no earlier native events."""
    from dataclasses import replace

    exhibit = case.exhibit(exhibit_id)
    if exhibit.kind not in ("directory", "zip", "tar"):
        return None
    now_ns = now_ns or time.time_ns()
    ref, ref_source = reference_time(exhibit_acquired(exhibit), exhibit.seized_on, now_ns)
    ctx = AnomalyContext(ref, ref_source)
    result = PartResult(SOURCE_NATIVE)
    found = [replace(ev, flags=event_future(ev.time, ctx))
             for ev in read_native(Path(exhibit.path), exhibit.kind, exhibit_id, result.warnings)]
    store.ensure_schema(case.db)
    if not found and not result.warnings and not store.count(case.db, store.Query(exhibit=exhibit_id,
                                                                                  source=SOURCE_NATIVE)):
        return None
    with case.action("analysed", examiner=examiner, exhibit=exhibit_id) as act:
        replaced, superseded = store.replace_source(act.db, exhibit_id, SOURCE_NATIVE)
        act.outputs.update(superseded)
        rid = store.start_run(act.db, exhibit_id, SOURCE_NATIVE, now_ns)
        result.events = store.insert_events(act.db, rid, found)
        for msg in result.warnings:
            store.add_warning(act.db, rid, exhibit_id, SOURCE_NATIVE, msg)
        result.details = {"analysis": "timeline:native", "source": SOURCE_NATIVE, "run": rid,
                          "events": result.events, "replaced_events": replaced, "readers": sorted(READERS),
                          "files": sorted({ev.path: ev.sha256 for ev in found}.items()),
                          "anomaly_reference": ctx.to_details(), "warnings": result.warnings}
        store.finish_run(act.db, rid, result.events, result.details)
        act.details.update(result.details)
        act.outputs[store.run_output(rid)] = store.run_digest(act.db, rid)
    return result


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
