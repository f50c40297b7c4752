"""What a timeline build derives from, independent of where it is stored: inventory rows as
records, the anomaly reference time, loose date parsing, and a build part's result.
The pipeline (``pipeline/timeline.py``) runs the parts and stores them through a run context."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evidencekit.models import FileRecord, Locator, parse_iso_utc
from evidencekit.timeline.anomalies import scan_fs_created

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


def _with_cache(db: sqlite3.Connection, work: Callable[[], int], kib: int = 65_536) -> int:
    """Run ``work`` with a larger page cache (index inserts in time order are random writes)."""
    before = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = -{kib}")
    try:
        return work()
    finally:
        db.execute(f"PRAGMA cache_size = {int(before)}")
