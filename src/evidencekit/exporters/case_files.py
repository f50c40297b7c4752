"""``case files``: a case's inventory rows as a table, JSONL or CSV (the columns of ``evidencekit files``);
``--format xlsx`` is ``exporters.xlsx.write_files``."""

from __future__ import annotations

import csv
import json
from typing import TextIO

from evidencekit.case.query import FileFilter, select_files
from evidencekit.case.store import Case
from evidencekit.exporters.files import COLUMNS, record_dict
from evidencekit.textout import EXCEL_BOM, csv_dialect, escape_control
from evidencekit.times import zone

TABLE_COLUMNS = ("exhibit", "volume", "inode", "deleted", "size", "sha256", "path")


def write_files(case: Case, flt: FileFilter, fmt: str, out: TextIO, excel: bool = False, tz: str = "UTC") -> int:
    """Write matching rows as table, jsonl or csv (jsonl/csv: the columns of ``evidencekit files``).

    Table and CSV escape control characters in names (a name cannot forge a line); ``excel``:
    CSV with a byte order mark, ``;`` and CRLF; ``tz``: the display zone of jsonl and csv times."""
    count = 0
    writer = csv.DictWriter(out, fieldnames=("exhibit", *COLUMNS), extrasaction="ignore",
                            dialect=csv_dialect(excel)) if fmt == "csv" else None
    if writer:
        out.write(EXCEL_BOM if excel else "")
        writer.writeheader()
    elif fmt == "table":
        out.write("\t".join(TABLE_COLUMNS) + "\n")
    for exhibit, rec in select_files(case, flt):
        count += 1
        if fmt == "table":
            out.write(f"{exhibit}\t{rec.volume or '-'}\t{rec.inode if rec.inode is not None else '-'}\t"
                      f"{'deleted' if rec.deleted else '-'}\t{rec.size if rec.size is not None else '-'}\t"
                      f"{rec.sha256 or '-'}\t{escape_control(rec.path + (':' + rec.stream if rec.stream else ''))}\n")
            continue
        row = {"exhibit": exhibit, **record_dict(rec, zone(tz), tz)}
        if writer:
            row["locator"] = rec.locator.to_json()
            row["warnings"] = "; ".join(rec.warnings)
            row["attributes"] = " ".join(rec.attributes)
            writer.writerow({k: escape_control(v) if isinstance(v, str) else v for k, v in row.items()})
        else:  # the locator as stored (ASCII JSON): an undecodable name stays a \udcff escape in it
            row.pop("locator")
            out.write(json.dumps(row, ensure_ascii=False)[:-1] + f', "locator": {rec.locator.to_json()}}}\n')
    return count
