"""Artefacts plaso has no parser for, read by evidencekit itself (source ``native``).

A reader is registered (plugin registry kind ``reader``) by its name with the real (domain/relative) path it reads;
today: the iOS call history (``CallHistory.storedata``) of an iOS backup. The database is opened
read-only and immutable where it lies (a folder exhibit) or from a temporary copy of the member
(a zip/tar exhibit): the evidence is never written.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from evidencekit.models import Locator
from evidencekit.timeline.events import TimelineEvent
from evidencekit.timeline.plaso_import import archive_member, file_id

SOURCE_NATIVE = "native"
COCOA_EPOCH = 978_307_200  # 2001-01-01T00:00:00Z in Unix seconds


@dataclass(frozen=True)
class Located:
    """One artefact file of an exhibit: its real name, where it lies, its hash and locator."""

    real: str
    stored: str  # path inside the exhibit ("/3d/3d0d...")
    db: Path  # a readable SQLite file (the original, or a temporary copy)
    sha256: str
    locator: Locator


def _cocoa_ns(value: Any) -> int:
    return int((Decimal(repr(value)) + COCOA_EPOCH) * 1_000_000_000)


def ios_calls(found: Located, exhibit: str) -> Iterator[TimelineEvent]:
    """Start (and end) events of the iOS call history (Core Data table ZCALLRECORD)."""
    db = sqlite3.connect(f"{found.db.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        rows = db.execute("SELECT Z_PK, ZDATE, ZDURATION, ZADDRESS, ZORIGINATED, ZANSWERED FROM ZCALLRECORD"
                          " WHERE ZDATE IS NOT NULL ORDER BY ZDATE").fetchall()
    finally:
        db.close()
    for pk, date, duration, address, originated, answered in rows:
        number = address.decode("utf-8", "replace") if isinstance(address, bytes) else str(address or "")
        way = "Outgoing" if originated else "Incoming"
        text = f"{way} call {number}: {'answered' if answered else 'not answered'}, {float(duration or 0):.0f} s"
        extra = {"data_type": "ios:call_history", "record": pk, "number": number, "duration": duration,
                 "originated": bool(originated), "answered": bool(answered), "backup_path": found.stored}
        start = _cocoa_ns(date)
        times = [("Start Time", start)] + ([("End Time", start + int(Decimal(repr(duration)) * 10**9))]
                                           if duration else [])
        for desc, ns in times:
            yield TimelineEvent(time=ns, timestamp_desc=desc, source=SOURCE_NATIVE, path=found.real,
                                exhibit=exhibit, parser="evidencekit/ios_calls", time_digits=6, message=text,
                                sha256=found.sha256, locator=found.locator, extra=extra)


@dataclass(frozen=True)
class Reader:
    """A native reader: the real (domain, relative) path of the file it reads, and the reader."""

    domain: str
    relative: str
    read: Callable[[Located, str], Iterator[TimelineEvent]]


IOS_CALLS = Reader("HomeDomain", "Library/CallHistoryDB/CallHistory.storedata", ios_calls)


def readers() -> list[tuple[str, Reader]]:
    """The registered native readers (plugin registry kind ``reader``), by name."""
    from evidencekit.registry import registry

    plugins = registry()
    return [(item.name, plugins.resolve(item)) for item in plugins.items("reader")]


def reader_names() -> list[str]:
    return [name for name, _ in readers()]


def locate(evidence: Path, kind: str, domain: str, relative: str, tmp: Path) -> Located | None:
    """Find an iOS backup file by its real name in a folder, zip or tar exhibit."""
    fid = file_id(domain, relative)
    real = f"{domain}/{relative}"
    if kind == "directory":
        # iOS 10+ keeps fid under a folder named by its first two digits; iOS 5-9 keeps it flat
        hits = [p for name in (f"{fid[:2]}/{fid}", fid) for prefix in ("", "*/", "*/*/")
                for p in sorted(evidence.glob(prefix + name)) if p.is_file()]
        if not hits:
            return None
        data = hits[0].read_bytes()
        stored = "/" + hits[0].relative_to(evidence).as_posix()
        os_spec: dict[str, Any] = {"type_indicator": "OS", "location": str(hits[0])}
        return Located(real, stored, hits[0], hashlib.sha256(data).hexdigest(), _locator(evidence, os_spec))
    member = archive_member(evidence, lambda name: name.rsplit("/", 1)[-1] == fid)
    if member is None:
        return None
    name, data = member
    copy = tmp / fid
    copy.write_bytes(data)
    spec: dict[str, Any] = {"type_indicator": kind.upper(), "location": "/" + name.lstrip("/"),
            "parent": {"type_indicator": "OS", "location": str(evidence)}}
    return Located(real, "/" + name.lstrip("/"), copy, hashlib.sha256(data).hexdigest(), _locator(evidence, spec))


def _locator(evidence: Path, spec: dict[str, Any]) -> Locator:
    return Locator(str(evidence), spec)


def read_native(evidence: Path, kind: str, exhibit: str, warnings: list[str]) -> Iterator[TimelineEvent]:
    """Events of every registered reader that finds its file; a failing reader is a warning."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, reader in readers():
            domain, relative = reader.domain, reader.relative
            try:
                found = locate(evidence, kind, domain, relative, Path(tmp))
                if found is not None:
                    yield from reader.read(found, exhibit)
            except (OSError, sqlite3.Error, ValueError, ArithmeticError) as err:
                warnings.append(f"{name}: {domain}/{relative} unreadable: {err}")
