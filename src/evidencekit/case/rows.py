"""Rows of the ``files`` table: the encoding of inventory records and the digest the ledger signs."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from evidencekit.hashing import RowDigest
from evidencekit.models import FileRecord, LocatorText

FILE_COLUMNS = (
    "exhibit", "seq", "volume", "path", "inode", "stream", "type", "deleted", "orphan", "size", "filesystem",
    "mode", "uid", "gid", "link_target", "mtime", "atime", "ctime", "crtime", "dtime", "fn_mtime", "fn_atime",
    "fn_ctime", "fn_crtime", "time_digits", "assumed_zone", "md5", "sha1", "sha256", "locator", "warnings", "ext",
    "attributes",  # the legacy digest left it out when empty: see _legacy_chunk
    "raw_name",  # last, left out of the digest when NULL: see signed_rows
)
LEGACY_COLUMNS = FILE_COLUMNS[:-1]  # raw_name came after the canonical digest
LEGACY_CHUNK = 1024


class RowTails:
    """Renders a batch of records as ``files`` rows without their first two columns (exhibit, seq).

    Picklable, so that the walk's worker processes (``evidencekit.inventory.parallel``) can render
    their segments; returns ``(rows, count)`` as a renderer of ``segments`` does.
    """

    def __init__(self) -> None:
        self._locator: LocatorText | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._locator = None

    def __call__(self, records: list[FileRecord]) -> tuple[list[tuple[Any, ...]], int]:
        if self._locator is None:
            self._locator = LocatorText()
        return [self.tail(rec) for rec in records], len(records)

    def tail(self, rec: FileRecord) -> tuple[Any, ...]:
        assert self._locator is not None
        name = rec.path.rsplit("/", 1)[-1]
        ext = name.rsplit(".", 1)[-1].lower() if rec.type == "file" and "." in name.lstrip(".") else ""
        return (
            rec.volume, rec.path, rec.inode, rec.stream or "", rec.type, int(rec.deleted),
            int(rec.orphan), rec.size, rec.filesystem, rec.mode, rec.uid, rec.gid, rec.link_target, rec.mtime,
            rec.atime, rec.ctime, rec.crtime, rec.dtime, rec.fn_mtime, rec.fn_atime, rec.fn_ctime, rec.fn_crtime,
            rec.time_digits, rec.assumed_zone, rec.md5, rec.sha1, rec.sha256, self._locator(rec.locator),
            json.dumps(list(rec.warnings)) if rec.warnings else "[]", ext, " ".join(rec.attributes), rec.raw_name,
        )


class RowEncoder:
    """Numbers rendered rows in walk order (``seq``) and digests them as it goes.

    The digest is the one :func:`inventory_digest` recomputes from the stored rows.
    """

    def __init__(self, exhibit: str):
        self.exhibit = exhibit
        self.count = 0
        self._digest = RowDigest()
        self._tails = RowTails()

    def __call__(self, rec: FileRecord) -> tuple[Any, ...]:
        """The full row of one record (in-process rendering)."""
        return self.number([self._tails([rec])[0][0]])[0]

    def number(self, tails: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Full rows from rendered tails, numbered after the rows seen so far."""
        start = self.count + 1
        rows = [(self.exhibit, seq, *tail) for seq, tail in enumerate(tails, start)]
        self.count += len(rows)
        self._digest.rows(signed_rows(rows))
        return rows

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def signed_rows(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Rows as the digest covers them: a NULL raw_name (every name that is UTF-8) is left out, so
    entries signed before the column existed still verify; a raw name lengthens the row."""
    for row in rows:
        yield row if row[-1] is not None else row[:-1]


def _legacy_chunk(rows: list[tuple[Any, ...]]) -> bytes:
    # The attributes column came after the first cases were signed: an empty one is left out, so
    # those digests still verify; a non-empty one lengthens the row, so any change to it shows.
    return json.dumps([row if row[-1] else row[:-1] for row in rows]).encode("ascii")


def inventory_digest(db: sqlite3.Connection, exhibit: str, table: str = "files") -> tuple[int, str]:
    """(row count, sha256) over an exhibit's inventory rows in walk order: what the ledger signs.

    The canonical row digest (``hashing.RowDigest``) of the rows in FILE_COLUMNS order.
    """
    digest = RowDigest()
    count = 0
    cur = db.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM {table} WHERE exhibit = ? ORDER BY seq", (exhibit,))
    while rows := cur.fetchmany(4096):
        digest.rows(signed_rows(rows))
        count += len(rows)
    return count, digest.hexdigest()


def legacy_files_digest(db: sqlite3.Connection, exhibit: str) -> str:
    """The digest 'processed' entries signed before the canonical form (json.dumps of chunks of
    1024 rows, an empty ``attributes`` left out): kept only so that those entries still verify."""
    digest = hashlib.sha256()
    cur = db.execute(f"SELECT {', '.join(LEGACY_COLUMNS)} FROM files WHERE exhibit = ? ORDER BY seq", (exhibit,))
    while rows := cur.fetchmany(LEGACY_CHUNK):
        digest.update(_legacy_chunk(rows))
    return digest.hexdigest()


def volumes_digest(db: sqlite3.Connection, exhibit_id: str) -> str:
    """sha256 of the exhibit's volume rows (name order), as the 'processed' entry signs them."""
    rows = db.execute("SELECT name, idx, offset, length, type, label, filesystem, fs_label, encryption, locked "
                      "FROM volumes WHERE exhibit = ? ORDER BY idx, name", (exhibit_id,)).fetchall()
    return hashlib.sha256(json.dumps(rows).encode("ascii")).hexdigest()


def files_digest(db: sqlite3.Connection, exhibit: str) -> str:
    """The digest a 'processed' entry signs over the exhibit's inventory (``db:files/<exhibit>``)."""
    return inventory_digest(db, exhibit)[1]
