"""The timeline's tables in the case database. Shipped migrations are frozen: add a new one
(next free number) for any change."""

from __future__ import annotations

from evidencekit.models import Migration

MIGRATION_DESCRIPTION = "timeline: events, runs and warnings"
MIGRATION_SQL = """
CREATE TABLE IF NOT EXISTS timeline_runs (
    id INTEGER PRIMARY KEY, exhibit TEXT, kind TEXT NOT NULL, started_ns INTEGER NOT NULL,
    events INTEGER NOT NULL DEFAULT 0, details TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS timeline_events (
    id INTEGER PRIMARY KEY, run INTEGER REFERENCES timeline_runs(id),
    time INTEGER NOT NULL, digits INTEGER NOT NULL DEFAULT 9,
    exhibit TEXT, volume TEXT NOT NULL DEFAULT '', path TEXT NOT NULL, stream TEXT, inode INTEGER,
    source TEXT NOT NULL, parser TEXT NOT NULL, timestamp_desc TEXT NOT NULL,
    macb TEXT NOT NULL DEFAULT '', attribute TEXT, message TEXT NOT NULL DEFAULT '',
    sha256 TEXT, locator TEXT, deleted INTEGER NOT NULL DEFAULT 0, orphan INTEGER NOT NULL DEFAULT 0,
    type TEXT, size INTEGER, mode INTEGER, uid INTEGER, gid INTEGER, link_target TEXT,
    assumed_zone TEXT, flags TEXT NOT NULL DEFAULT '', entry INTEGER, extra TEXT
);
CREATE INDEX IF NOT EXISTS timeline_events_time ON timeline_events(time);
CREATE INDEX IF NOT EXISTS timeline_events_exhibit ON timeline_events(exhibit, source);
CREATE INDEX IF NOT EXISTS timeline_events_entry ON timeline_events(source, entry);
CREATE TABLE IF NOT EXISTS timeline_warnings (
    id INTEGER PRIMARY KEY, run INTEGER REFERENCES timeline_runs(id), exhibit TEXT,
    source TEXT NOT NULL, path TEXT, message TEXT NOT NULL
);
"""

# Migration 2 of the timeline: file system events are derived from inventory rows and read their
# file columns from them, so they go when their row goes (an exhibit processed again): a stale
# event must never borrow the hash or locator of another file.
FOLLOW_FILES_DESCRIPTION = "timeline: file system events are deleted with the inventory rows they derive from"
FOLLOW_FILES_SQL = """
CREATE TRIGGER IF NOT EXISTS timeline_events_follow_files AFTER DELETE ON files
BEGIN
    DELETE FROM timeline_events WHERE source = 'fs' AND entry = OLD.id AND locator IS NULL;
END;
"""


MIGRATIONS = (
    Migration(3, MIGRATION_DESCRIPTION, MIGRATION_SQL),
    Migration(6, FOLLOW_FILES_DESCRIPTION, FOLLOW_FILES_SQL),
)
