"""Timeline tables in the case database (schema: ``timeline/schema.py``): write events, replace a
build, query by time. Times are int nanoseconds UTC; the ``time`` index serves range queries and time-ordered exports without a
sort; ``(source, entry)`` serves bodyfile exports, which group the events of one entry.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from evidencekit.errors import ValidationError
from evidencekit.hashing import RowDigest, canonical_json  # noqa: F401 - canonical_json re-exported
from evidencekit.models import Locator
from evidencekit.timeline.events import SOURCE_FS, TimelineEvent

COLUMNS = (
    "run", "time", "digits", "exhibit", "volume", "path", "stream", "inode", "source", "parser",
    "timestamp_desc", "macb", "attribute", "message", "sha256", "locator", "deleted", "orphan", "type",
    "size", "mode", "uid", "gid", "link_target", "assumed_zone", "flags", "entry", "extra",
)
_INSERT = f"INSERT INTO timeline_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
# File system events store only what is theirs (time, meaning, flags, path, stream) and name
# their inventory row in ``entry``; the file's other columns come from ``files`` when read.
_FROM_FILES = ("volume", "inode", "sha256", "locator", "deleted", "orphan", "type", "size", "mode", "uid", "gid",
               "link_target", "assumed_zone")
_OWN_COLUMNS = tuple(c for c in COLUMNS if c not in _FROM_FILES)


def _column(name: str) -> str:
    if name in _FROM_FILES:
        return f"CASE WHEN e.source = 'fs' AND f.id IS NOT NULL THEN f.{name} ELSE e.{name} END"
    return f"e.{name}"


_FROM = (" FROM timeline_events e LEFT JOIN files f ON f.id = e.entry AND e.source = 'fs'"
         " AND e.locator IS NULL AND f.exhibit = e.exhibit")
# The file's MD5 (a bodyfile's first column) comes last, after the scan results.
_MD5 = ", CASE WHEN f.id IS NOT NULL THEN f.md5 END"
_SELECT = f"SELECT e.id, {', '.join(_column(c) for c in COLUMNS)}, NULL" + _MD5 + _FROM
# Scan results of the file (scan/ layer's file_scan view), looked up per event (index probes, no
# materialised view): a file system event carries its file's type, YARA rules and hash-set hits.
_SELECT_SCAN = (f"SELECT e.id, {', '.join(_column(c) for c in COLUMNS)}, CASE WHEN f.id IS NOT NULL THEN "
                "(SELECT json_array(s.mime, s.mismatch, s.yara_rules, s.known_bad, s.known_good)"
                " FROM file_scan s WHERE s.file_id = f.id) END" + _MD5 + _FROM)


def _row(run: int | None, ev: TimelineEvent) -> tuple[object, ...]:
    return (
        run, ev.time, ev.time_digits, ev.exhibit, ev.volume, ev.path, ev.stream, ev.inode, ev.source,
        ev.parser, ev.timestamp_desc, ev.macb, ev.attribute, ev.message, ev.sha256, ev.locator.to_json() if ev.locator else None,
        int(ev.deleted), int(ev.orphan), ev.type, ev.size, ev.mode, ev.uid, ev.gid, ev.link_target,
        ev.assumed_zone, ",".join(ev.flags), ev.entry,
        json.dumps(dict(ev.extra), sort_keys=True, default=str) if ev.extra else None,
    )


def start_run(db: sqlite3.Connection, exhibit: str | None, kind: str, started_ns: int) -> int:
    cur = db.execute("INSERT INTO timeline_runs (exhibit, kind, started_ns) VALUES (?, ?, ?)",
                     (exhibit, kind, started_ns))
    return int(cur.lastrowid or 0)


def finish_run(db: sqlite3.Connection, run: int, events: int, details: dict[str, object]) -> None:
    db.execute("UPDATE timeline_runs SET events = ?, details = ? WHERE id = ?",
               (events, json.dumps(details, sort_keys=True, default=str), run))


def insert_events(db: sqlite3.Connection, run: int | None, events: Iterable[TimelineEvent]) -> int:
    """Insert events in batches; returns how many were written."""
    count = 0
    batch: list[tuple[object, ...]] = []
    for ev in events:
        batch.append(_row(run, ev))
        if len(batch) >= 5000:
            db.executemany(_INSERT, batch)
            count += len(batch)
            batch.clear()
    db.executemany(_INSERT, batch)
    return count + len(batch)


def add_warning(db: sqlite3.Connection, run: int | None, exhibit: str | None, source: str,
                message: str, path: str | None = None) -> None:
    db.execute("INSERT INTO timeline_warnings (run, exhibit, source, path, message) VALUES (?, ?, ?, ?, ?)",
               (run, exhibit, source, path, message))


def replace_source(db: sqlite3.Connection, exhibit: str | None, source: str) -> tuple[int, dict[str, None]]:
    """Delete the events of earlier builds of this exhibit and source (a rebuild replaces them).

    Returns how many were deleted and the ledger outputs that mark those builds' run digests
    superseded (``{"db:timeline_runs/<id>": None}``), for the rebuilding action to record.
    """
    runs = [r for (r,) in db.execute("SELECT id FROM timeline_runs WHERE exhibit IS ? AND kind = ?", (exhibit, source))]
    cur = db.execute("DELETE FROM timeline_events WHERE exhibit IS ? AND source = ?", (exhibit, source))
    return cur.rowcount, {run_output(r): None for r in runs}


def run_output(run: int) -> str:
    """The ledger output key of a build's stored rows (custody verify recomputes run_digest)."""
    return f"db:timeline_runs/{run}"


def run_digest(db: sqlite3.Connection, run: str | int) -> str:
    """sha256 of one build's stored rows: its events (id order), then its warnings.

    A file system event is digested by the columns it stores itself; its file's columns (volume,
    inode, hashes, locator, ...) are read from its inventory row, which ``db:files/<exhibit>``
    covers. Other events are digested by every column.
    """
    digest = RowDigest()
    found = db.execute("SELECT exhibit, kind FROM timeline_runs WHERE id = ?", (int(run),)).fetchone()
    exhibit, source = found if found else (None, None)
    # exhibit, source and run are fixed by the WHERE clause (a row whose value changed drops out
    # of the result, which changes the digest), so they are not read.
    columns = [c for c in (_OWN_COLUMNS if source == SOURCE_FS else COLUMNS) if c not in ("run", "exhibit", "source")]
    # A build's events are those of its exhibit and source (a rebuild deletes the earlier ones):
    # that index finds them, in id order, without reading the rest of the timeline.
    cur = db.execute(f"SELECT id, {', '.join(columns)} FROM timeline_events "
                     "WHERE exhibit = ? AND source = ? AND run = ? ORDER BY id", (exhibit, source, int(run)))
    while rows := cur.fetchmany(4096):
        digest.rows(rows)
    warnings = db.execute("SELECT exhibit, source, path, message FROM timeline_warnings WHERE run = ? ORDER BY id",
                          (int(run),)).fetchall()
    digest.value(["warnings", warnings])
    return digest.hexdigest()


@dataclass(frozen=True)
class Query:
    """Filters of a timeline query. Times are ns UTC, ``end`` exclusive."""

    start: int | None = None
    end: int | None = None
    exhibit: str | None = None
    source: str | None = None  # "fs", "plaso", or a plaso parser name (prefix before "/" allowed)
    grep: str | None = None  # case-insensitive substring of path, message or timestamp_desc
    flagged: bool = False
    limit: int | None = None

    def where(self) -> tuple[str, list[object]]:
        clauses: list[str] = []
        args: list[object] = []
        if self.start is not None:
            clauses.append("e.time >= ?")
            args.append(self.start)
        if self.end is not None:
            clauses.append("e.time < ?")
            args.append(self.end)
        if self.exhibit is not None:
            clauses.append("e.exhibit = ?")
            args.append(self.exhibit)
        if self.source:
            clauses.append("(e.source = ? OR e.parser = ? OR e.parser LIKE ? ESCAPE '\\')")
            args += [self.source, self.source, _like_escape(self.source) + "/%"]
        if self.grep:
            pattern = "%" + _like_escape(self.grep) + "%"
            clauses.append("(e.path LIKE ? ESCAPE '\\' OR e.message LIKE ? ESCAPE '\\'"
                           " OR e.timestamp_desc LIKE ? ESCAPE '\\')")
            args += [pattern, pattern, pattern]
        if self.flagged:
            clauses.append("e.flags != ''")
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


SOURCE_KINDS = ("fs", "plaso", "native")


def check_selection(db: sqlite3.Connection, root: str, exhibit_ids: list[str], q: Query) -> None:
    """ValidationError when ``q.exhibit`` is not one of ``exhibit_ids`` or ``q.source`` is neither
    a kind (fs, plaso, native) nor a parser (or parser family) of the stored timeline."""
    if q.exhibit is not None and q.exhibit not in exhibit_ids:
        raise ValidationError("{root}: no exhibit {exhibit!r}; the case has {listing}", root=root,
                              exhibit=q.exhibit, listing=', '.join(exhibit_ids) or 'none')
    if q.source and q.source not in SOURCE_KINDS:
        parsers = sorted({p for (p,) in db.execute("SELECT DISTINCT parser FROM timeline_events") if p})
        if q.source not in set(parsers) | {p.split("/", 1)[0] for p in parsers}:
            raise ValidationError("--source {source!r}: not a kind ({listing}) nor a parser of this "
                                  "timeline ({listing2})", source=q.source,
                                  listing=', '.join(SOURCE_KINDS),
                                  listing2=', '.join(parsers) or 'none yet')


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def from_row(row: tuple[Any, ...]) -> TimelineEvent:
    (eid, _run, time, digits, exhibit, volume, path, stream, inode, source, parser, desc, macb, attribute,
     message, sha256, locator, deleted, orphan, typ, size, mode, uid, gid, link, zone, flags, entry,
     extra, scan, md5) = row
    details = json.loads(str(extra)) if extra else {}
    found = _scan(scan) if scan else None
    if found:
        details["scan"] = found
    return TimelineEvent(
        time=time, timestamp_desc=desc, source=source, path=path, exhibit=exhibit, volume=volume,
        macb=macb, time_digits=digits, parser=parser, attribute=attribute, inode=inode,
        stream=stream, message=message or (_fs_message(desc, attribute, path, deleted) if source == "fs" else ""),
        sha256=sha256, md5=md5, locator=Locator.from_json(locator) if locator else None, deleted=bool(deleted),
        orphan=bool(orphan), type=typ, size=size, mode=mode, uid=uid, gid=gid, link_target=link,
        assumed_zone=zone, flags=tuple(str(flags).split(",")) if flags else (), entry=entry,
        extra=details, id=eid,
    )


def _scan(text: str) -> dict[str, Any] | None:
    mime, mismatch, rules, bad, good = json.loads(text)
    if mime is None and not rules and not bad and not good:
        return None
    return {"mime": mime, "mismatch": None if mismatch is None else bool(mismatch),
            "yara_rules": rules.split(",") if rules else [], "known_bad": bool(bad), "known_good": bool(good)}


def _fs_message(desc: object, attribute: object, path: object, deleted: object) -> str:
    where = f" [{attribute}]" if attribute else ""
    return f"{desc}{where}: {path}{' (deleted)' if deleted else ''}"


def query(db: sqlite3.Connection, q: Query | None = None, order: str = "time") -> Iterator[TimelineEvent]:
    """Events matching ``q``, streamed from the database (memory does not grow with the result).

    ``order`` is ``"time"`` (time, then insertion order) or ``"entry"`` (file system events of
    one entry together, as a bodyfile needs).
    """
    q = q or Query()
    where, args = q.where()
    order_sql = " ORDER BY e.time, e.id" if order == "time" else " ORDER BY e.source, e.entry, e.id"
    limit = f" LIMIT {int(q.limit)}" if q.limit is not None else ""
    has_scan = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'file_scan'").fetchone() is not None
    cur = db.execute((_SELECT_SCAN if has_scan else _SELECT) + where + order_sql + limit, args)
    while rows := cur.fetchmany(2000):
        for row in rows:
            yield from_row(row)


def count(db: sqlite3.Connection, q: Query | None = None) -> int:
    where, args = (q or Query()).where()
    return int(db.execute("SELECT count(*) FROM timeline_events e" + where, args).fetchone()[0])


def warnings(db: sqlite3.Connection, exhibit: str | None = None) -> list[tuple[str, str | None, str]]:
    """Recorded build warnings as (source, path, message)."""
    sql = "SELECT source, path, message FROM timeline_warnings"
    args: list[object] = []
    if exhibit is not None:
        sql += " WHERE exhibit = ?"
        args.append(exhibit)
    return [(r[0], r[1], r[2]) for r in db.execute(sql + " ORDER BY id", args)]
