"""Case database schema as an ordered list of migrations.

The schema version is ``PRAGMA user_version``: the number of migrations applied. Each layer that
needs tables appends its own migration to :data:`MIGRATIONS` (one per change, never edit a shipped
one, never reorder). A database whose version is higher than ``len(MIGRATIONS)`` was written by a
newer evidencekit and is refused with a :class:`~evidencekit.errors.CaseError`.

Example of a migration added by another layer::

    MIGRATIONS.append(Migration("timeline: events table", '''
        CREATE TABLE timeline_events (...);
    '''))

Append in ``case/schema.py`` itself (not at import time of another module) so that every reader of
a case sees the same list.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from evidencekit.errors import CaseError
from evidencekit.timeline import store as _timeline_store


@dataclass(frozen=True)
class Migration:
    """One schema change: a description and SQL statements run in one transaction."""

    description: str
    sql: str


MIGRATIONS: list[Migration] = [
    Migration(
        "case: metadata, examiners, exhibits, volumes, files, custody ledger and its signed head",
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
    Migration(
        "scan: file types, YARA matches, hash-set hits, scan runs and their warnings",
        """
        CREATE TABLE scan_runs (
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, exhibit TEXT NOT NULL REFERENCES exhibits(id),
            time_ns INTEGER NOT NULL, ruleset_sha256 TEXT, parameters TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE file_types (
            file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
            mime TEXT NOT NULL, description TEXT NOT NULL, mismatch INTEGER,
            run_id INTEGER NOT NULL REFERENCES scan_runs(id)
        );
        CREATE INDEX file_types_mime ON file_types(mime);
        CREATE TABLE yara_matches (
            id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            run_id INTEGER NOT NULL REFERENCES scan_runs(id), ruleset_sha256 TEXT NOT NULL,
            rule TEXT NOT NULL, namespace TEXT NOT NULL, tags TEXT NOT NULL, meta TEXT NOT NULL,
            strings TEXT NOT NULL
        );
        CREATE INDEX yara_matches_file ON yara_matches(file_id);
        CREATE INDEX yara_matches_rule ON yara_matches(rule);
        CREATE TABLE hashset_hits (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE, hashset TEXT NOT NULL,
            kind TEXT NOT NULL, algorithm TEXT NOT NULL, run_id INTEGER NOT NULL REFERENCES scan_runs(id),
            PRIMARY KEY (file_id, hashset)
        );
        CREATE INDEX hashset_hits_kind ON hashset_hits(kind, file_id);
        CREATE TABLE scan_warnings (
            run_id INTEGER NOT NULL REFERENCES scan_runs(id),
            file_id INTEGER REFERENCES files(id) ON DELETE CASCADE, message TEXT NOT NULL
        );
        CREATE INDEX scan_warnings_run ON scan_warnings(run_id);
        CREATE VIEW file_scan AS
            SELECT f.id AS file_id, t.mime, t.description, t.mismatch,
                   (SELECT group_concat(r, ',') FROM (SELECT DISTINCT y.rule AS r FROM yara_matches y
                        WHERE y.file_id = f.id ORDER BY y.rule)) AS yara_rules,
                   EXISTS (SELECT 1 FROM hashset_hits h WHERE h.file_id = f.id AND h.kind = 'known-bad') AS known_bad,
                   EXISTS (SELECT 1 FROM hashset_hits h WHERE h.file_id = f.id AND h.kind = 'known-good') AS known_good
            FROM files f LEFT JOIN file_types t ON t.file_id = f.id;
        """,
    ),
    # timeline (owner: timeline/): the SQL lives beside the code that uses it and is frozen there.
    Migration(_timeline_store.MIGRATION_DESCRIPTION, _timeline_store.MIGRATION_SQL),
    Migration("case: processing commits in one transaction; drop the unused files_staging table",
              "DROP TABLE files_staging;"),
    Migration("case: drop the files indexes on md5 and (exhibit, path): unused, and they slow processing",
              "DROP INDEX files_md5; DROP INDEX files_exhibit_path;"),
    Migration(_timeline_store.FOLLOW_FILES_DESCRIPTION, _timeline_store.FOLLOW_FILES_SQL),
    Migration("case: acquisition hashes read from sidecar files next to an exhibit",
              "ALTER TABLE exhibits ADD COLUMN sidecar_hashes TEXT NOT NULL DEFAULT '{}';"),
    Migration("case: drop the files index on sha256 (a quarter of the insert cost; no layer looks files up by hash)",
              "DROP INDEX files_sha256;"),
    Migration("case: file attributes (hidden, system, read_only, ...: FAT attribute byte, NTFS $SI flags)",
              "ALTER TABLE files ADD COLUMN attributes TEXT NOT NULL DEFAULT '';"),
    Migration("case: the zone an exhibit's local-time fields (FAT, zip DOS times) are read in",
              "ALTER TABLE exhibits ADD COLUMN source_tz TEXT;"),
]

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite3.Connection) -> int:
    """The number of migrations applied to ``db``."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def check_version(db: sqlite3.Connection, path: Path) -> int:
    """Raise CaseError when ``db`` comes from a newer evidencekit; return its version."""
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise CaseError(
            f"{path}: case database schema version {version} is newer than this evidencekit "
            f"supports ({SCHEMA_VERSION}); upgrade evidencekit"
        )
    return version


def migrate(db: sqlite3.Connection, path: Path) -> int:
    """Apply every pending migration, each in its own transaction; return the new version."""
    version = check_version(db, path)
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
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
            raise CaseError(f"{path}: migration {number} ({migration.description}) failed: {err}") from err
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
