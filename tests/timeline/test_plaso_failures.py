"""A plaso that is absent, fails or hangs is a recorded warning; the file system timeline still builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evidencekit.case import Case
from evidencekit.pipeline.timeline import build, timeline
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


def test_corrupt_output_lines_are_skipped_and_reported(tmp_path: Path) -> None:
    from evidencekit.timeline.plaso_import import read_jsonl

    good = {"__container_type__": "event", "data_type": "syslog:line", "parser": "text/syslog",
            "timestamp": 1705909953000000, "timestamp_desc": "Content Modification Time", "message": "ok",
            "date_time": {"__class_name__": "TimeElements", "time_elements_tuple": [2024, 1, 22, 7, 52, 33]},
            "pathspec": {"type_indicator": "OS", "location": "/ev/var/log/syslog"}}
    out = tmp_path / "x.jsonl"
    out.write_text(json.dumps(good) + "\n" + json.dumps(good)[:40] + "\n" + "[1, 2]\n" + json.dumps(good) + "\n")
    bad: list[str] = []
    events = list(read_jsonl(out, "E1", "/ev", "/ev", None, None, bad))
    assert [e.path for e in events] == ["/var/log/syslog"] * 2 and events[0].time == 1705909953 * 10**9
    assert events[0].time_digits == 0 and len(bad) == 2 and "line 2" in bad[0] and "line 3" in bad[1]
