"""The in-SQLite derivation of a build equals the Python derivation from FileRecords, field by field."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from tests.timeline.conftest import WORKSTATION, add_processed, mactime_events, new_case

from evidencekit.case import Case, examiners
from evidencekit.exporters.timeline import export
from evidencekit.pipeline.timeline import build, timeline
from evidencekit.timeline.anomalies import AnomalyContext
from evidencekit.timeline.build import fs_created, records_from_case
from evidencekit.timeline.events import TimelineEvent, derive_all

FIELDS = ("time", "time_digits", "exhibit", "volume", "path", "stream", "inode", "source", "parser",
          "timestamp_desc", "macb", "attribute", "message", "sha256", "deleted", "orphan", "type", "size",
          "mode", "uid", "gid", "link_target", "assumed_zone", "flags", "entry")


def _key(ev: TimelineEvent) -> tuple:
    return (*(getattr(ev, name) for name in FIELDS), ev.locator.to_json() if ev.locator else "null")


def _compare(tmp_path: Path, examiner: examiners.Examiner, image: Path) -> int:
    case = new_case(tmp_path / "case", examiner)
    add_processed(case, examiner, image, "E1")
    build(case, examiner, artifacts="none")
    details = case.entries()[-1].body["details"]["anomaly_reference"]
    ctx = AnomalyContext(details["reference_ns"], details["reference_source"], fs_created(case.db, "E1"))
    assert ctx.fs_created == details["fs_created_ns"]
    python = Counter(_key(ev) for ev in derive_all(records_from_case(case.db, "E1"), "E1", ctx))
    stored = Counter(_key(ev) for ev in timeline(case))
    case.close()
    assert stored == python
    return sum(stored.values())


def test_sql_equals_python_on_ext4(tmp_path: Path, examiner: examiners.Examiner, ext4_image: Path) -> None:
    assert _compare(tmp_path, examiner, ext4_image) > 100


def test_sql_equals_python_on_ntfs_with_anomalies(tmp_path: Path, examiner: examiners.Examiner) -> None:
    if not WORKSTATION.is_file():
        pytest.skip(f"{WORKSTATION} not built")
    assert _compare(tmp_path, examiner, WORKSTATION) > 100


@pytest.mark.corpus
def test_sql_equals_python_on_corpus_ntfs_two_partitions(tmp_path: Path, examiner: examiners.Examiner, corpus: Path) -> None:
    assert _compare(tmp_path, examiner, corpus / "sleuthkit/sleuthkit/test/data/imageformat_mmls_1.E01") > 400
    # The case's bodyfile export of both NTFS partitions, read by mactime, equals TSK's bodyfiles.
    with Case.open(tmp_path / "case") as case:
        export(case, examiners.load_examiner("tess"), "bodyfile", tmp_path / "ntfs.body")
    answers = corpus / "_answers"
    expected = mactime_events(answers / "tsk_imageformat_mmls_1_p1.body") | mactime_events(
        answers / "tsk_imageformat_mmls_1_p2.body")
    assert mactime_events(tmp_path / "ntfs.body") == expected
