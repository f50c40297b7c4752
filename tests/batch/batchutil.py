"""Helpers shared by the batch tests: the sequential reference and row comparison."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ektools import need_tool
from evidencekit.case import Case, custody
from evidencekit.case.rows import FILE_COLUMNS
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.pipeline.processing import process_exhibit

EVENT_COLUMNS = "exhibit, time, digits, volume, path, stream, inode, source, timestamp_desc, macb, sha256, flags"
VOLUME_COLUMNS = "name, idx, offset, length, type, label, filesystem, fs_label, encryption, locked"


def sequential_reference(work: Path, exhibits: list[tuple[str, Path]], examiner, timeline: bool = False) -> Path:
    """The plain `case add` + `case process` (+ `timeline build --artifacts none`) of the same exhibits."""
    from evidencekit.pipeline.timeline import build

    root = work / "reference"
    with Case.init(root, number="REF/1", title="reference", authority="none", examiner=examiner) as case:
        for eid, path in exhibits:
            add_exhibit(case, path, eid, examiner)
            process_exhibit(case, eid, examiner)
        if timeline:
            build(case, examiner, artifacts="none")
    return root


def stored(case_dir: Path) -> dict[str, object]:
    """What a comparison looks at: every files row (walk order), volumes, exhibit hashes and status."""
    with Case.open(case_dir) as case:
        files = case.db.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM files ORDER BY exhibit, seq").fetchall()
        volumes = case.db.execute(f"SELECT exhibit, {VOLUME_COLUMNS} FROM volumes ORDER BY exhibit, idx").fetchall()
        exhibits = case.db.execute("SELECT id, md5, sha1, sha256, media_size, status FROM exhibits ORDER BY id"
                                   ).fetchall()
        events = []
        if case.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'timeline_events'").fetchone():
            events = case.db.execute(f"SELECT {EVENT_COLUMNS} FROM timeline_events ORDER BY exhibit, time, path, "
                                     "timestamp_desc, inode").fetchall()
    return {"files": files, "volumes": volumes, "exhibits": exhibits, "events": events}


def verify_ok(case_dir: Path) -> None:
    with Case.open(case_dir) as case:
        report = custody.verify_case(case)
        assert report.ok, [f.message for f in report.findings]


def entries(case_dir: Path) -> list[tuple[str, str | None]]:
    with Case.open(case_dir) as case:
        return [(e.action, e.exhibit) for e in case.entries()]


def build_ext4(work: Path, n_files: int, seed: str, inodes: int = 25_000, size_mb: int = 40) -> Path:
    """ext4 with ``inodes`` inodes (above parallel.MIN_INODES, so the walk is split) and ``n_files`` files."""
    need_tool("mke2fs")
    src = work / f"src-{seed}"
    for i in range(n_files):
        sub = src / f"d{i % 30:02d}" / f"s{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.txt").write_text(f"{seed} file {i}\n" * (1 + i % 9))
    image = work / f"ext4-{seed}.raw"
    with open(image, "wb") as fh:
        fh.truncate(size_mb << 20)
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": "1623657600", "TZ": "UTC", "LC_ALL": "C"}
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-N", str(inodes), "-L", seed[:16],
                    "-E", "root_owner=0:0", "-d", str(src), str(image)], check=True, env=env)
    os.chmod(image, 0o444)
    return image


def write_manifest(path: Path, cases: list[dict], examiner: str = "alice") -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"examiner": examiner, "cases": cases}, sort_keys=False, allow_unicode=True))
    return path


def case_entry(case_dir: Path, exhibits: list[tuple[str, Path]], steps: list[str] | None = None,
               number: str = "2026/0142", **options: object) -> dict:
    entry: dict = {"dir": str(case_dir), "number": number, "title": "Budget leak", "authority": "Order 77/2026",
                   "exhibits": [{"id": eid, "path": str(path)} for eid, path in exhibits]}
    if steps is not None:
        entry["steps"] = steps
    # whole_below_mb 0: these images are small, and most tests are about the units of larger ones
    entry["options"] = {"artifacts": "none", "whole_below_mb": 0, **options}
    return entry
