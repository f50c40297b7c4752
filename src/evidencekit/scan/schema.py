"""The scan layer's tables in the case database: runs, file types, YARA matches, hash-set hits,
warnings. Shipped migrations are frozen: add a new one (next free number) for any change."""

from __future__ import annotations

from evidencekit.models import Migration

MIGRATIONS = (
    Migration(2, "scan: file types, YARA matches, hash-set hits, scan runs and their warnings",
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
        """),
)
