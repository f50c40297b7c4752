"""Writers for file records: JSONL, CSV and the TSK 3.x bodyfile that ``mactime`` reads.

JSONL and CSV carry times as ISO-8601 at the source's precision in the display zone and name that
zone in every record; the bodyfile carries whole seconds since the epoch, as TSK defines it.
"""

from __future__ import annotations

import csv
import json
import stat
from collections.abc import Iterable
from typing import TextIO
from zoneinfo import ZoneInfo

from evidencekit.models import TIME_FIELDS, FileRecord

FILE_FORMATS = ("jsonl", "csv", "bodyfile")
COLUMNS = ("volume", "path", "stream", "inode", "type", "deleted", "orphan", "size", "md5", "sha1", "sha256",
           *TIME_FIELDS, "filesystem", "assumed_zone", "mode", "uid", "gid", "link_target", "display_zone",
           "locator", "warnings")
_TYPE_LETTER = {"file": "r", "dir": "d", "symlink": "l", "fifo": "p", "chardev": "c", "blockdev": "b",
                "socket": "s", "virtual": "v", "virtual_dir": "V", "hardlink": "h"}


def record_dict(record: FileRecord, zone: ZoneInfo | None = None, zone_name: str = "UTC") -> dict:
    """A record as a flat, JSON-ready dict (times rendered in the display zone)."""
    from evidencekit.cli.common import render_time

    digits = record.time_digits
    out = {
        "volume": record.volume, "path": record.path, "stream": record.stream, "inode": record.inode,
        "type": record.type, "deleted": record.deleted, "orphan": record.orphan, "size": record.size,
        "md5": record.md5, "sha1": record.sha1, "sha256": record.sha256,
    }
    for key in TIME_FIELDS:
        out[key] = render_time(getattr(record, key), digits, zone)
    out.update(filesystem=record.filesystem, assumed_zone=record.assumed_zone, mode=record.mode, uid=record.uid,
               gid=record.gid, link_target=record.link_target, display_zone=zone_name,
               locator=json.loads(record.locator.to_json()), warnings=list(record.warnings))
    return out


def write_records(records: Iterable[FileRecord], out: TextIO, fmt: str, zone: ZoneInfo | None = None,
                  zone_name: str = "UTC") -> int:
    """Stream records to ``out`` in ``fmt``; returns how many records were written."""
    count = 0
    if fmt == "bodyfile":
        for record in records:
            for line in bodyfile_lines(record):
                out.write(line + "\n")
            count += 1
        return count
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore") if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for record in records:
        row = record_dict(record, zone, zone_name)
        if writer:
            row["locator"] = record.locator.to_json()
            row["warnings"] = "; ".join(record.warnings)
            writer.writerow(row)
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def mode_string(record: FileRecord) -> str:
    """``r/rrw-r--r--`` as fls -m writes it: the name type, then the metadata type and permissions."""
    letter = _TYPE_LETTER.get(record.type, "-")
    perms = stat.filemode(record.mode or 0)[1:] if record.mode is not None else "---------"
    return f"{letter}/{letter}{perms}"


def _secs(ns: int | None) -> int:
    return 0 if ns is None else ns // 1_000_000_000


def bodyfile_lines(record: FileRecord) -> list[str]:
    """One bodyfile line (two for NTFS: $STANDARD_INFORMATION and $FILE_NAME), as ``fls -m`` does."""
    name = record.path + (f":{record.stream}" if record.stream else "")
    suffix = " (deleted)" if record.deleted else ""
    md5 = record.md5 or "0"
    inode = "0" if record.inode is None else str(record.inode)
    common = f"{mode_string(record)}|{record.uid or 0}|{record.gid or 0}|{record.size or 0}"
    lines = [f"{md5}|{_clean(name)}{suffix}|{inode}|{common}|{_secs(record.atime)}|{_secs(record.mtime)}|"
             f"{_secs(record.ctime)}|{_secs(record.crtime)}"]
    if record.fn_crtime is not None and not record.stream:
        lines.append(f"0|{_clean(record.path)} ($FILE_NAME){suffix}|{inode}|{common}|{_secs(record.fn_atime)}|"
                     f"{_secs(record.fn_mtime)}|{_secs(record.fn_ctime)}|{_secs(record.fn_crtime)}")
    return lines


def _clean(name: str) -> str:
    return name.replace("|", "\\|").replace("\n", "\\n")
