"""The case: a directory holding ``case.db`` (SQLite, WAL) plus ``exports/`` and ``reports/``."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidencekit import settings
from evidencekit.case import ledger, schema
from evidencekit.case.examiners import Examiner
from evidencekit.errors import CaseError

if TYPE_CHECKING:
    from datetime import datetime

    from evidencekit.timeline.events import TimelineEvent

DB_NAME = "case.db"
FORMAT = "evidencekit-case"
SUBDIRS = ("exports", "reports")
log = logging.getLogger(__name__)
META_FIELDS = ("number", "title", "authority", "authority_date")


@dataclass
class Run:
    """The run context of one custody action: its open write transaction and its ledger entry.

    Analysis never sees the case: the pipeline opens a run and hands the layer ``run.db`` (or calls
    :meth:`insert`), fills ``details``/``inputs`` and names each output with :meth:`record`; on
    leaving the ``with`` block the results and the signed entry commit together, or neither does.
    """

    db: sqlite3.Connection
    details: dict[str, Any]
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    entry: ledger.LedgerEntry | None = None

    def insert(self, table: str, columns: tuple[str, ...], rows: Any) -> None:
        """Insert ``rows`` (tuples in ``columns`` order) into one of the layer's tables."""
        marks = ", ".join("?" * len(columns))
        self.db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def record(self, key: str, value: Any) -> None:
        """Name an output of this action: ``db:<table>/<id>`` -> digest, a case-relative path ->
        sha256, or None for results this action supersedes. ``custody verify`` re-checks each."""
        self.outputs[key] = value


@dataclass(frozen=True)
class Exhibit:
    """A registered exhibit (a row of ``exhibits``)."""

    id: str
    path: str
    kind: str
    description: str | None
    seal: str | None
    seized_from: str | None
    seized_at: str | None
    seized_on: str | None
    received_from: str | None
    acquisition_alg: str | None
    acquisition_hash: str | None
    stored_hashes: dict[str, str]
    media_size: int | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    format_chain: list[str]
    segment_files: list[str]
    added_ns: int
    status: str
    sidecar_hashes: dict[str, str] = field(default_factory=dict)
    name_encoding: str | None = None  # code page of the exhibit's 8-bit archive or folder names
    source_tz: str | None = None  # zone of its local-time fields (FAT, zip DOS times); None: UTC

    @property
    def hashes(self) -> dict[str, str]:
        return {k: v for k, v in (("md5", self.md5), ("sha1", self.sha1), ("sha256", self.sha256)) if v}


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (explicit BEGIN IMMEDIATE), WAL, full sync, busy timeout."""
    db = sqlite3.connect(path, timeout=settings.get().busy_timeout_s, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


class Case:
    """An open case. Create with :meth:`init`, open with :meth:`open`."""

    def __init__(self, root: Path, db: sqlite3.Connection):
        self.root = root
        self.db = db
        self.meta = dict(db.execute("SELECT key, value FROM case_meta").fetchall())
        self.id = self.meta["id"]
        self._told_busy = False

    # -- creation and opening -------------------------------------------------------------
    @classmethod
    def init(
        cls,
        directory: str | os.PathLike[str],
        *,
        number: str,
        title: str,
        authority: str,
        authority_date: str | None = None,
        examiner: Examiner | None = None,
    ) -> Case:
        """Create a case in ``directory`` (absent or empty); CaseError otherwise.

        With ``examiner``, the creation (number, title, authority) is the ledger's first entry.
        Built in a temporary sibling directory and renamed into place: nothing half-written.
        """
        root = Path(directory).absolute()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise CaseError("{path}: exists and is not an empty directory; a case needs a new or empty one", path=root)
        for name, value in (("number", number), ("title", title), ("authority", authority)):
            if not value or not value.strip():
                raise CaseError("{root}: case {name} must not be empty", root=root, name=name)
        try:
            root.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise CaseError("{parent}: cannot create the parent directory: {cause}", parent=root.parent,
                            cause=err.strerror) from err
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
        try:
            _build(tmp, number, title, authority, authority_date, examiner)
            if root.exists():
                root.rmdir()
            tmp.rename(root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return cls.open(root)

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> Case:
        """Open an existing case; CaseError when it is missing, not a case, or from a newer schema."""
        root = Path(directory).absolute()
        db_path = root / DB_NAME
        if not root.is_dir():
            raise CaseError("{path}: no such case directory", path=root)
        if not db_path.is_file():
            raise CaseError("{path}: not a case (no {name})", path=root, name=DB_NAME)
        try:
            db = connect(db_path)
            schema.check_version(db, db_path)
            fmt = db.execute("SELECT value FROM case_meta WHERE key = 'format'").fetchone()
        except sqlite3.DatabaseError as err:
            raise CaseError("{db_path}: not a case database ({cause})", db_path=db_path, cause=err) from err
        if not fmt or fmt[0] != FORMAT:
            raise CaseError("{db_path}: not an evidencekit case database", db_path=db_path)
        missing = {"id", *META_FIELDS} - {r[0] for r in db.execute("SELECT key FROM case_meta")}
        if missing:
            raise CaseError("{db_path}: case metadata incomplete (missing {listing})", db_path=db_path,
                            listing=', '.join(sorted(missing)))
        schema.migrate(db, db_path)
        return cls(root, db)

    def close(self) -> None:
        """Close the case database (a ``with Case.open(...)`` block does it)."""
        self.db.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- actions --------------------------------------------------------------------------
    @contextlib.contextmanager
    def run(
        self,
        action: str,
        *,
        examiner: Examiner,
        exhibit: str | None = None,
        details: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        cosigners: tuple[Examiner, ...] = (),
    ) -> Iterator[Run]:
        """The run context of one custody action: results and the signed ledger entry in one
        write transaction (see :class:`Run`)."""
        act = Run(self.db, dict(details or {}), dict(inputs or {}))
        with self.transaction():
            yield act
            if exhibit is not None:
                self.exhibit(exhibit)  # CaseError (and rollback) for an unknown exhibit
            act.entry = ledger.append(
                self.db, self.id, examiner, action, exhibit=exhibit, details=act.details,
                inputs=act.inputs, outputs=act.outputs, cosigners=cosigners,
            )

    @contextlib.contextmanager
    def transaction(self, wait: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception.

        Waits for another writer up to the busy timeout ($EVIDENCEKIT_BUSY_TIMEOUT seconds,
        default 600), or as long as it takes with ``wait`` (saying so once on stderr).
        """
        self._begin(wait)
        try:
            yield self.db
            self.db.execute("COMMIT")
        except sqlite3.Error as err:
            self._rollback()
            raise CaseError("{path}: database error: {cause}", path=self.root / DB_NAME, cause=err) from err
        except BaseException:
            self._rollback()
            raise

    def _begin(self, wait: bool) -> None:
        if self.db.in_transaction:
            raise CaseError("{root}: a case action or transaction was started inside another one",
                            root=self.root)
        if wait:  # first a short try, so that the notice comes early
            self.db.execute("PRAGMA busy_timeout = 2000")
        try:
            while True:
                try:
                    self.db.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as err:
                    if not wait or "locked" not in str(err):
                        raise CaseError("{path}: case is busy (another process is writing to it): {cause}", path=self.root,
                                        cause=err) from err
                    if not self._told_busy:
                        log.warning("%s: another process is writing to the case; waiting", self.root)
                        self._told_busy = True
                    self.db.execute(f"PRAGMA busy_timeout = {int(settings.get().busy_timeout_s * 1000)}")
        finally:
            if wait:
                self.db.execute(f"PRAGMA busy_timeout = {int(settings.get().busy_timeout_s * 1000)}")

    def _rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    # -- exhibits -------------------------------------------------------------------------
    def exhibits(self) -> list[Exhibit]:
        """Every exhibit of the case, in the order they were added."""
        return [_exhibit(r) for r in self.db.execute(_EXHIBIT_SELECT + " ORDER BY added_ns, id")]

    def exhibit(self, exhibit_id: str) -> Exhibit:
        """The exhibit ``exhibit_id``; CaseError when the case has none of that id."""
        row = self.db.execute(_EXHIBIT_SELECT + " WHERE id = ?", (exhibit_id,)).fetchone()
        if row is None:
            raise CaseError("{path}: no exhibit {exhibit!r} in this case", path=self.root, exhibit=exhibit_id)
        return _exhibit(row)

    def entries(self) -> list[ledger.LedgerEntry]:
        """The custody ledger's entries in order (signed, hash-chained)."""
        return ledger.entries(self.db)

    def timeline(self, *, start: int | datetime | None = None, end: int | datetime | None = None,
                 exhibit: str | None = None, source: str | None = None, grep: str | None = None,
                 flagged: bool = False, limit: int | None = None) -> Iterator[TimelineEvent]:
        """The case's timeline events in time order, filtered.

        ``start``/``end``: ns UTC or an aware ``datetime`` (``end`` exclusive); ``exhibit``: one
        exhibit; ``source``: ``fs``, ``plaso``, ``native`` or a parser; ``grep``: text in the path
        or message; ``flagged``: only events with an anomaly flag. An exhibit or source that
        matches nothing is a ValidationError naming those that exist.
        """
        from evidencekit.timeline.store import Query, check_selection, query
        from evidencekit.times import to_ns

        q = Query(to_ns(start), to_ns(end), exhibit, source, grep, flagged, limit)
        check_selection(self.db, str(self.root), [ex.id for ex in self.exhibits()], q)
        return query(self.db, q)


_EXHIBIT_COLUMNS = (
    "id", "path", "kind", "description", "seal", "seized_from", "seized_at", "seized_on", "received_from",
    "acquisition_alg", "acquisition_hash", "stored_hashes", "media_size", "md5", "sha1", "sha256",
    "format_chain", "segment_files", "added_ns", "status", "sidecar_hashes", "name_encoding", "source_tz",
)
_EXHIBIT_SELECT = f"SELECT {', '.join(_EXHIBIT_COLUMNS)} FROM exhibits"


def _exhibit(row: tuple[Any, ...]) -> Exhibit:
    data = dict(zip(_EXHIBIT_COLUMNS, row, strict=True))
    for key in ("stored_hashes", "format_chain", "segment_files", "sidecar_hashes"):
        data[key] = json.loads(data[key])
    return Exhibit(**data)


def _build(
    tmp: Path, number: str, title: str, authority: str, authority_date: str | None, examiner: Examiner | None
) -> None:
    for sub in SUBDIRS:
        (tmp / sub).mkdir()
    db = connect(tmp / DB_NAME)
    try:
        schema.migrate(db, tmp / DB_NAME)
        meta = {"format": FORMAT, "id": str(uuid.uuid4()), "number": number.strip(), "title": title.strip(),
                "authority": authority.strip(), "authority_date": (authority_date or "").strip(),
                "created_ns": str(time.time_ns())}
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO case_meta (key, value) VALUES (?, ?)", meta.items())
        if examiner is not None:
            details = {k: meta[k] for k in META_FIELDS}
            ledger.append(db, meta["id"], examiner, "created", details=details)
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
