"""A plaso that is absent, fails or hangs is a recorded warning; the file system timeline still builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidencekit.case import Case
from evidencekit.timeline import build, timeline
from evidencekit.timeline import store as tl_store


def _check(case: Case, results: list, reason: str) -> None:
    parts = {part.source: part for _, part in results}
    assert parts["fs"].events > 0 and parts["fs"].events == len(list(timeline(case, source="fs")))
    assert parts["plaso"].events == 0 and reason in parts["plaso"].warnings[0]
    assert any(reason in msg for _, _, msg in tl_store.warnings(case.db, "E1"))
    entry = case.entries()[-1]
    assert entry.body["details"]["analysis"] == "timeline:plaso" and reason in entry.body["details"]["warnings"][0]


def test_absent_plaso(ext4_case: Case, examiner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCEKIT_PLASO_BIN", str(tmp_path))  # a folder without plaso's scripts
    _check(ext4_case, build(ext4_case, examiner, artifacts="default"), "plaso is not installed")


def test_plaso_rejects_parsers(ext4_case: Case, examiner) -> None:
    results = build(ext4_case, examiner, artifacts="no_such_parser_at_all")
    _check(ext4_case, results, "log2timeline exited with")


def test_plaso_timeout(ext4_case: Case, examiner) -> None:
    _check(ext4_case, build(ext4_case, examiner, artifacts="default", timeout=0.3), "timed out after 0.3 s")
