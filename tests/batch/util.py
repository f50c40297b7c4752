"""Helpers shared by the batch tests: the sequential reference and row comparison."""

from __future__ import annotations

from pathlib import Path

from evidencekit.case import Case, custody
from evidencekit.case.intake import add_exhibit
from evidencekit.case.process import process_exhibit
from evidencekit.case.rows import FILE_COLUMNS

VOLUME_COLUMNS = "name, idx, offset, length, type, label, filesystem, fs_label, encryption, locked"


def sequential_reference(work: Path, exhibits: list[tuple[str, Path]], examiner) -> Path:
    """The plain `case add` + `case process` of the same exhibits, one after the other."""
    root = work / "reference"
    with Case.init(root, number="REF/1", title="reference", authority="none", examiner=examiner) as case:
        for eid, path in exhibits:
            add_exhibit(case, path, eid, examiner)
            process_exhibit(case, eid, examiner)
    return root


def stored(case_dir: Path) -> dict[str, object]:
    """What a comparison looks at: every files row (walk order), volumes, exhibit hashes and status."""
    with Case.open(case_dir) as case:
        files = case.db.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM files ORDER BY exhibit, seq").fetchall()
        volumes = case.db.execute(f"SELECT exhibit, {VOLUME_COLUMNS} FROM volumes ORDER BY exhibit, idx").fetchall()
        exhibits = case.db.execute("SELECT id, md5, sha1, sha256, media_size, status FROM exhibits ORDER BY id"
                                   ).fetchall()
    return {"files": files, "volumes": volumes, "exhibits": exhibits}


def verify_ok(case_dir: Path) -> None:
    with Case.open(case_dir) as case:
        report = custody.verify_case(case)
        assert report.ok, [f.message for f in report.findings]


def entries(case_dir: Path) -> list[tuple[str, str | None]]:
    with Case.open(case_dir) as case:
        return [(e.action, e.exhibit) for e in case.entries()]
