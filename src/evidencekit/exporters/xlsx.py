"""Spreadsheets (XLSX, with XlsxWriter): one sheet per exhibit, real date cells, frozen header.

Times become Excel date cells in the display zone (Excel has no zones: the header names it) at
Excel's millisecond precision; a text column beside them keeps the source's full precision.
Every sheet has a frozen header row and an autofilter. Text is written as text, never as a
formula or link (a file named ``=HYPERLINK(...)`` stays a name). Rows stream to disk
(``constant_memory``): a sheet reaching Excel's row limit continues on ``E1 (2)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import xlsxwriter

from evidencekit.textout import escape_control

MAX_ROWS = 1_048_576
NS = 1_000_000_000
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Column:
    """A column: ``kind`` is ``text``, ``int``, ``bool`` or ``time`` (int ns UTC shown in the zone)."""

    name: str
    kind: str = "text"
    width: float = 14


class Workbook:
    """Rows added per sheet key (an exhibit id) to a streaming XLSX workbook."""

    def __init__(self, path: Path, columns: Sequence[Column], tz: tzinfo, zone_name: str, max_rows: int = MAX_ROWS):
        self.columns, self.tz, self.max_rows = list(columns), tz, max_rows
        self._book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                                     "strings_to_formulas": False, "strings_to_urls": False})
        self._book.set_properties({"comments": f"times in display zone {zone_name}; stored UTC"})
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss.000"})
        self._head = self._book.add_format({"bold": True})
        self._headers = [f"{c.name} ({zone_name})" if c.kind == "time" else c.name for c in self.columns]
        self._sheets: dict[str, list[Any]] = {}  # key -> [worksheet, next row, part number]
        self._names: set[str] = set()

    def _sheet_name(self, key: str, part: int) -> str:
        base = _BAD_SHEET_CHARS.sub("_", escape_control(key or "-"))[:25] or "-"
        name = base if part == 1 else f"{base} ({part})"
        while name.lower() in self._names:
            name = name[:28] + "_"
        self._names.add(name.lower())
        return name

    def _new_sheet(self, key: str, part: int) -> list[Any]:
        sheet = self._book.add_worksheet(self._sheet_name(key, part))
        for col, (column, header) in enumerate(zip(self.columns, self._headers, strict=True)):
            sheet.set_column(col, col, column.width)
            sheet.write_string(0, col, header, self._head)
        sheet.freeze_panes(1, 0)
        entry = [sheet, 1, part]
        self._sheets[key] = entry
        return entry

    def add(self, key: str, values: Sequence[Any]) -> None:
        """Append one row to the sheet of ``key`` (values in column order; None leaves a cell empty)."""
        entry = self._sheets.get(key) or self._new_sheet(key, 1)
        if entry[1] >= self.max_rows:
            self._filter(entry)
            entry = self._new_sheet(key, entry[2] + 1)
        sheet, row = entry[0], entry[1]
        for col, (column, value) in enumerate(zip(self.columns, values, strict=True)):
            if value is None:
                continue
            if column.kind == "time":
                sheet.write_datetime(row, col, _local(value, self.tz), self._date)
            elif column.kind in ("int", "bool") and not isinstance(value, str):
                sheet.write_number(row, col, int(value))
            else:
                sheet.write_string(row, col, escape_control(str(value)))
        entry[1] = row + 1

    def _filter(self, entry: list[Any]) -> None:
        entry[0].autofilter(0, 0, max(entry[1] - 1, 1), len(self.columns) - 1)

    def close(self) -> None:
        if not self._sheets:  # an empty export still has its header
            self._new_sheet("-", 1)
        for entry in self._sheets.values():
            self._filter(entry)
        self._book.close()


def _local(ns: int, tz: tzinfo) -> datetime:
    """A naive datetime in ``tz`` (what an Excel cell holds), to the microsecond."""
    secs, frac = divmod(ns, NS)
    return datetime.fromtimestamp(secs, tz).replace(tzinfo=None, microsecond=frac // 1000)


def write_rows(path: Path, columns: Sequence[Column], rows: Iterable[tuple[str, Sequence[Any]]], tz: tzinfo,
               zone_name: str) -> int:
    """Write ``(sheet key, values)`` rows to ``path``; returns how many."""
    book = Workbook(path, columns, tz, zone_name)
    count = 0
    try:
        for key, values in rows:
            book.add(key, values)
            count += 1
    finally:
        book.close()
    return count


# --- the timeline, one sheet per exhibit ---------------------------------------------------
TIMELINE_COLUMNS = (
    Column("time", "time", 24), Column("time_iso", "text", 34), Column("MACB", "text", 6),
    Column("source", "text", 12), Column("type", "text", 30), Column("path", "text", 60),
    Column("message", "text", 60), Column("exhibit", "text", 8), Column("volume", "text", 8),
    Column("inode", "int", 10), Column("size", "int", 12), Column("deleted", "bool", 8),
    Column("sha256", "text", 20), Column("flags", "text", 16), Column("assumed_zone", "text", 14),
    Column("time_utc_ns", "text", 22),  # 19 digits: more than an Excel number holds exactly
)


def write_timeline(events: Any, path: Path, tz: tzinfo, zone_name: str, group: bool = True) -> int:
    """The timeline export's ``xlsx`` format; returns the event count. It writes ``path`` itself
    (``writes_file``): a zip archive, not a text stream."""
    from evidencekit.exporters.timeline import _rows, render

    count = 0
    book = Workbook(path, TIMELINE_COLUMNS, tz, zone_name)
    try:
        for row in _rows(events("time"), group):
            ev = row.first
            book.add(ev.exhibit or "-", [
                ev.time, render(ev.time, ev.time_digits, tz), row.macb if group else (ev.macb or "-"),
                "fs" if ev.source == "fs" else ev.parser, "; ".join(row.descs), ev.display_path, ev.message,
                ev.exhibit, ev.volume, ev.inode, ev.size, ev.deleted, ev.sha256, ",".join(ev.flags),
                ev.assumed_zone, str(ev.time)])
            count += len(row.descs)
    finally:
        book.close()
    return count


# --- a case's inventory (``case files --format xlsx``) ---------------------------------------
def file_columns(names: Sequence[str]) -> list[Column]:
    """Columns of ``names`` (the ``files`` columns) with an exhibit column first."""
    from evidencekit.models import TIME_FIELDS

    kinds = {"inode": "int", "size": "int", "deleted": "bool", "orphan": "bool", "uid": "int", "gid": "int"}
    widths = {"path": 60, "locator": 40, "sha256": 20}
    return [Column("exhibit", "text", 8)] + [
        Column(name, "time" if name in TIME_FIELDS else kinds.get(name, "text"), widths.get(name, 24 if name in TIME_FIELDS else 12))
        for name in names if name != "display_zone"]


def write_files(records: Iterable[tuple[str, Any]], path: Path, tz: tzinfo, zone_name: str,
                names: Sequence[str]) -> int:
    """``(exhibit, FileRecord)`` pairs as one sheet per exhibit, columns ``names``; returns how many."""
    columns = file_columns(names)
    names = [c.name for c in columns[1:]]

    def rows() -> Iterable[tuple[str, list[Any]]]:
        for exhibit, rec in records:
            values = {n: getattr(rec, n, None) for n in names}
            values.update(locator=rec.locator.to_json(), warnings="; ".join(rec.warnings),
                          attributes=" ".join(rec.attributes))
            yield exhibit, [exhibit, *(values[n] for n in names)]

    return write_rows(path, columns, rows(), tz, zone_name)


write_timeline.writes_file = True  # type: ignore[attr-defined]
