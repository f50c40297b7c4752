"""File system events derived inside SQLite from the case inventory (the fast path of a build).

This is :func:`events.derive_all` with :func:`anomalies.record_flags` expressed as one
``INSERT ... SELECT`` per time field, so that 200,000 events never pass through Python objects.
Both forms must give identical events: tests/timeline/test_fs_sql.py compares them on real images.
Only what belongs to the event is stored (time, meaning, flags, path, stream); the file's other
columns (volume, inode, hashes, locator, ...) are joined from ``files`` by ``entry`` when read.
"""

from __future__ import annotations

import sqlite3

from evidencekit.timeline.anomalies import NS, AnomalyContext
from evidencekit.timeline.events import FN, FS_TIMES, SI, SOURCE_FS

_CHANGE_BIRTH = ("ctime", "crtime", "fn_ctime", "fn_crtime")
_NTFS = "(lower(coalesce(f.filesystem, '')) = 'ntfs' OR f.fn_crtime IS NOT NULL)"
# $FILE_NAME times belong to the name: only the first record (walk order) of a name carries them.
_FIRST_NAME = """((f.fn_crtime IS NULL AND f.fn_mtime IS NULL) OR f.seq IN (
    SELECT min(g.seq) FROM files g WHERE g.exhibit = :exhibit
    AND (g.fn_crtime IS NOT NULL OR g.fn_mtime IS NOT NULL) GROUP BY g.volume, g.inode, g.path))"""


def _created_sql(fs_created: dict[str, int]) -> str:
    """The volume's file system creation time as an inline CASE (cheaper than a join per row)."""
    if not fs_created:
        return "NULL"
    whens = " ".join(f"WHEN {_quote(vol)} THEN {int(ns)}" for vol, ns in sorted(fs_created.items()))
    return f"(CASE f.volume {whens} END)"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _flags(col: str, created: str) -> str:
    checks = []
    if col == "crtime":
        checks.append(("f.crtime < f.fn_crtime", "si_created_before_fn"))
    if col in ("mtime", "atime", "ctime", "crtime"):
        checks.append((f"(f.{col} % {NS} = 0 AND f.fn_{col} % {NS} != 0)", "si_zero_fraction"))
    checks.append((f"f.{col} > :ref", "future"))
    if col in _CHANGE_BIRTH and created != "NULL":
        checks.append((f"f.{col} < {created}", "before_fs_created"))
    listed = " || ".join(f"CASE WHEN {cond} THEN '{flag},' ELSE '' END" for cond, flag in checks)
    # Most events carry no flag: test once, build the list only for those that do.
    return f"CASE WHEN {' OR '.join(f'coalesce({c}, 0)' for c, _ in checks)} THEN rtrim({listed}, ',') ELSE '' END"


def _select(col: str, desc: str, letter: str, attribute: str | None, created: str) -> str:
    if attribute == FN:
        attr, stream, extra_where = f"'{FN}'", "NULL", f" AND {_FIRST_NAME}"
    elif col == "dtime":
        attr, stream, extra_where = "NULL", "NULLIF(f.stream, '')", ""
    else:
        attr, stream, extra_where = f"CASE WHEN {_NTFS} THEN '{SI}' END", "NULLIF(f.stream, '')", ""
    return f"""
        INSERT INTO timeline_events (run, time, digits, exhibit, volume, path, stream, inode, source, parser,
            timestamp_desc, macb, attribute, message, sha256, locator, deleted, orphan, type, size, mode, uid,
            gid, link_target, assumed_zone, flags, entry, extra)
        SELECT :run, f.{col}, f.time_digits, f.exhibit, '', f.path, {stream}, NULL, '{SOURCE_FS}',
            'filesystem', '{desc}', '{letter}', {attr}, '', NULL, NULL, 0, 0,
            NULL, NULL, NULL, NULL, NULL, NULL, NULL, {_flags(col, created)}, f.id, NULL
        FROM files f
        WHERE f.exhibit = :exhibit AND f.{col} IS NOT NULL{extra_where}
        ORDER BY f.seq"""


def insert_fs_events(db: sqlite3.Connection, run: int, exhibit: str, ctx: AnomalyContext) -> int:
    """Derive and insert the exhibit's file system events; returns how many were written."""
    args = {"run": run, "exhibit": exhibit, "ref": ctx.reference_ns}
    created = _created_sql(ctx.fs_created)
    total = 0
    for col, desc, letter, attribute in FS_TIMES:
        total += db.execute(_select(col, desc, letter, attribute, created), args).rowcount
    return total
