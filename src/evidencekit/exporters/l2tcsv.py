"""plaso's ``l2tcsv``: the 17 columns of log2timeline's CSV, written as plaso's output module does.

``date,time,timezone,MACB,source,sourcetype,type,user,host,short,desc,version,filename,inode,
notes,format,extra``: the date as MM/DD/YYYY and the time as HH:MM:SS in the display zone (whole
seconds: the format has no more), events of one entry at one time merged into one row with the
letters of their meanings, no quoting (a separator inside a value becomes a space, as plaso's
``_SanitizeField`` does) and ``-`` for an empty value. ``source``/``sourcetype`` come from plaso's
own formatter definitions. ``filename`` is ``EXHIBIT:VOLUME/path`` as in the bodyfile; our anomaly
flags go in ``notes`` (plaso's tags). Control characters in names are escaped.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from typing import IO

from evidencekit.exporters.timeline import body_prefix
from evidencekit.textout import csv_dialect, escape_control
from evidencekit.timeline.events import SOURCE_FS, MacbRow, TimelineEvent

FIELDS = ("date", "time", "timezone", "MACB", "source", "sourcetype", "type", "user", "host", "short", "desc",
          "version", "filename", "inode", "notes", "format", "extra")
NS = 1_000_000_000


@functools.cache
def _source_mappings() -> Callable[[str], tuple[str | None, str | None]]:
    """plaso's data type -> (short source, long source), read from its formatter files."""
    import plaso
    from plaso.output import mediator

    reader = mediator.OutputMediator(None)
    reader.ReadMessageFormattersFromDirectory(os.path.join(os.path.dirname(plaso.__file__), "data", "formatters"))
    return reader.GetSourceMapping


def data_type(ev: TimelineEvent) -> str:
    if ev.source == SOURCE_FS:
        return "fs:stat:ntfs" if ev.attribute else "fs:stat"
    return str(ev.extra.get("data_type") or "")


def _macb(row: MacbRow) -> str:
    return "".join(ch.upper() if ch in row.letters else "." for ch in "macb")


def _extra(ev: TimelineEvent) -> str:
    values = {k: v for k, v in ev.extra.items() if k not in ("data_type", "scan") and v not in (None, "")}
    values.update(exhibit=ev.exhibit, volume=ev.volume or None, sha256_hash=ev.sha256, md5_hash=ev.md5,
                  assumed_zone=ev.assumed_zone, deleted=ev.deleted or None)
    text = "; ".join(sorted(f"{k}: {v}" for k, v in values.items() if v is not None))
    return text.replace("\n", "-").replace("\r", "")  # as plaso's _FormatExtraAttributes


def row_values(row: MacbRow, tz: tzinfo, zone_name: str) -> list[str]:
    ev = row.first
    local = datetime.fromtimestamp(ev.time // NS, tz)
    short, long = _source_mappings()(data_type(ev))
    parser = "filestat" if ev.source == SOURCE_FS else ev.parser
    message = ev.message or ev.path
    values = [
        local.strftime("%m/%d/%Y"), local.strftime("%H:%M:%S"), zone_name, _macb(row), short or "N/A",
        long or "N/A", "; ".join(row.descs), "-", "-", message, message, "2", body_prefix(ev) + ev.display_path,
        "-" if ev.inode is None else str(ev.inode), ",".join(ev.flags), parser, _extra(ev),
    ]
    return [escape_control(v) if v else "-" for v in values]


def write_l2tcsv(rows: Iterable[MacbRow], out: IO[str], tz: tzinfo, zone_name: str, excel: bool = False) -> int:
    """Write ``rows`` in l2tcsv to the text stream ``out``; returns the number of events (a merged
    row counts each). ``excel``: ``;`` between fields and CRLF (the caller writes the BOM)."""
    dialect = csv_dialect(excel)
    sep, end = dialect.delimiter, dialect.lineterminator
    out.write(sep.join(FIELDS) + end)
    count = 0
    for row in rows:
        out.write(sep.join(v.replace(sep, " ") for v in row_values(row, tz, zone_name)) + end)
        count += len(row.descs)
    return count
