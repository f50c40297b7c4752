"""Rows of the ``files`` table: the encoding of inventory records and the digest the ledger signs."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from evidencekit.models import FileRecord, LocatorText

FILE_COLUMNS = (
    "exhibit", "seq", "volume", "path", "inode", "stream", "type", "deleted", "orphan", "size", "filesystem",
    "mode", "uid", "gid", "link_target", "mtime", "atime", "ctime", "crtime", "dtime", "fn_mtime", "fn_atime",
    "fn_ctime", "fn_crtime", "time_digits", "assumed_zone", "md5", "sha1", "sha256", "locator", "warnings", "ext",
    "attributes", "raw_name",  # last, and left out of the digest when empty: see _digest_chunk
)
DIGEST_CHUNK = 1024


class RowTails:
    """Renders a batch of records as ``files`` rows without their first two columns (exhibit, seq).

    Picklable, so that the walk's worker processes (``evidencekit.sources.parallel``) can render
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
        self._digest = hashlib.sha256()
        self._pending: list[tuple[Any, ...]] = []
        self._tails = RowTails()

    def __call__(self, rec: FileRecord) -> tuple[Any, ...]:
        """The full row of one record (in-process rendering)."""
        return self.number([self._tails([rec])[0][0]])[0]

    def number(self, tails: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Full rows from rendered tails, numbered after the rows seen so far."""
        start = self.count + 1
        rows = [(self.exhibit, seq, *tail) for seq, tail in enumerate(tails, start)]
        self.count += len(rows)
        self._pending += rows
        if len(self._pending) >= DIGEST_CHUNK:
            self._flush()
        return rows

    def _flush(self) -> None:
        for i in range(0, len(self._pending) - len(self._pending) % DIGEST_CHUNK, DIGEST_CHUNK):
            self._digest.update(_digest_chunk(self._pending[i:i + DIGEST_CHUNK]))
        self._pending = self._pending[len(self._pending) - len(self._pending) % DIGEST_CHUNK:]

    def hexdigest(self) -> str:
        self._flush()
        if self._pending:
            self._digest.update(_digest_chunk(self._pending))
            self._pending = []
        return self._digest.hexdigest()


def _digest_chunk(rows: list[tuple[Any, ...]]) -> bytes:
    # The attributes and raw_name columns came after the first cases were signed: trailing empty
    # ones are left out, so those digests still verify; a value lengthens the row, so any change shows.
    return json.dumps([_signed_part(row) for row in rows]).encode("ascii")


def _signed_part(row: tuple[Any, ...]) -> tuple[Any, ...]:
    if row[-1] is not None:  # raw_name
        return row
    return row[:-1] if row[-2] else row[:-2]  # attributes


def inventory_digest(db: sqlite3.Connection, exhibit: str, table: str = "files") -> tuple[int, str]:
    """(row count, sha256) over an exhibit's inventory rows in walk order: what the ledger signs.

    sha256 over the JSON of consecutive chunks of DIGEST_CHUNK rows (FILE_COLUMNS order, an empty
    ``attributes`` left out).
    """
    digest = hashlib.sha256()
    count = 0
    cols = ", ".join(FILE_COLUMNS)
    cur = db.execute(f"SELECT {cols} FROM {table} WHERE exhibit = ? ORDER BY seq", (exhibit,))
    while rows := cur.fetchmany(DIGEST_CHUNK):
        digest.update(_digest_chunk(rows))
        count += len(rows)
    return count, digest.hexdigest()
