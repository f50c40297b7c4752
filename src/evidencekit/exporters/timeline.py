"""Timeline exporters: CSV, JSONL, TSK bodyfile and Timesketch JSONL, hashed while written.

Every writer streams: events come from a database cursor and go straight to the file, so memory
does not grow with the timeline. Every format states its display zone (a ``timezone`` column or
field); the bodyfile is TSK 3.x's, whose times are UTC epoch seconds by definition (its zone is
stated in the ledger entry). ``write_export`` returns the SHA256 of the bytes written; the caller
writes ``FILE.sha256`` beside it and records the hash in the ledger. Formats are registered in
``exporters/plugin.py`` (kind ``exporter``, ``timeline:<format>``): l2tcsv, timesketch-csv and
xlsx live in modules of their own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import tzinfo
from pathlib import Path
from typing import IO, Any

from evidencekit.errors import OutputError, ValidationError
from evidencekit.hashing import checksum_line, sha256_file
from evidencekit.models import mode_string
from evidencekit.textout import EXCEL_BOM, csv_dialect, safe_row, tsk_safe
from evidencekit.timeline import store
from evidencekit.timeline.events import FN, SOURCE_FS, MacbRow, TimelineEvent, group_macb
from evidencekit.times import render, zone  # noqa: F401 - the exporters' zone helpers


def _formats() -> tuple[str, ...]:
    from evidencekit.registry import registry

    return tuple(n.split(":", 1)[1] for n in registry().names("exporter") if n.startswith("timeline:"))


FORMATS = _formats()
NS = 1_000_000_000
CSV_COLUMNS = (
    "datetime", "timezone", "date", "time", "MACB", "source", "sourcetype", "type", "short", "desc",
    "filename", "inode", "size", "mode", "uid", "gid", "exhibit", "volume", "attribute", "deleted",
    "sha256", "flags", "assumed_zone", "time_utc_ns", "time_digits", "locator", "extra",
)

class _HashingFile(io.RawIOBase):
    """A write-only raw stream that hashes what passes through to ``fh``."""

    def __init__(self, fh: IO[bytes]):
        super().__init__()
        self._fh = fh
        self.sha256 = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha256.update(view)
        self._fh.write(view)
        return len(view)


def _frac_seconds(ns: int | None, digits: int) -> str:
    if ns is None:
        return "0"
    secs, frac = divmod(ns, NS)
    text = f"{frac:09d}"[: max(digits, 0)].rstrip("0")
    return f"{secs}.{text}" if text else str(secs)


def body_prefix(ev: TimelineEvent) -> str:
    """``EXHIBIT:VOLUME`` before the path (``E1:p2/Users/x``, ``E2:/etc/passwd``), like the
    mount point ``fls -m`` puts there, so the exhibits of a case stay apart."""
    return f"{ev.exhibit or ''}:{ev.volume or ''}" if ev.exhibit or ev.volume else ""


def body_name(ev: TimelineEvent) -> str:
    name = body_prefix(ev) + ev.display_path
    if ev.link_target:
        name += f" -> {ev.link_target}"
    if ev.attribute == FN:
        name += " ($FILE_NAME)"
    if ev.source != SOURCE_FS:
        name = f"{name} [{ev.parser}: {ev.timestamp_desc}] {ev.message}"
    return tsk_safe(name) + (" (deleted)" if ev.deleted else "")


def _body_line(first: TimelineEvent, times: dict[str, int]) -> str:
    cols = [_frac_seconds(times.get(ch), first.time_digits) for ch in "amcb"]
    size = first.size if first.size is not None else 0
    return (f"{first.md5 or 0}|{body_name(first)}|{first.inode or 0}|{mode_string(first.type, first.mode)}|"
            f"{first.uid or 0}|{first.gid or 0}|{size}|{'|'.join(cols)}\n")


def write_bodyfile(events: Iterable[TimelineEvent], out: IO[str]) -> int:
    """TSK bodyfile (MD5|name|inode|mode|UID|GID|size|atime|mtime|ctime|crtime).

    File system events of one entry and attribute make one line (events must arrive ordered by
    entry). Deletion times have no bodyfile column and are left out. An artefact event is one
    line with its time in the column of its MACB letter (``mtime`` when it has none) and its
    parser, meaning and message in the name. The first column is the MD5 or ``0``, no comment
    line: what TSK 3.x defines and plaso's bodyfile parser accepts.
    """
    count, key, first, times = 0, None, None, {}
    for ev in events:
        count += 1
        if not ev.macb and ev.source == SOURCE_FS:
            continue
        this = (ev.entry, ev.attribute, ev.path) if ev.source == SOURCE_FS else ("single", ev.id)
        if this != key and first is not None:
            out.write(_body_line(first, times))
            times = {}
        key, first = this, (ev if this != key or first is None else first)
        times[ev.macb or "m"] = ev.time
    if first is not None:
        out.write(_body_line(first, times))
    return count


def _common(ev: TimelineEvent, tz: tzinfo, zone_name: str) -> dict[str, Any]:
    return {
        "datetime": render(ev.time, ev.time_digits, tz), "timezone": zone_name,
        "timestamp_desc": ev.timestamp_desc, "source": ev.source, "parser": ev.parser, "path": ev.path,
        "stream": ev.stream, "inode": ev.inode, "exhibit": ev.exhibit, "volume": ev.volume,
        "attribute": ev.attribute, "macb": ev.macb, "deleted": ev.deleted, "orphan": ev.orphan,
        "size": ev.size, "sha256": ev.sha256, "flags": list(ev.flags), "assumed_zone": ev.assumed_zone,
        "time_utc_ns": ev.time, "time_digits": ev.time_digits, "message": ev.message,
        "locator": {"evidence": ev.locator.evidence, "spec": ev.locator.spec} if ev.locator else None,
        "extra": dict(ev.extra),
    }


def write_jsonl(rows: Iterable[MacbRow], out: IO[str], tz: tzinfo, zone_name: str) -> int:
    count = 0
    for row in rows:
        obj = _common(row.first, tz, zone_name)
        obj["macb"] = row.macb
        obj["timestamp_desc"] = "; ".join(row.descs)
        out.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        count += len(row.descs)
    return count


def timesketch_row(ev: TimelineEvent, tz: tzinfo, zone_name: str) -> dict[str, Any]:
    """One event as Timesketch wants it: flat attributes (no nested object) and its own
    ``timestamp_desc``; ``timestamp`` in microseconds, ``datetime`` ISO-8601 in the display zone."""
    row = _common(ev, tz, zone_name)
    extra = row.pop("extra")
    row.update(message=ev.message or ev.path, timestamp=ev.time // 1000, flags=",".join(ev.flags),
               locator=ev.locator.to_json() if ev.locator else "",
               data_type=ev.extra.get("data_type", "fs:stat" if ev.source == SOURCE_FS else "plaso"))
    for key, value in _flatten(extra):
        row[key if key not in row else f"extra_{key}"] = value
    return row


def _flatten(values: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, name + "_")
        elif isinstance(value, list | tuple):
            yield name, ",".join(map(str, value))
        else:
            yield name, value if value is None or isinstance(value, str | int | float | bool) else str(value)


def write_timesketch(rows: Iterable[MacbRow], out: IO[str], tz: tzinfo, zone_name: str) -> int:
    """Timesketch JSONL: one line per event (one ``timestamp_desc`` each), flat attributes."""
    count = 0
    for row in rows:
        out.write(json.dumps(timesketch_row(row.first, tz, zone_name), ensure_ascii=False, default=str) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[MacbRow], out: IO[str], tz: tzinfo, zone_name: str, excel: bool = False) -> int:
    """evidencekit's own timeline CSV (neither plaso's l2tcsv nor Timesketch CSV, which are formats
    of their own): the full-precision time and zone, MACB, the source and meaning, the file's
    mactime columns (size, mode, uid, gid), exhibit, volume, flags and the locator. Names and
    messages have their control characters escaped."""
    writer = csv.writer(out, dialect=csv_dialect(excel))
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in rows:
        ev = row.first
        stamp = render(ev.time, ev.time_digits, tz)
        writer.writerow(safe_row([
            stamp, zone_name, stamp[:10], stamp[11:], row.macb, "FILE" if ev.source == SOURCE_FS else ev.parser,
            ev.attribute or ("File stat" if ev.source == SOURCE_FS else ev.extra.get("data_type", "")),
            "; ".join(row.descs), ev.display_path, ev.message, ev.display_path, ev.inode, ev.size,
            mode_string(ev.type, ev.mode), ev.uid, ev.gid, ev.exhibit, ev.volume, ev.attribute, int(ev.deleted),
            ev.sha256, ",".join(ev.flags), ev.assumed_zone, ev.time, ev.time_digits,
            ev.locator.to_json() if ev.locator else None,
            json.dumps(dict(ev.extra), ensure_ascii=False, default=str) if ev.extra else "",
        ]))
        count += len(row.descs)
    return count


def _rows(events: Iterable[TimelineEvent], group: bool) -> Iterator[MacbRow]:
    if group:
        yield from group_macb(events)
        return
    for ev in events:
        yield MacbRow(ev, {ev.macb} if ev.macb else set(), [ev.timestamp_desc])


SUFFIXES = {"timesketch": ".jsonl", "timesketch-csv": ".csv"}  # the Timesketch importer picks its reader by suffix
CSV_FORMATS = ("csv", "l2tcsv", "timesketch-csv")  # the formats --excel applies to
UNGROUPED = ("timesketch", "timesketch-csv")  # one row per meaning, whatever --no-group says


def check_format(fmt: str, out_path: Path) -> None:
    """ValidationError unless ``fmt`` is known and ``out_path`` has the suffix its readers need."""
    if fmt not in FORMATS:
        raise ValidationError("--format {fmt!r}: choose one of {listing}", fmt=fmt,
                              listing=', '.join(FORMATS))
    suffix = SUFFIXES.get(fmt)
    if suffix and out_path.suffix.lower() != suffix:
        raise ValidationError("{name}: a {fmt} export must end in {suffix} (its importer reads only those)",
                              name=out_path.name, fmt=fmt, suffix=suffix)


def write_export(fmt: str, out_path: Path, events: Callable[[str], Iterable[TimelineEvent]],
                 tz_name: str = "UTC", group: bool = True, excel: bool = False) -> tuple[str, int]:
    """Write ``fmt`` to ``out_path``; ``events(order)`` supplies events ("time" or "entry" order).

    A registered writer takes (rows, text stream, tz, zone name) and, for the CSV formats,
    ``excel``; the bodyfile takes (events in entry order, text stream); a writer marked
    ``writes_file`` (xlsx) takes (events, path, tz, zone name, group) and writes the file itself.
    ``excel``: CSV as Excel on a ``;`` locale opens it (see ``textout``).
    Returns (sha256 hex of the file, number of events written).
    """
    if fmt not in FORMATS:
        raise ValidationError("--format {fmt!r}: choose one of {listing}", fmt=fmt,
                              listing=', '.join(FORMATS))
    tz = zone(tz_name)
    from evidencekit.registry import registry

    writer = registry().get("exporter", f"timeline:{fmt}")
    if getattr(writer, "writes_file", False):
        count = writer(events, out_path, tz, tz_name, group)
        return sha256_file(out_path), count
    with out_path.open("wb") as raw:
        hashing = _HashingFile(raw)
        text = io.TextIOWrapper(io.BufferedWriter(hashing, 1 << 20), encoding="utf-8", newline="")
        if fmt == "bodyfile":  # one line per entry: events in entry order, not grouped by time
            count = writer(events("entry"), text)
        elif fmt in CSV_FORMATS:
            text.write(EXCEL_BOM if excel else "")
            count = writer(_rows(events("time"), group and fmt not in UNGROUPED), text, tz, tz_name, excel=excel)
        else:
            count = writer(_rows(events("time"), group and fmt not in UNGROUPED), text, tz, tz_name)
        text.flush()
        text.detach().flush()
    return hashing.sha256.hexdigest(), count


def export(case: Any, examiner: Any, fmt: str, out: Path, *, tz: str = "UTC", group: bool = True,
           query: store.Query | None = None, excel: bool = False,
           progress: Callable[[int, int], None] | None = None) -> tuple[str, int]:
    """Write an export and ``out``.sha256 beside it; one ledger entry carries the hash.

    Returns (sha256, number of events). The file is written under a temporary name and renamed
    into place only when the ledger entry commits. ``out``.sha256 names the file without its
    folder, so ``sha256sum -c timeline.csv.sha256`` works in the folder of both. ``excel``: the
    CSV formats with a byte order mark, ``;`` and CRLF (see ``evidencekit.textout``). An exhibit
    or source in ``query`` that matches nothing is a ValidationError naming those that exist.
    ``progress(done, total)``: events read so far out of those the query matches.
    """
    from evidencekit.pipeline.timeline import check_selection

    check_format(fmt, Path(out))
    zone(tz)
    q = query or store.Query()
    check_selection(case, q)
    out = out.absolute()
    tmp, sidecar = out.with_name(f".{out.name}.partial"), out.with_name(f".{out.name}.sha256.partial")
    try:
        try:  # both files are written before anything is recorded
            total = store.count(case.db, q) if progress else 0
            sha, count = write_export(fmt, tmp, lambda order: _reported(store.query(case.db, q, order), total, progress),
                                      tz, group, excel)
            sidecar.write_text(checksum_line(sha, out.name), encoding="utf-8")
        except OSError as err:  # disk full (ENOSPC), file too large (EFBIG), ...
            raise OutputError("{out}: cannot be written: {cause}; nothing exported, nothing recorded",
                              out=out, cause=err.strerror or err) from err
        details = {"export": "timeline", "format": fmt, "zone": tz, "events": count,
                   "macb_grouped": group and fmt not in ("bodyfile", *UNGROUPED), **({"excel": True} if excel else {}),
                   "filters": {k: v for k, v in vars(q).items() if v not in (None, False)}, "file": out.name}
        with case.run("exported", examiner=examiner, details=details) as act:
            act.outputs[_display(out, case.root)] = sha
        os.replace(tmp, out)
        os.replace(sidecar, out.with_name(out.name + ".sha256"))
    finally:
        tmp.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
    return sha, count


def _reported(events: Iterable[TimelineEvent], total: int,
              progress: Callable[[int, int], None] | None) -> Iterator[TimelineEvent]:
    """``events``, calling ``progress(done, total)`` every thousand and at the end."""
    if progress is None:
        yield from events
        return
    done = 0
    for done, ev in enumerate(events, 1):
        if done % 1000 == 0:
            progress(done, total)
        yield ev
    progress(done, total)


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
