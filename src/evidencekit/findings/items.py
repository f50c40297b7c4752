"""What a finding cites: an inventory row or a timeline event, as the case stores it.

An item is a plain dict (it goes into the signed ledger entry as it is): the locator, hashes and
times exactly as stored, so a finding keeps citing what the examiner saw even if the exhibit is
processed again later.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from evidencekit.errors import ValidationError
from evidencekit.models import TIME_FIELDS

FILE_FIELDS = ("id", "volume", "path", "stream", "inode", "type", "deleted", "size", "md5", "sha1", "sha256",
               "time_digits", "assumed_zone", "locator", *TIME_FIELDS)
_FILE_SELECT = f"SELECT {', '.join(FILE_FIELDS)} FROM files"


def file_item(row: tuple[Any, ...], exhibit: str) -> dict[str, Any]:
    data = dict(zip(FILE_FIELDS, row, strict=True))
    times = {k: data.pop(k) for k in TIME_FIELDS if data.get(k) is not None}
    for k in TIME_FIELDS:
        data.pop(k, None)
    data.pop("id")
    data.update(kind="file", exhibit=exhibit, deleted=bool(data["deleted"]), stream=data["stream"] or None,
                times=times, locator=json.loads(data["locator"]))
    return data


def file_rows(db: sqlite3.Connection, exhibit: str, path: str, volume: str | None = None) -> list[tuple[Any, ...]]:
    """Inventory rows of ``path`` (``PATH:STREAM`` names an NTFS stream), allocated and deleted alike."""
    vol_sql, vol_arg = (" AND volume = ?", [volume]) if volume else ("", [])
    rows = db.execute(_FILE_SELECT + " WHERE exhibit = ? AND path = ? AND stream = ''" + vol_sql + " ORDER BY seq",
                      [exhibit, path, *vol_arg]).fetchall()
    if not rows and ":" in path.rsplit("/", 1)[-1]:
        base, _, stream = path.rpartition(":")
        rows = db.execute(_FILE_SELECT + " WHERE exhibit = ? AND path = ? AND stream = ?" + vol_sql + " ORDER BY seq",
                          [exhibit, base, stream, *vol_arg]).fetchall()
    return rows


def resolve_file(db: sqlite3.Connection, root: Any, exhibit: str, *, path: str | None = None,
                 inode: int | None = None, volume: str | None = None) -> dict[str, Any]:
    """The one inventory row named by path or inode; ValidationError (one line) when none or several."""
    if path is not None:
        rows = file_rows(db, exhibit, path, volume)
        what = f"path {path!r}"
    else:
        vol_sql, vol_arg = (" AND volume = ?", [volume]) if volume else ("", [])
        rows = db.execute(_FILE_SELECT + " WHERE exhibit = ? AND inode = ? AND stream = ''" + vol_sql + " ORDER BY seq",
                          [exhibit, inode, *vol_arg]).fetchall()
        what = f"inode {inode}"
    if not rows:
        processed = db.execute("SELECT 1 FROM files WHERE exhibit = ? LIMIT 1", (exhibit,)).fetchone()
        if processed:
            raise ValidationError("{root}: exhibit {exhibit}: {what} not in its inventory", root=root,
                                  exhibit=exhibit, what=what)
        raise ValidationError("{root}: exhibit {exhibit}: {what} not processed yet (run 'evidencekit case "
                              "process')", root=root, exhibit=exhibit, what=what)
    if len(rows) > 1:
        choices = ", ".join(f"{r[1] or '-'}:{r[4]}{' (deleted)' if r[6] else ''}" for r in rows[:6])
        raise ValidationError("{root}: exhibit {exhibit}: {what} names {n} entries ({choices}); choose "
                              "with --volume or --inode", root=root, exhibit=exhibit, what=what,
                              n=len(rows), choices=choices)
    return file_item(rows[0], exhibit)


_EVENT_SELECT = (
    "SELECT e.id, e.exhibit, e.time, e.digits, e.source, e.parser, e.timestamp_desc, e.macb, e.message, "
    "coalesce(e.volume, f.volume), e.path, e.stream, coalesce(e.sha256, f.sha256), coalesce(e.locator, f.locator) "
    "FROM timeline_events e LEFT JOIN files f ON e.source = 'fs' AND f.id = e.entry WHERE e.id = ?"
)


def resolve_event(db: sqlite3.Connection, root: Any, exhibit: str, event_id: int) -> dict[str, Any]:
    """A timeline event by its id (as `timeline show --format jsonl` prints it)."""
    try:
        row = db.execute(_EVENT_SELECT, (event_id,)).fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is None or row[1] != exhibit:
        raise ValidationError("{root}: exhibit {exhibit}: no timeline event {event_id}", root=root,
                              exhibit=exhibit, event_id=event_id)
    (eid, _ex, time, digits, source, parser, desc, macb, message, volume, path, stream, sha256, locator) = row
    return {"kind": "event", "exhibit": exhibit, "event_id": eid, "time": time, "time_digits": digits,
            "source": source, "parser": parser, "timestamp_desc": desc, "macb": macb, "message": message,
            "volume": volume, "path": path, "stream": stream or None, "sha256": sha256,
            "locator": json.loads(locator) if locator else None}


def item_time(item: dict[str, Any]) -> int | None:
    """The instant a finding is about: an event's time, else the file's modification (or other) time."""
    if item.get("kind") == "event":
        return item.get("time")
    times = item.get("times") or {}
    for key in ("mtime", "crtime", "ctime", "atime", "dtime"):
        if times.get(key) is not None:
            return int(times[key])
    return None


def scan_hits(db: sqlite3.Connection, exhibit: str, kind: str, rule: str | None) -> list[tuple[tuple[Any, ...], str]]:
    """(inventory row, what hit) for each file a stored scan flagged: ``yara`` matches or ``known-bad`` hits."""
    if kind == "yara":
        sql = ("SELECT DISTINCT f.id, y.rule FROM yara_matches y JOIN files f ON f.id = y.file_id "
               "WHERE f.exhibit = ?" + (" AND y.rule = ?" if rule else "") + " ORDER BY f.seq, y.rule")
        args: list[Any] = [exhibit, rule] if rule else [exhibit]
    elif kind == "known-bad":
        sql = ("SELECT f.id, h.hashset FROM hashset_hits h JOIN files f ON f.id = h.file_id "
               "WHERE f.exhibit = ? AND h.kind = 'known-bad' ORDER BY f.seq, h.hashset")
        args = [exhibit]
    else:
        raise ValidationError("--from-scan {kind!r}: one of yara, known-bad", kind=kind)
    out = []
    for file_id, what in db.execute(sql, args).fetchall():
        row = db.execute(_FILE_SELECT + " WHERE id = ?", (file_id,)).fetchone()
        out.append((row, str(what)))
    return out
