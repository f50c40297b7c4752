"""Timesketch CSV: the columns the Timesketch importer requires first, then flat attributes.

``message,datetime,timestamp_desc,timestamp`` (``datetime`` ISO-8601 with the display zone's
offset, ``timestamp`` microseconds since the epoch), one row per event and meaning, then the
event's own attributes as further columns. The importer reads only files ending in ``.csv``.
The JSONL form (``--format timesketch``) is ``evidencekit.exporters.timeline.write_timesketch``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import tzinfo
from typing import IO

from evidencekit.exporters.timeline import timesketch_row
from evidencekit.textout import csv_dialect, safe_row
from evidencekit.timeline.events import MacbRow

COLUMNS = ("message", "datetime", "timestamp_desc", "timestamp", "timezone", "data_type", "source", "parser",
           "exhibit", "volume", "path", "stream", "inode", "attribute", "macb", "deleted", "orphan", "size",
           "sha256", "flags", "assumed_zone", "time_utc_ns", "time_digits", "locator", "extra")


def write_timesketch_csv(rows: Iterable[MacbRow], out: IO[str], tz: tzinfo, zone_name: str,
                         excel: bool = False) -> int:
    """Write one CSV row per event (``rows`` arrive ungrouped) to the text stream ``out``."""
    count = 0
    writer = csv.writer(out, dialect=csv_dialect(excel))
    writer.writerow(COLUMNS)
    for macb_row in rows:
        row = timesketch_row(macb_row.first, tz, zone_name)
        extra = {k: v for k, v in row.items() if k not in COLUMNS}
        row["extra"] = json.dumps(extra, ensure_ascii=False, default=str) if extra else ""
        writer.writerow(safe_row([row.get(c) for c in COLUMNS]))
        count += 1
    return count
