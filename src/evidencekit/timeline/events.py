"""The timeline event model and its derivation from inventory records (:class:`FileRecord`).

One event per stored timestamp. A file system entry gives up to five events from its
``$STANDARD_INFORMATION``-like times (modified, accessed, changed, created, deleted) and, on NTFS,
up to four more from ``$FILE_NAME``. Each event keeps everything needed to find the bytes it came
from: exhibit, volume, path, inode, stream, the file's SHA256 and the dfvfs locator.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from evidencekit.models import FileRecord, Locator
from evidencekit.times import to_datetime

SOURCE_FS = "fs"
SOURCE_PLASO = "plaso"

# FileRecord field -> (timestamp_desc, mactime letter, attribute). The letter is the column a
# TSK bodyfile carries the time in: m=content modified, a=accessed, c=metadata changed, b=born.
FS_TIMES: tuple[tuple[str, str, str, str | None], ...] = (
    ("mtime", "Content Modification Time", "m", None),
    ("atime", "Last Access Time", "a", None),
    ("ctime", "Metadata Modification Time", "c", None),
    ("crtime", "Creation Time", "b", None),
    ("dtime", "Deletion Time", "", None),
    ("fn_mtime", "Content Modification Time", "m", "$FILE_NAME"),
    ("fn_atime", "Last Access Time", "a", "$FILE_NAME"),
    ("fn_ctime", "Metadata Modification Time", "c", "$FILE_NAME"),
    ("fn_crtime", "Creation Time", "b", "$FILE_NAME"),
)
SI = "$STANDARD_INFORMATION"
FN = "$FILE_NAME"


@dataclass(frozen=True)
class TimelineEvent:
    """One point in time with what it means and exactly where it came from.

    ``time`` is int nanoseconds UTC at ``time_digits`` fractional digits of precision. ``macb``
    is the single mactime letter for file system times ("" for deletion times and artefacts
    whose meaning is not one of M/A/C/B). ``source`` is ``"fs"`` or ``"plaso"``; ``parser`` is
    the plaso parser (or ``"filesystem"``). ``attribute`` is the NTFS attribute the time was read
    from (``$STANDARD_INFORMATION`` / ``$FILE_NAME``) or None elsewhere. ``entry`` groups the
    events of one inventory entry (the case ``files.id`` for file system events).
    """

    time: int
    timestamp_desc: str
    source: str
    path: str
    exhibit: str | None = None
    volume: str = ""
    macb: str = ""
    time_digits: int = 9
    parser: str = "filesystem"
    attribute: str | None = None
    inode: int | None = None
    stream: str | None = None
    message: str = ""
    sha256: str | None = None
    locator: Locator | None = None
    deleted: bool = False
    orphan: bool = False
    type: str | None = None
    size: int | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    link_target: str | None = None
    assumed_zone: str | None = None
    flags: tuple[str, ...] = ()
    entry: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None
    md5: str | None = None  # the file's, read from the inventory (not stored with the event)

    @property
    def datetime(self) -> _dt.datetime:
        """``time`` as an aware UTC ``datetime`` (microseconds; ``time`` keeps the nanoseconds)."""
        value = to_datetime(self.time)
        assert value is not None
        return value

    @property
    def display_path(self) -> str:
        """The path with its stream, as mactime shows it (``/f.txt:ads``)."""
        if self.stream and not self.path.endswith(":" + self.stream):
            return f"{self.path}:{self.stream}"
        return self.path


def fs_message(rec: FileRecord, desc: str, attribute: str | None) -> str:
    where = f" [{attribute}]" if attribute else ""
    state = " (deleted)" if rec.deleted else ""
    return f"{desc}{where}: {rec.path}{state}"


def derive_events(
    rec: FileRecord, exhibit: str | None, entry: int | None = None,
    flags: Mapping[str, tuple[str, ...]] | None = None, file_name: bool = True,
) -> Iterator[TimelineEvent]:
    """One event per time stored in ``rec`` (None means "not stored" and gives no event).

    ``flags`` maps a FileRecord time field ("crtime", "fn_crtime", ...) to anomaly flags.
    ``file_name=False`` leaves out the ``$FILE_NAME`` times: they belong to the name, not to each
    data stream, so :func:`derive_all` emits them once per name (as ``fls -m`` does).
    """
    ntfs = (rec.filesystem or "").lower() == "ntfs" or rec.fn_crtime is not None
    locator = rec.locator
    for name, desc, letter, attribute in FS_TIMES:
        value = getattr(rec, name)
        if value is None or (attribute == FN and not file_name):
            continue
        attr = attribute or (SI if ntfs and name != "dtime" else None)
        yield TimelineEvent(
            time=value, timestamp_desc=desc, source=SOURCE_FS, path=rec.path, exhibit=exhibit,
            volume=rec.volume, macb=letter, time_digits=rec.time_digits, attribute=attr, inode=rec.inode,
            stream=None if attribute == FN else rec.stream, message=fs_message(rec, desc, attr), sha256=rec.sha256,
            locator=locator, deleted=rec.deleted, orphan=rec.orphan, type=rec.type, size=rec.size,
            mode=rec.mode, uid=rec.uid, gid=rec.gid, link_target=rec.link_target,
            assumed_zone=rec.assumed_zone, flags=(flags or {}).get(name, ()), entry=entry,
        )


def derive_all(
    records: Iterable[tuple[int | None, FileRecord]], exhibit: str | None, context: Any = None
) -> Iterator[TimelineEvent]:
    """Events of many records; ``context`` is an :class:`anomalies.AnomalyContext` or None."""
    from evidencekit.timeline.anomalies import record_flags

    names_done: set[tuple[str, int | None, str]] = set()
    for entry, rec in records:
        flags = record_flags(rec, context) if context is not None else None
        file_name = rec.fn_crtime is None and rec.fn_mtime is None
        if not file_name:
            key = (rec.volume, rec.inode, rec.path)
            file_name = key not in names_done
            names_done.add(key)
        yield from derive_events(rec, exhibit, entry, flags, file_name)


@dataclass
class MacbRow:
    """Events of one entry (and attribute) at one time, grouped like mactime: ``macb`` = "m.c."."""

    first: TimelineEvent
    letters: set[str] = field(default_factory=set)
    descs: list[str] = field(default_factory=list)

    @property
    def macb(self) -> str:
        return "".join(ch if ch in self.letters else "." for ch in "macb")


def group_key(ev: TimelineEvent) -> tuple[Any, ...]:
    if ev.source == SOURCE_FS and ev.macb:
        return (ev.exhibit, ev.volume, ev.entry, ev.inode, ev.path, ev.stream, ev.attribute)
    return ("single", ev.id, id(ev))


def group_macb(events: Iterable[TimelineEvent]) -> Iterator[MacbRow]:
    """Merge file system events of the same entry at the same second-exact time into one row.

    Expects events ordered by time; only events with equal ``time`` are merged, so the grouping
    keeps memory bounded by the number of events at one instant.
    """
    pending: dict[tuple[Any, ...], MacbRow] = {}
    current: int | None = None
    for ev in events:
        if ev.time != current:
            yield from pending.values()
            pending = {}
            current = ev.time
        key = group_key(ev)
        row = pending.get(key)
        if row is None:
            row = pending[key] = MacbRow(ev)
        if ev.macb:
            row.letters.add(ev.macb)
        row.descs.append(ev.timestamp_desc)
    yield from pending.values()
