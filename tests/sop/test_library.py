"""Every shipped SOP, end to end on sample evidence: the author runs it, a second examiner reviews."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidencekit.case import Case
from evidencekit.case.custody import verify_case
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.sop.answers import Answers
from evidencekit.sop.library import SHIPPED, find_sop
from evidencekit.sop.runner import RunOutcome, run_sop
from sop.answers import author_answers, reviewer_answers

from .conftest import sha256


def _author_then_reviewer(case: Case, exhibit: str, sop_id: str, alice, bob, kind: str | None = None) -> RunOutcome:
    loaded = find_sop(sop_id, [SHIPPED])
    first = run_sop(case, exhibit, loaded, alice, answers=Answers(**author_answers(loaded.sop)), declared_kind=kind)
    assert first.status == "paused" and "four-eyes" in first.message, first.message
    done = run_sop(case, exhibit, loaded, bob, answers=Answers(**reviewer_answers(loaded.sop)))
    assert done.status == "completed", [(s.id, s.status, s.summary) for s in done.run.steps.values()]
    assert [s.id for s in loaded.sop.steps] == list(done.run.steps)
    report = verify_case(case)
    assert report.ok, report.findings
    return done


def _statuses(out: RunOutcome) -> dict[str, str]:
    return {sid: st.status for sid, st in out.run.steps.items()}


def test_disk_image_intake(case_e1: Case, alice, bob) -> None:
    out = _author_then_reviewer(case_e1, "E1", "disk-image-intake", alice, bob)
    assert set(_statuses(out).values()) == {"passed"}
    bundle = out.run.steps["custody"].values["bundle"]
    assert (case_e1.root / bundle).is_file()


@pytest.mark.slow
def test_storage_media_examination(case_e1: Case, alice, bob) -> None:
    out = _author_then_reviewer(case_e1, "E1", "storage-media-examination", alice, bob)
    statuses = _statuses(out)
    assert statuses.pop("write_blocker") == "skipped"  # an image, not the original medium
    assert set(statuses.values()) == {"passed"}
    steps = out.run.steps
    assert steps["inventory"].values["files"] >= 5  # /docs/minutes.txt, /docs/budget.csv, /tools/eicar.com, ...
    exported = steps["export"].values["file"]
    text = (case_e1.root / exported).read_text()
    assert "/docs/budget.csv" in text and steps["export"].outputs == {exported: steps["export"].values["sha256"]}


def test_malware_triage_finds_the_test_file(case_e1: Case, alice, bob) -> None:
    out = _author_then_reviewer(case_e1, "E1", "malware-triage", alice, bob)
    steps = out.run.steps
    assert steps["hashset"].values["matches"] == 1
    assert steps["yara"].values["matches"] >= 1 and steps["yara"].values["files_matched"] == 1
    assert steps["assessment"].status == "passed"  # asked for because something matched


def test_malware_triage_on_clean_evidence_skips_the_assessment(case: Case, alice, bob, clean_image: Path) -> None:
    add_exhibit(case, clean_image, "E2", alice, acquisition_hash=f"sha256:{sha256(clean_image)}")
    out = _author_then_reviewer(case, "E2", "malware-triage", alice, bob)
    steps = out.run.steps
    assert steps["hashset"].values["matches"] == 0 and steps["yara"].values["matches"] == 0
    assert steps["assessment"].status == "skipped"


@pytest.mark.slow
def test_mobile_extraction_processing(case: Case, alice, bob, android_zip: Path) -> None:
    add_exhibit(case, android_zip, "P1", alice, acquisition_hash=f"sha256:{sha256(android_zip)}")
    out = _author_then_reviewer(case, "P1", "mobile-extraction-processing", alice, bob, kind="mobile_extraction")
    steps = out.run.steps
    assert set(_statuses(out).values()) == {"passed"}
    assert out.run.exhibit_kind == "mobile_extraction"
    assert steps["timeline"].values["by_source"].get("plaso", 0) > 0, steps["timeline"].summary
    exported = (case.root / steps["export"].values["file"]).read_text()
    assert "mmssms.db" in exported and "android_sms" in exported.lower().replace(" ", "_")


def test_report_peer_review_and_release(case_e1: Case, alice, bob) -> None:
    out = _author_then_reviewer(case_e1, "E1", "report-peer-review", alice, bob)
    steps = out.run.steps
    assert steps["technical_review"].by == "bob" and steps["administrative_review"].by == "bob"
    assert steps["draft"].by == "alice" and steps["release"].values["method"] == "in_person"
