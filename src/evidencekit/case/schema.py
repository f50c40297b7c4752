"""The case database schema: every layer's migrations, run in their global order.

The schema version is ``PRAGMA user_version``: the number of migrations applied. Each layer owns
the tables it writes and ships its migrations beside its code (``case/schema.py`` for the case's
own, ``scan/schema.py``, ``timeline/schema.py``), each a :class:`~evidencekit.models.Migration`
with a global ``number``, registered through the plugin registry (kind ``schema``); this module
collects them and runs them in number order. One per change: never edit a shipped migration,
never renumber; a new one takes the next free number. A database whose version is higher than
the last number was written by a newer evidencekit and is refused with a
:class:`~evidencekit.errors.CaseError`.
"""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

from evidencekit.errors import CaseError
from evidencekit.models import Migration

CASE_MIGRATIONS: list[Migration] = [
    Migration(1, "case: metadata, examiners, exhibits, volumes, files, custody ledger and its signed head",
        """
        CREATE TABLE case_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE examiners (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, public_key TEXT NOT NULL,
            fingerprint TEXT NOT NULL, added_ns INTEGER NOT NULL
        );
        CREATE TABLE exhibits (
            id TEXT PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, description TEXT,
            seal TEXT, seized_from TEXT, seized_at TEXT, seized_on TEXT, received_from TEXT,
            acquisition_alg TEXT, acquisition_hash TEXT, stored_hashes TEXT NOT NULL DEFAULT '{}',
            media_size INTEGER, md5 TEXT, sha1 TEXT, sha256 TEXT,
            format_chain TEXT NOT NULL DEFAULT '[]', segment_files TEXT NOT NULL DEFAULT '[]',
            added_ns INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'registered'
        );
        CREATE TABLE volumes (
            exhibit TEXT NOT NULL REFERENCES exhibits(id), name TEXT NOT NULL, idx INTEGER NOT NULL,
            offset INTEGER, length INTEGER, type TEXT, label TEXT, filesystem TEXT, fs_label TEXT,
            encryption TEXT, locked INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (exhibit, name)
        );
        CREATE TABLE files (
            id INTEGER PRIMARY KEY, exhibit TEXT NOT NULL REFERENCES exhibits(id),
            volume TEXT NOT NULL, path TEXT NOT NULL, inode INTEGER, stream TEXT NOT NULL DEFAULT '',
            type TEXT NOT NULL, deleted INTEGER NOT NULL, orphan INTEGER NOT NULL DEFAULT 0,
            size INTEGER, filesystem TEXT, mode INTEGER, uid INTEGER, gid INTEGER, link_target TEXT,
            mtime INTEGER, atime INTEGER, ctime INTEGER, crtime INTEGER, dtime INTEGER,
            fn_mtime INTEGER, fn_atime INTEGER, fn_ctime INTEGER, fn_crtime INTEGER,
            time_digits INTEGER NOT NULL DEFAULT 9, assumed_zone TEXT,
            md5 TEXT, sha1 TEXT, sha256 TEXT, locator TEXT NOT NULL, warnings TEXT NOT NULL DEFAULT '[]',
            ext TEXT NOT NULL DEFAULT '', seq INTEGER NOT NULL,
            UNIQUE (exhibit, seq)
        );
        CREATE INDEX files_exhibit_path ON files(exhibit, path);
        CREATE INDEX files_sha256 ON files(sha256);
        CREATE INDEX files_md5 ON files(md5);
        CREATE TABLE files_staging AS SELECT * FROM files WHERE 0;
        CREATE UNIQUE INDEX files_staging_key ON files_staging(exhibit, seq);
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY, exhibit TEXT NOT NULL, started_ns INTEGER NOT NULL,
            pid INTEGER NOT NULL, host TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE ledger (
            seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, examiner TEXT NOT NULL,
            action TEXT NOT NULL, exhibit TEXT, body TEXT NOT NULL, prev_hash TEXT NOT NULL,
            entry_hash TEXT NOT NULL UNIQUE, signature TEXT NOT NULL, cosignatures TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE ledger_head (
            id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, entry_hash TEXT NOT NULL,
            examiner TEXT NOT NULL, signature TEXT NOT NULL
        );
        """,
    ),
    Migration(4, "case: processing commits in one transaction; drop the unused files_staging table",
              "DROP TABLE files_staging;"),
    Migration(5, "case: drop the files indexes on md5 and (exhibit, path): unused, and they slow processing",
              "DROP INDEX files_md5; DROP INDEX files_exhibit_path;"),
    Migration(7, "case: acquisition hashes read from sidecar files next to an exhibit",
              "ALTER TABLE exhibits ADD COLUMN sidecar_hashes TEXT NOT NULL DEFAULT '{}';"),
    Migration(8, "case: drop the files index on sha256 (a quarter of the insert cost; no layer looks files up by hash)",
              "DROP INDEX files_sha256;"),
    Migration(9, "case: file attributes (hidden, system, read_only, ...: FAT attribute byte, NTFS $SI flags)",
              "ALTER TABLE files ADD COLUMN attributes TEXT NOT NULL DEFAULT '';"),
    Migration(10, "case: raw bytes (hex) of names that are not UTF-8, and the code page an exhibit's names are read in",
              "ALTER TABLE files ADD COLUMN raw_name TEXT; ALTER TABLE exhibits ADD COLUMN name_encoding TEXT;"),
    Migration(11, "case: the zone an exhibit's local-time fields (FAT, zip DOS times) are read in",
              "ALTER TABLE exhibits ADD COLUMN source_tz TEXT;"),
]


@functools.cache
def migrations() -> tuple[Migration, ...]:
    """Every layer's migrations in number order; numbers must run 1..N without gaps or repeats."""
    from evidencekit.registry import registry

    plugins = registry()
    found = sorted((plugins.resolve(item) for item in plugins.items("schema")), key=lambda m: m.number)
    numbers = [m.number for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise CaseError("case schema migrations are not numbered 1..{n}: {numbers}", n=len(found),
                        numbers=numbers)
    return tuple(found)


def schema_version_supported() -> int:
    return len(migrations())


def schema_version(db: sqlite3.Connection) -> int:
    """The number of migrations applied to ``db``."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def check_version(db: sqlite3.Connection, path: Path) -> int:
    """Raise CaseError when ``db`` comes from a newer evidencekit; return its version."""
    version = schema_version(db)
    if version > schema_version_supported():
        raise CaseError(
            "{path}: case database schema version {version} is newer than this evidencekit supports "
            "({supported}); upgrade evidencekit", path=path, version=version, supported=schema_version_supported())
    return version


def migrate(db: sqlite3.Connection, path: Path) -> int:
    """Apply every pending migration, each in its own transaction; return the new version."""
    version = check_version(db, path)
    for migration in migrations()[version:]:
        number = migration.number
        try:
            db.execute("BEGIN IMMEDIATE")
            if schema_version(db) >= number:  # another process migrated meanwhile
                db.execute("ROLLBACK")
                continue
            for statement in _statements(migration.sql):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except sqlite3.Error as err:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise CaseError("{path}: migration {number} ({description}) failed: {cause}", path=path,
                            number=number, description=migration.description, cause=err) from err
    return schema_version(db)


def _statements(sql: str) -> list[str]:
    """Split a migration's SQL into complete statements (executescript would commit early)."""
    out: list[str] = []
    buf = ""
    for piece in sql.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \t\n;"):
                out.append(buf.strip())
            buf = ""
    if buf.strip(" \t\n;"):
        out.append(buf.strip())
    return out
