"""``evidencekit extract CASE``: files of a processed exhibit copied out, checked against the inventory.

The entries come from the case's inventory (allocated, deleted and NTFS streams alike) and are
reopened by their stored locators; each copy's SHA-256 is compared with the inventory's, and the
manifest's hash is signed into the ledger in an ``extracted`` entry (an output the ledger
re-checks when the directory is inside the case).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.case.examiners import Examiner
from evidencekit.case.store import Case
from evidencekit.errors import ValidationError
from evidencekit.extract import Extracted, OutputDir, copy_all, plan, write_manifest
from evidencekit.findings.items import file_rows
from evidencekit.hashing import sha256_file
from evidencekit.models import TIME_FIELDS, FileRecord, Locator
from evidencekit.sources import Credentials

_COLUMNS = ("volume", "path", "inode", "type", "deleted", "size", "locator", "stream", "time_digits",
            "assumed_zone", "md5", "sha1", "sha256", *TIME_FIELDS)


@dataclass
class CaseExtraction:
    files: list[Extracted]
    manifest: Path
    manifest_sha256: str
    entry_seq: int

    @property
    def mismatches(self) -> list[Extracted]:
        """Copies that differ from the inventory, or could not be read."""
        return [f for f in self.files if f.check in ("MISMATCH", "unreadable")]


def _record(row: tuple[Any, ...]) -> FileRecord:
    data = dict(zip(_COLUMNS, row, strict=True))
    data["locator"] = Locator.from_json(data["locator"])
    data["deleted"] = bool(data["deleted"])
    data["stream"] = data["stream"] or None
    return FileRecord.from_fields(data)


def _rows(case: Case, exhibit: str, paths: list[str], globs: list[str], deleted_only: bool,
          volume: str | None) -> list[FileRecord]:
    cols = ", ".join(_COLUMNS)
    chosen: dict[str, FileRecord] = {}
    for path in paths:
        found = file_rows(case.db, exhibit, path, volume)
        if not found:
            raise ValidationError("{root}: exhibit {exhibit}: path {path!r} not in its inventory",
                                  root=case.root, exhibit=exhibit, path=path)
        for (_id, *_rest) in found:
            row = case.db.execute(f"SELECT {cols} FROM files WHERE id = ?", (_id,)).fetchone()
            chosen[str(_id)] = _record(row)
    if globs:
        sql = f"SELECT id, {cols} FROM files WHERE exhibit = ? AND type = 'file'" + (" AND deleted = 1" if deleted_only else "")
        args: list[Any] = [exhibit]
        if volume:
            sql, args = sql + " AND volume = ?", [exhibit, volume]
        for file_id, *row in case.db.execute(sql + " ORDER BY seq", args):
            rec = _record(tuple(row))
            full = f"{rec.path}:{rec.stream}" if rec.stream else rec.path
            if any(fnmatch.fnmatchcase(full, g) for g in globs):
                chosen.setdefault(str(file_id), rec)
    if not chosen:
        raise ValidationError("{root}: exhibit {exhibit}: nothing in the inventory matches {globs}",
                              root=case.root, exhibit=exhibit, globs=globs or paths)
    return list(chosen.values())


def extract_case(case: Case, examiner: Examiner, exhibit_id: str, out_dir: str | os.PathLike[str],
                 paths: list[str], globs: list[str], deleted_only: bool = False,
                 volume: str | None = None, credentials: Credentials | None = None) -> CaseExtraction:
    """Extract inventory entries of one exhibit into ``out_dir`` and record the extraction.

    ``credentials``: the key of an encrypted volume or backup (never stored in the case)."""
    from evidencekit.pipeline.exhibits import open_exhibit

    if not paths and not globs:
        raise ValidationError("extract: give --path or --glob")
    exhibit = case.exhibit(exhibit_id)
    records = _rows(case, exhibit_id, paths, globs, deleted_only, volume)
    with open_exhibit(exhibit, credentials) as ev, OutputDir(out_dir) as out:
        planned = [plan(out, rec, _opener(ev, rec), exhibit_id, rec.sha256) for rec in records]
        files = copy_all(out, planned)
        manifest = write_manifest(out, files)
    digest = sha256_file(manifest)
    details = {"out": str(Path(out_dir).absolute()), "manifest": manifest.name, "manifest_sha256": digest,
               "files": len(files), "mismatches": [f.written for f in files if f.check == "MISMATCH"],
               "unreadable": [{"path": f.record.path, "error": f.error} for f in files if f.error],
               "paths": paths, "globs": globs, "deleted_only": deleted_only,
               "written": [{"written": f.written, "path": f.record.path, "stream": f.record.stream,
                            "deleted": f.record.deleted, "size": f.record.size, "sha256": f.hashes.get("sha256"),
                            "check": f.check} for f in files]}
    with case.run("extracted", examiner=examiner, exhibit=exhibit_id, details=details,
                     inputs={f"media_{k}": v for k, v in exhibit.hashes.items()}) as act:
        rel = _inside(case.root, manifest)
        if rel is not None:
            act.record(rel, digest)
    assert act.entry is not None
    return CaseExtraction(files, manifest, digest, act.entry.seq)


def _opener(ev: Any, rec: FileRecord) -> Any:
    return lambda: ev.open_locator(rec.locator)


def _inside(root: Path, path: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
