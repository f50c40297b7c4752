"""Running SOPs on a real case: signed entries, four-eyes, deviations, resumption, pinned SOP files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evidencekit.case import Case
from evidencekit.case.custody import verify_case
from evidencekit.errors import ValidationError
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.sop.answers import Answers, load_answers
from evidencekit.sop.library import SHIPPED, find_sop
from evidencekit.sop.registry import StepResult, action
from evidencekit.sop.runner import SopChangedError, run_sop
from evidencekit.sop.state import load_runs, sop_entries
from evidencekit.sop.yamlsrc import SopValidationError
from sop.answers import ATTESTATIONS, reviewer_answers

INTAKE_STEPS = ("receipt", "documentation", "storage")


def _answers(extra: dict | None = None, deviations: dict | None = None) -> Answers:
    """Answers for the disk-image-intake SOP's attestations (``extra`` overrides or adds)."""
    steps = {k: v for k, v in ATTESTATIONS.items() if k in INTAKE_STEPS}
    return Answers(steps={**steps, **(extra or {})}, deviations=deviations or {})


def _sop_events(case: Case) -> list:
    return sop_entries(case.entries())


def test_intake_pauses_for_four_eyes_then_completes(case_e1: Case, alice, bob) -> None:
    loaded = find_sop("disk-image-intake", [SHIPPED])
    first = run_sop(case_e1, "E1", loaded, alice, answers=_answers())
    assert first.status == "paused" and first.exit_code == 3
    assert "four-eyes" in first.message and "alice" in first.message
    assert [s.status for s in first.run.steps.values()] == ["passed"] * 5
    rev = reviewer_answers(loaded.sop)["steps"]
    done = run_sop(case_e1, "E1", loaded, bob, answers=Answers(steps={"intake_review": rev["intake_review"]}))
    assert done.status == "completed" and done.exit_code == 0
    review = done.run.steps["intake_review"]
    assert review.by == "bob" and review.values["performers"] == ["alice"]
    assert done.run.steps["verify"].values["sha256"] == case_e1.exhibit("E1").sha256
    events = _sop_events(case_e1)
    kinds = [e.body["details"]["sop_event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("step_started") == 6 and kinds.count("attestation") == 3 and kinds.count("review") == 1
    assert all(e.body["inputs"]["sop_sha256"] == loaded.sha256 for e in events)
    started = events[0].body["details"]["sop"]
    assert (started["version"], started["sha256"]) == ("1.0", loaded.sha256)
    assert (case_e1.root / started["snapshot"]).read_bytes() == loaded.path.read_bytes()
    report = verify_case(case_e1)
    assert report.ok, report.findings
    again = run_sop(case_e1, "E1", loaded, alice, answers=_answers())
    assert again.status == "completed" and len(_sop_events(case_e1)) == len(events)


def test_review_by_the_same_examiner_is_refused_and_nothing_recorded(case_e1: Case, alice) -> None:
    loaded = find_sop("disk-image-intake", [SHIPPED])
    run_sop(case_e1, "E1", loaded, alice, answers=_answers())
    before = len(case_e1.entries())
    with pytest.raises(ValidationError, match="review intake_review needs an examiner other than alice"):
        run_sop(case_e1, "E1", loaded, alice, answers=_answers(reviewer_answers(loaded.sop)["steps"]))
    assert len(case_e1.entries()) == before


def test_failed_verification_is_a_recorded_result_that_stops(case: Case, alice, clean_image: Path) -> None:
    wrong = "0" * 64
    add_exhibit(case, clean_image, "E2", alice, acquisition_hash=f"sha256:{wrong}")
    loaded = find_sop("disk-image-intake", [SHIPPED])
    out = run_sop(case, "E2", loaded, alice, answers=_answers())
    assert out.status == "stopped" and out.exit_code == 1
    verify = out.run.steps["verify"]
    assert verify.status == "failed" and "MISMATCH" in verify.summary and "sha256" in verify.summary
    assert "storage" not in out.run.steps and out.run.status == "stopped"
    assert load_runs(case.entries(), "E2")[0].steps["verify"].status == "failed"
    assert run_sop(case, "E2", loaded, alice, answers=_answers()).status == "stopped"  # not silently rerun


def test_deviation_needs_a_justification_and_is_recorded(case_e1: Case, alice) -> None:
    loaded = find_sop("disk-image-intake", [SHIPPED])
    broken = {"receipt": {**ATTESTATIONS["receipt"], "seal_intact": False}}
    out = run_sop(case_e1, "E1", loaded, alice, answers=_answers(broken))
    assert out.status == "paused" and "justification" in out.message
    assert out.run.steps["receipt"].status == "failed"
    assert "seal_intact = False, expected True" in out.run.steps["receipt"].summary
    text = "Seal torn in transit; photographed; officer in charge informed on 2026-11-27"
    out = run_sop(case_e1, "E1", loaded, alice, answers=_answers(broken, {"receipt": text}))
    receipt = out.run.steps["receipt"]
    assert receipt.status == "deviated" and receipt.justification == text and receipt.deviation_by == "alice"
    assert out.run.steps["storage"].status == "passed"
    deviations = [e for e in _sop_events(case_e1) if e.body["details"]["sop_event"] == "deviation"]
    assert len(deviations) == 1 and deviations[0].action == "deviation"
    from evidencekit.sop.checklist import checklists

    (checklist,) = checklists(case_e1, "E1")
    assert checklist.verdict == "in_progress" and checklist.counts["deviated"] == 1


_interrupt = {"armed": True}


@action("test_interruptible")
def _interruptible(ctx, params) -> StepResult:
    """Test action: interrupted (like Ctrl-C or a crash) the first time, passes the second."""
    if _interrupt["armed"]:
        _interrupt["armed"] = False
        raise KeyboardInterrupt
    return StepResult(True, "done on the second attempt", values={"attempt": 2})


def _sop_with_interruptible(tmp_path: Path) -> Path:
    text = (SHIPPED / "disk-image-intake.yaml").read_text()
    text = text.replace("    action: custody_export\n", "    action: test_interruptible\n")
    path = tmp_path / "disk-image-intake.yaml"
    path.write_text(text)
    return path


def test_resumes_after_interruption_without_rerunning_completed_steps(case_e1: Case, alice, tmp_path) -> None:
    from evidencekit.sop.loader import load_sop

    _interrupt["armed"] = True
    loaded = load_sop(_sop_with_interruptible(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        run_sop(case_e1, "E1", loaded, alice, answers=_answers())
    state = load_runs(case_e1.entries(), "E1")[-1]
    assert state.steps["custody"].status == "running" and state.steps["verify"].status == "passed"
    out = run_sop(case_e1, "E1", loaded, alice, answers=_answers())
    assert out.status == "paused" and out.run.steps["custody"].status == "passed"
    starts = [e.body["details"]["step"] for e in _sop_events(case_e1)
              if e.body["details"]["sop_event"] == "step_started"]
    assert starts.count("verify") == 1 and starts.count("receipt") == 1 and starts.count("custody") == 2


def test_changed_sop_file_mid_run_is_refused(case_e1: Case, alice, tmp_path: Path) -> None:
    from evidencekit.sop.loader import load_sop

    path = tmp_path / "intake.yaml"
    shutil.copyfile(SHIPPED / "disk-image-intake.yaml", path)
    loaded = load_sop(path)
    assert run_sop(case_e1, "E1", loaded, alice, answers=_answers()).status == "paused"
    path.write_text(path.read_text().replace("Receipt and packaging", "Receipt and wrapping"))
    changed = load_sop(path)
    with pytest.raises(SopChangedError, match="changed since run .* started"):
        run_sop(case_e1, "E1", changed, alice, answers=_answers())
    fresh = run_sop(case_e1, "E1", changed, alice, answers=_answers(), restart=True)
    assert fresh.status == "paused", [(s.id, s.status, s.summary) for s in fresh.run.steps.values()]
    assert fresh.run.sha256 != loaded.sha256
    runs = load_runs(case_e1.entries(), "E1")
    assert [r.status for r in runs] == ["abandoned", "open"]
    from evidencekit.sop.checklist import checklists

    both = checklists(case_e1, "E1", every_run=True)
    assert [c.status for c in both] == ["abandoned", "open"] and len(checklists(case_e1, "E1")) == 1
    assert [c.rows[0].title for c in both] == ["Receipt and packaging", "Receipt and wrapping"]  # pinned copies
    assert all(c.sop["pinned_copy_intact"] for c in both)


def test_answers_file_errors_name_the_line_and_record_nothing(case_e1: Case, alice, tmp_path: Path) -> None:
    loaded = find_sop("disk-image-intake", [SHIPPED])
    path = tmp_path / "answers.yaml"
    path.write_text("steps:\n  receipt:\n    seal_intact: maybe\n    seal_number: S-1\n"
                    "  storage: {new_seal_number: S-2, shelf: 4}\n  nosuch: {}\n"
                    "deviations:\n  verify: too late\n")
    with pytest.raises(SopValidationError) as info:
        load_answers(path, loaded.sop)
    got = [(p.line, p.message) for p in info.value.problems]
    assert got[0] == (3, "field 'seal_intact' must be true or false (got 'maybe')")
    assert got[1][0] == 5 and "has no field 'shelf'" in got[1][1]
    assert got[2] == (6, "unknown step 'nosuch' in SOP disk-image-intake")
    assert got[3] == (8, "step 'verify' has on_fail: stop; it cannot be deviated from")
    assert _sop_events(case_e1) == []


def test_attestation_of_wrong_type_records_nothing(case_e1: Case, alice) -> None:
    loaded = find_sop("disk-image-intake", [SHIPPED])
    bad = {"receipt": {**ATTESTATIONS["receipt"], "media": "floppy"}}
    with pytest.raises(ValidationError, match="'media' must be one of hard_disk"):
        run_sop(case_e1, "E1", loaded, alice, answers=_answers(bad))
    assert _sop_events(case_e1) == []  # checked before the run starts: nothing recorded half-way


def test_scope_is_enforced_and_kind_can_be_declared(case_e1: Case, alice) -> None:
    loaded = find_sop("mobile-extraction-processing", [SHIPPED])
    with pytest.raises(ValidationError, match="applies to mobile_extraction; exhibit E1 is disk_image"):
        run_sop(case_e1, "E1", loaded, alice)
    with pytest.raises(ValidationError, match="answers name step 'receipt', which SOP mobile-extraction"):
        run_sop(case_e1, "E1", loaded, alice, answers=_answers(), declared_kind="mobile_extraction")
    assert _sop_events(case_e1) == []


_edit = {"path": None}


@action("test_edits_sop")
def _edits_sop(ctx, params) -> StepResult:
    """Test action: someone edits the SOP file while the run is under way."""
    path = _edit["path"]
    path.write_text(path.read_text().replace("Storage of the original", "Storage"))
    return StepResult(True, "edited the SOP file")


def test_sop_file_changed_during_the_run_stops_before_the_next_step(case_e1: Case, alice, tmp_path) -> None:
    from evidencekit.sop.loader import load_sop

    path = tmp_path / "intake.yaml"
    path.write_text((SHIPPED / "disk-image-intake.yaml").read_text()
                    .replace("    action: verify_hash\n    params: {require_reference: true}\n",
                             "    action: test_edits_sop\n"))
    _edit["path"] = path
    with pytest.raises(SopChangedError, match="changed since run"):
        run_sop(case_e1, "E1", load_sop(path), alice, answers=_answers())
    state = load_runs(case_e1.entries(), "E1")[-1]
    assert state.steps["verify"].status == "passed" and "storage" not in state.steps


def test_when_on_the_declared_exhibit_kind(case_e1: Case, alice) -> None:
    loaded = find_sop("storage-media-examination", [SHIPPED])
    authority = {"authority": ATTESTATIONS["authority"]}
    out = run_sop(case_e1, "E1", loaded, alice, answers=Answers(steps=authority), declared_kind="storage_media")
    assert out.status == "paused" and "step write_blocker needs the examiner's attestation" in out.message
    assert out.run.exhibit_kind == "storage_media" and list(out.run.steps) == ["authority"]


def test_altered_pinned_copy_is_shown_and_caught_by_custody_verify(case_e1: Case, alice) -> None:
    from evidencekit.sop.checklist import checklists

    loaded = find_sop("disk-image-intake", [SHIPPED])
    out = run_sop(case_e1, "E1", loaded, alice, answers=_answers())
    pinned = case_e1.root / str(out.run.snapshot)
    pinned.write_text(pinned.read_text().replace("on_fail: stop", "on_fail: deviate"))
    (checklist,) = checklists(case_e1, "E1")
    assert checklist.sop["pinned_copy_intact"] is False and checklist.rows[0].title == "receipt"
    report = verify_case(case_e1)
    assert not report.ok and any(out.run.snapshot in f.message for f in report.findings)


def test_a_step_running_in_another_live_process_is_not_started_again(case_e1: Case, alice, tmp_path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The custody step is left 'running' as if by another process; while that process lives, a
    second run of the SOP refuses (and records nothing); once it is gone, the step is redone."""
    import subprocess

    from evidencekit.sop import runner
    from evidencekit.sop.loader import load_sop
    from evidencekit.sop.runner import SopBusyError

    other = subprocess.Popen(["sleep", "60"])
    try:
        _interrupt["armed"] = True
        loaded = load_sop(_sop_with_interruptible(tmp_path))
        with monkeypatch.context() as m:
            m.setattr(runner.os, "getpid", lambda: other.pid)
            with pytest.raises(KeyboardInterrupt):
                run_sop(case_e1, "E1", loaded, alice, answers=_answers())
        before = len(case_e1.entries())
        with pytest.raises(SopBusyError, match=f"step custody .* is running in process {other.pid}"):
            run_sop(case_e1, "E1", loaded, alice, answers=_answers())
        assert len(case_e1.entries()) == before
    finally:
        other.kill()
        other.wait()
    out = run_sop(case_e1, "E1", loaded, alice, answers=_answers())
    assert out.run.steps["custody"].status == "passed"


_nested: dict = {}


@action("test_advanced_elsewhere")
def _advanced_elsewhere(ctx, params) -> StepResult:
    """Test action: while it runs, another session of the case runs the same SOP to its next pause."""
    if _nested.get("inside"):
        return StepResult(True, "done by the other session")
    _nested["inside"] = True
    try:
        other = Case.open(ctx.case.root)
        _nested["other"] = run_sop(other, "E1", _nested["loaded"], _nested["examiner"], answers=_answers())
        other.close()
    finally:
        _nested["inside"] = False
    return StepResult(True, "done by the first session")


def test_a_run_advanced_by_another_session_is_not_overwritten(case_e1: Case, alice, tmp_path) -> None:
    from evidencekit.sop.loader import load_sop
    from evidencekit.sop.runner import SopBusyError

    text = (SHIPPED / "disk-image-intake.yaml").read_text().replace("    action: custody_export\n",
                                                                   "    action: test_advanced_elsewhere\n")
    path = tmp_path / "disk-image-intake.yaml"
    path.write_text(text)
    _nested.update(loaded=load_sop(path), examiner=alice)
    with pytest.raises(SopBusyError, match="was advanced by another process meanwhile"):
        run_sop(case_e1, "E1", _nested["loaded"], alice, answers=_answers())
    results = [e.body["details"] for e in _sop_events(case_e1) if e.body["details"].get("step") == "custody"
               and e.body["details"]["sop_event"] == "step_result"]
    assert [r["summary"] for r in results] == ["done by the other session"]  # the first session recorded nothing
    assert _nested["other"].status == "paused" and verify_case(case_e1).ok
