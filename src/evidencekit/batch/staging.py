"""Inventory rows of one process step, stored as their parts come back (not held in memory).

Parts return in any order; each is numbered (``seq``) and digested by the step's
``RowEncoder`` once every earlier part is in, then inserted into a TEMP table of the
coordinator's connection (SQLite's temp store: a file, private to this connection, gone with it,
so a killed coordinator leaves nothing behind). The step's one write transaction then copies
the table into ``files`` in ``seq`` order: the same rows, ids and digest as ``case process``.
Only parts that came back early (out of order) wait in memory.
"""

from __future__ import annotations

import itertools
import sqlite3
from typing import Any

from evidencekit.case.rows import FILE_COLUMNS, RowEncoder

_NAMES = itertools.count(1)
COLUMNS = ", ".join(FILE_COLUMNS)


class Staging:
    """The rows of ``parts`` listing parts of one exhibit, numbered in walk order."""

    def __init__(self, db: sqlite3.Connection, exhibit_id: str, parts: int):
        self.db, self.parts = db, parts
        self.encoder = RowEncoder(exhibit_id)
        self.table = f"temp.batch_rows_{next(_NAMES)}"
        self._next = 0
        self._early: dict[int, list[tuple[Any, ...]]] = {}
        db.execute(f"CREATE TEMP TABLE {self.table.split('.', 1)[1]} AS SELECT {COLUMNS} FROM main.files WHERE 0")
        self._insert = f"INSERT INTO {self.table} ({COLUMNS}) VALUES ({', '.join('?' * len(FILE_COLUMNS))})"

    def add(self, part: int, tails: list[tuple[Any, ...]]) -> None:
        """Part ``part``'s rows (without exhibit and seq); stored once the parts before it are."""
        if part < self._next or part in self._early:
            return  # a part returned twice is stored once
        self._early[part] = tails
        while self._next in self._early:
            self.db.executemany(self._insert, self.encoder.number(self._early.pop(self._next)))
            self._next += 1

    def last_missing(self, part: int) -> bool:
        """Whether ``part`` is the only part not yet received."""
        received = self._next + len(self._early)
        return received == self.parts - 1 and part >= self._next and part not in self._early

    @property
    def complete(self) -> bool:
        return self._next == self.parts

    def copy_into_files(self, db: sqlite3.Connection) -> None:
        """Inside the step's write transaction: the rows into ``files``, in walk order."""
        db.execute(f"INSERT INTO main.files ({COLUMNS}) SELECT {COLUMNS} FROM {self.table} ORDER BY seq")

    def drop(self) -> None:
        self.db.execute(f"DROP TABLE IF EXISTS {self.table}")
