"""Writers for file records: JSONL, CSV, DFXML and the TSK 3.x bodyfile that ``mactime`` reads.

JSONL and CSV carry times as ISO-8601 at the source's precision in the display zone and name that
zone in every record; the bodyfile carries whole seconds since the epoch, as TSK defines it;
DFXML (``evidencekit.exporters.dfxml``, a Renderer of its own) carries UTC. CSV and the bodyfile escape control
characters in names (``textout``); ``excel`` makes the CSV one Excel on a ``;`` locale opens.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC, tzinfo

import orjson

from evidencekit.models import TIME_FIELDS, FileRecord, LocatorText, mode_string
from evidencekit.textout import EXCEL_BOM, csv_dialect, escape_control, tsk_safe
from evidencekit.times import iso_utc, render, zone


def _formats() -> tuple[str, ...]:
    from evidencekit.registry import registry

    return tuple(n.split(":", 1)[1] for n in registry().names("exporter") if n.startswith("files:"))


FILE_FORMATS = _formats()
COLUMNS = ("volume", "path", "stream", "inode", "type", "deleted", "orphan", "size", "md5", "sha1", "sha256",
           *TIME_FIELDS, "filesystem", "assumed_zone", "mode", "uid", "gid", "link_target", "attributes", "display_zone",
           "locator", "warnings")

def record_dict(record: FileRecord, zone: tzinfo = UTC, zone_name: str = "UTC") -> dict:
    """A record as a flat, JSON-ready dict (times rendered in the display zone; locator as a dict)."""
    out = _flat(record, zone, zone_name)
    out["attributes"], out["warnings"] = list(record.attributes), list(record.warnings)
    out["locator"] = json.loads(record.locator.to_json())
    return out


def _flat(record: FileRecord, zone: tzinfo, zone_name: str) -> dict:
    digits = record.time_digits
    fmt = iso_utc if zone is UTC else (lambda ns, d: render(ns, d, zone))
    r = record
    row = {
        "volume": r.volume, "path": r.path, "stream": r.stream, "inode": r.inode,
        "type": r.type, "deleted": r.deleted, "orphan": r.orphan, "size": r.size,
        "md5": r.md5, "sha1": r.sha1, "sha256": r.sha256,
        # None checks inline: most records lack several of these, and this runs once per entry.
        "mtime": None if r.mtime is None else fmt(r.mtime, digits),
        "atime": None if r.atime is None else fmt(r.atime, digits),
        "ctime": None if r.ctime is None else fmt(r.ctime, digits),
        "crtime": None if r.crtime is None else fmt(r.crtime, digits),
        "dtime": None if r.dtime is None else fmt(r.dtime, digits),
        "fn_mtime": None if r.fn_mtime is None else fmt(r.fn_mtime, digits),
        "fn_atime": None if r.fn_atime is None else fmt(r.fn_atime, digits),
        "fn_ctime": None if r.fn_ctime is None else fmt(r.fn_ctime, digits),
        "fn_crtime": None if r.fn_crtime is None else fmt(r.fn_crtime, digits),
        "filesystem": r.filesystem, "assumed_zone": r.assumed_zone, "mode": r.mode,
        "uid": r.uid, "gid": r.gid, "link_target": r.link_target, "attributes": r.attributes,
        "display_zone": zone_name,
        "warnings": r.warnings,  # tuples: orjson writes them as arrays
    }
    if r.raw_name is not None:  # only names that are not UTF-8: every other record stays as it was
        row["raw_name"] = r.raw_name
    return row


# For what orjson refuses: strings Python itself cannot encode (a lone surrogate from an
# undecodable file name), which json writes as a ``\\udcff`` escape. Built once (json.dumps with
# options builds a new encoder on every call).
_ROW = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class Renderer:
    """Turns records into text in one format; picklable, so worker processes can render too."""

    def __init__(self, fmt: str, zone_name: str = "UTC", excel: bool = False):
        self.fmt, self.zone_name, self.excel = fmt, zone_name, excel
        self._zone = zone(zone_name)
        self._locator_json = LocatorText()

    def __getstate__(self) -> dict:
        return {"fmt": self.fmt, "zone_name": self.zone_name, "excel": self.excel}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["fmt"], state["zone_name"], state["excel"])  # type: ignore[misc]

    def header(self) -> bytes:
        if self.fmt != "csv":
            return b""
        buf = io.StringIO()
        buf.write(EXCEL_BOM if self.excel else "")
        csv.writer(buf, dialect=csv_dialect(self.excel)).writerow(COLUMNS)
        return buf.getvalue().encode()

    def footer(self) -> bytes:
        return b""

    def __call__(self, records: Iterable[FileRecord]) -> tuple[bytes, int]:
        """The UTF-8 text of ``records`` (no header) and how many there were.

        Bytes, not str: worker processes render, and write them to the output or pass them on as they are.
        """
        zone, zone_name, locator_json = self._zone, self.zone_name, self._locator_json
        if self.fmt == "jsonl":
            lines = []
            for record in records:
                row = _flat(record, zone, zone_name)
                locator = locator_json(record.locator)
                row["locator"] = orjson.Fragment(locator)
                try:
                    lines.append(orjson.dumps(row))  # several times faster than json on this hot path
                except TypeError:  # orjson.JSONEncodeError: see _ROW
                    row["locator"] = json.loads(locator)
                    lines.append(utf8(_ROW(row)))
            lines.append(b"")
            return b"\n".join(lines), len(lines) - 1
        buf, count = io.StringIO(), 0
        if self.fmt == "bodyfile":
            for record in records:
                buf.write("".join(line + "\n" for line in bodyfile_lines(record)))
                count += 1
            return utf8(buf.getvalue()), count
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", dialect=csv_dialect(self.excel))
        for record in records:
            row = _flat(record, zone, zone_name)
            row["locator"] = locator_json(record.locator)
            row["warnings"] = "; ".join(record.warnings)
            row["attributes"] = " ".join(record.attributes)
            for key in ("path", "stream", "link_target", "warnings"):
                if row[key]:
                    row[key] = escape_control(row[key])
            writer.writerow(row)
            count += 1
        return utf8(buf.getvalue()), count


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "backslashreplace")  # a lone surrogate from an undecodable name stays visible


def _secs(ns: int | None) -> int:
    return 0 if ns is None else ns // 1_000_000_000


def bodyfile_lines(record: FileRecord) -> list[str]:
    """One bodyfile line (two for NTFS: $STANDARD_INFORMATION and $FILE_NAME), as ``fls -m`` does."""
    name = record.path + (f":{record.stream}" if record.stream else "")
    if record.type == "symlink" and record.link_target:
        name += f" -> {record.link_target}"
    suffix = " (deleted)" if record.deleted else ""
    md5 = record.md5 or "0"
    inode = "0" if record.inode is None else str(record.inode)
    common = f"{mode_string(record.type, record.mode)}|{record.uid or 0}|{record.gid or 0}|{record.size or 0}"
    lines = [f"{md5}|{tsk_safe(name)}{suffix}|{inode}|{common}|{_secs(record.atime)}|{_secs(record.mtime)}|"
             f"{_secs(record.ctime)}|{_secs(record.crtime)}"]
    if record.fn_crtime is not None and not record.stream:
        lines.append(f"0|{tsk_safe(record.path)} ($FILE_NAME){suffix}|{inode}|{common}|{_secs(record.fn_atime)}|"
                     f"{_secs(record.fn_mtime)}|{_secs(record.fn_ctime)}|{_secs(record.fn_crtime)}")
    return lines
