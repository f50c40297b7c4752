"""Timesketch CSV: the columns the Timesketch importer requires first, then flat attributes.

``message,datetime,timestamp_desc,timestamp`` (``datetime`` ISO-8601 with the display zone's
offset, ``timestamp`` microseconds since the epoch), one row per event and meaning, then the
event's own attributes as further columns. The importer reads only files ending in ``.csv``.
The JSONL form (``--format timesketch``) is built into ``evidencekit.timeline.export``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from datetime import tzinfo
from pathlib import Path

from evidencekit.textout import EXCEL_BOM, csv_dialect, safe_row
from evidencekit.timeline.events import TimelineEvent
from evidencekit.timeline.export import register_format, timesketch_row

COLUMNS = ("message", "datetime", "timestamp_desc", "timestamp", "timezone", "data_type", "source", "parser",
           "exhibit", "volume", "path", "stream", "inode", "attribute", "macb", "deleted", "orphan", "size",
           "sha256", "flags", "assumed_zone", "time_utc_ns", "time_digits", "locator", "extra")


def write_timesketch_csv(events: Callable[[str], Iterable[TimelineEvent]], path: Path, tz: tzinfo,
                         zone_name: str, group: bool = False, excel: bool = False) -> int:
    """Write ``path``; ``group`` is ignored (Timesketch wants one meaning per row)."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(EXCEL_BOM if excel else "")
        writer = csv.writer(out, dialect=csv_dialect(excel))
        writer.writerow(COLUMNS)
        for ev in events("time"):
            row = timesketch_row(ev, tz, zone_name)
            extra = {k: v for k, v in row.items() if k not in COLUMNS}
            row["extra"] = json.dumps(extra, ensure_ascii=False, default=str) if extra else ""
            writer.writerow(safe_row([row.get(c) for c in COLUMNS]))
            count += 1
    return count


register_format("timesketch-csv", write_timesketch_csv, suffix=".csv")
