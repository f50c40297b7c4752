"""`batch run` on the local process pool: same rows as `case process`, per-exhibit failures,
resume after a killed coordinator, a killed worker costs a retry and never a hang."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batchutil import case_entry, entries, sequential_reference, stored, verify_ok, write_manifest

from case.util import run_cli
from evidencekit.batch import small
from evidencekit.batch.coordinator import Coordinator
from evidencekit.batch.executors import LocalExecutor
from evidencekit.batch.manifest import load_manifest
from evidencekit.case import Case
from test_encrypted import PASSWORD, luks  # noqa: F401 - the LUKS image fixture


@pytest.fixture
def alarm():
    """A hung batch fails the test instead of hanging the suite."""
    signal.signal(signal.SIGALRM, lambda *a: pytest.fail("batch run hung"))
    signal.alarm(240)
    yield
    signal.alarm(0)


def _exhibits(images):
    return [("E1", images[0]), ("E2", images[1])]


def _batch_notes(case_dir: Path) -> list[dict]:
    with Case.open(case_dir) as case:
        return [e.body["details"]["batch"] for e in case.entries() if e.action == "note"]


def test_batch_run_stores_what_sequential_case_process_stores(tmp_path, images, examiner):
    manifest = write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", _exhibits(images))])
    proc = run_cli("batch", "run", str(manifest), "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()  # a pipe: the summary only, no table, no JSON
    assert lines[-1] == "2 of 2 exhibits finished, 0 failed" and len(lines) == 3 and proc.stderr == ""
    reference = sequential_reference(tmp_path, _exhibits(images), examiner, timeline=True)
    got, want = stored(tmp_path / "case"), stored(reference)
    assert got == want and len(got["files"]) > 1000 and len(got["events"]) > 4000
    verify_ok(tmp_path / "case")
    actions = [a for a, _ in entries(tmp_path / "case")]
    assert actions.count("processed") == 2 and actions.count("received") == 2
    assert actions.count("analysed") == 2  # the file system timeline of each (artefacts: none)
    notes = _batch_notes(tmp_path / "case")
    run_note = notes[0]
    assert run_note["executor"] == "local" and run_note["workers"] == 2 and run_note["worker_hosts"]
    assert run_note["manifest_sha256"] == load_manifest(manifest).sha256
    process_notes = [n for n in notes if n.get("step") == "process"]
    assert len(process_notes) == 2
    for note in process_notes:  # plan, before, the listing parts, after: each with its host and versions
        units = {u["unit"] for u in note["units"]}
        assert {"plan", "before", "after"} <= units and sum(u.startswith("list-") for u in units) >= 2
        assert all(u["versions"]["pytsk3"] and u["versions"]["evidencekit"] and u["host"] for u in note["units"])


def test_a_small_exhibit_is_read_in_one_unit_and_stored_as_from_separate_units(tmp_path, images, examiner):
    """Below whole_below_mb, intake and processing read in one unit; the rows and entries are those
    of the sequential commands, and both steps' notes name the unit."""
    manifest = write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", _exhibits(images),
                                                               whole_below_mb=256)])
    proc = run_cli("batch", "run", str(manifest), "--workers", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    reference = sequential_reference(tmp_path, _exhibits(images), examiner, timeline=True)
    assert stored(tmp_path / "case") == stored(reference)
    verify_ok(tmp_path / "case")
    notes = [n for n in _batch_notes(tmp_path / "case") if n.get("step") in ("intake", "process")]
    assert len(notes) == 4 and all([u["unit"] for u in n["units"]] == ["whole"] for n in notes), notes
    with Case.open(tmp_path / "case") as case:
        actions = [e.action for e in case.entries() if e.exhibit == "E1"]
        registered = case.exhibit("E1").hashes["sha256"]
        verified = [e.body for e in case.entries() if e.action == "verified" and e.exhibit == "E1"]
    assert actions[:2] == ["received", "note"] and "processed" in actions and "analysed" in actions, actions
    assert verified[0]["inputs"]["before_media_sha256"] == registered
    # a larger threshold than the evidence, a smaller one: the same manifest takes the other way
    assert not small.is_small(str(images[0]), 0) and small.is_small(str(images[0]), 256)


@pytest.mark.parametrize("workers, whole_below_mb", [("1", 0), ("2", 0), ("1", 64)])
def test_media_without_a_file_system_is_registered_then_processed_or_failed_as_case_process_does(
        tmp_path, examiner, workers, whole_below_mb):
    """2 MB of zeros: no file system, so the listing plan fails. Each way, the batch ends as `case add` and
    `case process` do (a failed small 'whole' unit is read again as separate units, so the intake
    is still recorded); no exhibit is left running."""
    blank = tmp_path / "blank.raw"
    blank.write_bytes(bytes(2 << 20))
    manifest = write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", [("E1", blank)],
                                                               steps=["intake", "process"],
                                                               whole_below_mb=whole_below_mb)])
    proc = run_cli("batch", "run", str(manifest), "--workers", workers, "--json")
    row = json.loads(proc.stdout.splitlines()[-1])["exhibits"][0]
    by_hand = tmp_path / "by-hand"
    run_cli("case", "init", str(by_hand), "--number", "1", "--title", "t", "--authority", "a")
    assert run_cli("case", "add", str(by_hand), str(blank), "--exhibit", "E1").returncode == 0
    hand = run_cli("case", "process", str(by_hand))
    assert row["status"] == ("done" if hand.returncode == 0 else "failed"), (row, hand.stderr)
    assert proc.returncode == (0 if hand.returncode == 0 else 1) and "Traceback" not in proc.stderr
    if row["status"] == "failed":  # the same one line as case process
        assert row["error"] == hand.stderr.strip().removeprefix("evidencekit: error: "), (row, hand.stderr)
    with Case.open(tmp_path / "case") as case:
        assert [e.action for e in case.entries() if e.exhibit == "E1"][0] == "received"
        assert case.exhibit("E1").hashes["sha256"] == hashlib.sha256(blank.read_bytes()).hexdigest()
    verify_ok(tmp_path / "case")


def test_a_rerun_skips_finished_steps_and_adds_nothing(tmp_path, images, examiner):
    manifest = write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", _exhibits(images)[:1])])
    assert run_cli("batch", "run", str(manifest), "--workers", "1").returncode == 0
    before = (entries(tmp_path / "case"), stored(tmp_path / "case"))
    reference = sequential_reference(tmp_path, _exhibits(images)[:1], examiner, timeline=True)
    assert before[1] == stored(reference)
    # one worker: a few coarse listing parts (stored while the next is walked); the first starts
    # the media hash of the check before in the worker's background thread, the before unit after
    # the parts collects it (the overlap of case process's two threads)
    process_note = next(n for n in _batch_notes(tmp_path / "case") if n.get("step") == "process")
    units = {u["unit"]: u for u in process_note["units"]}
    assert {"plan", "before", "after", "list-0", "list-1"} <= set(units), sorted(units)
    assert units["list-0"].get("started_the_check_before") and units["before"].get("hashed_beside_the_walk")
    assert not units["after"].get("hashed_beside_the_walk")
    with Case.open(tmp_path / "case") as case:
        registered = case.exhibit("E1").hashes["sha256"]
        verified = [e.body for e in case.entries() if e.action == "verified"]
    assert len(verified) == 1 and verified[0]["inputs"]["before_media_sha256"] == registered, verified
    again = run_cli("batch", "run", str(manifest), "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.splitlines()[-1])
    assert summary["event"] == "summary"
    assert summary["exhibits"][0]["skipped"] == ["intake", "process", "timeline"]
    assert (entries(tmp_path / "case"), stored(tmp_path / "case")) == before
    status = json.loads(run_cli("batch", "status", str(manifest), "--json").stdout)
    assert status[0]["status"] == "done" and set(status[0]["steps"].values()) == {"done"}


def test_bad_exhibits_fail_alone_with_one_line(tmp_path, images, luks, monkeypatch, examiner):  # noqa: F811
    other = tmp_path / "other"
    with Case.init(other, number="9999/1", title="x", authority="y"):
        pass
    monkeypatch.setenv("GOOD_KEY", PASSWORD)
    monkeypatch.setenv("BAD_KEY", "wrong horse")
    case = case_entry(tmp_path / "case", [("E1", images[0]), ("GONE", tmp_path / "absent.E01"), ("E1", images[1]),
                                          ("LUKS", luks), ("LUKS2", luks), ("LUKS3", luks)],
                      steps=["intake", "process"])
    case["exhibits"][3]["password_env"] = "GOOD_KEY"
    case["exhibits"][4]["password_env"] = "BAD_KEY"
    case["exhibits"][5]["password_env"] = "UNSET_KEY"
    elsewhere = case_entry(other, [("X1", images[1])])
    manifest = write_manifest(tmp_path / "m.yaml", [case, elsewhere])
    proc = run_cli("batch", "run", str(manifest), "--workers", "2", "--json")
    assert proc.returncode == 1, proc.stderr
    rows = json.loads(proc.stdout.splitlines()[-1])["exhibits"]
    assert [r["status"] for r in rows] == ["done", "failed", "failed", "done", "failed", "failed", "failed"], rows
    errors = {r["exhibit"]: r["error"] for r in rows if r["status"] == "failed"}
    assert errors["GONE"] == f"{tmp_path / 'absent.E01'}: no such file or directory"
    assert "duplicate exhibit id 'E1'" in errors["E1"] and rows[0]["error"] is None
    assert "password" in errors["LUKS2"].lower() and "\n" not in errors["LUKS2"]
    assert "UNSET_KEY" in errors["LUKS3"]
    assert "holds case '9999/1', not '2026/0142'" in errors["X1"]
    with Case.open(tmp_path / "case") as c:
        assert [e.id for e in c.exhibits()] == ["E1", "LUKS"] or sorted(e.id for e in c.exhibits()) == ["E1", "LUKS"]
        assert c.exhibit("LUKS").status == "processed"
    with Case.open(other) as c:
        assert c.exhibits() == [] and len(c.entries()) == 0  # the other case is left as it was
    assert "Traceback" not in proc.stderr


def test_a_killed_local_worker_costs_a_retry_and_no_hang(tmp_path, images, examiner, alarm):
    manifest = load_manifest(write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", _exhibits(images),
                                                                             steps=["intake", "process"])]))
    killed: list[int] = []

    def kill_one(event: dict) -> None:
        if not killed and event.get("step") == "process":
            pids = list(executor._pool._processes or {})  # the pool's live workers
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

    with LocalExecutor(2) as executor:
        summary = Coordinator(manifest, executor, examiner, kill_one).run()
        retries = executor.retries
    assert killed and retries >= 1
    assert [r["status"] for r in summary] == ["done", "done"]
    reference = sequential_reference(tmp_path, _exhibits(images), examiner)
    assert stored(tmp_path / "case") == stored(reference)
    verify_ok(tmp_path / "case")
    attempts = [u["attempts"] for n in _batch_notes(tmp_path / "case") for u in n.get("units", [])]
    assert max(attempts) >= 2 and sum(a - 1 for a in attempts) <= retries  # the ledger says which ran again


def test_workers_that_join_during_a_run_leave_no_step_waiting(tmp_path, images, examiner):
    """The executor's size is asked again and again (a Dask cluster can grow): one worker when the
    process step starts (its check before is left to go beside the walk), two when the plan comes
    back (the listing goes without it). The check before is still sent, the rows are stored."""
    manifest = load_manifest(write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", _exhibits(images)[:1],
                                                                             steps=["intake", "process"])]))

    class Growing(LocalExecutor):
        grown = False

        def size(self) -> int:
            return 2 if self.grown else 1

    def grow(event: dict) -> None:
        if event.get("step") == "process":
            executor.grown = True

    with Growing(1) as executor:  # one process, FIFO: the intake is stored before the plan comes back
        summary = Coordinator(manifest, executor, examiner, grow).run()
    assert [r["status"] for r in summary] == ["done"], summary
    assert stored(tmp_path / "case") == stored(sequential_reference(tmp_path, _exhibits(images)[:1], examiner))
    units = {u["unit"] for n in _batch_notes(tmp_path / "case") if n.get("step") == "process" for u in n["units"]}
    assert "before" in units and "list-1" in units, units


def test_a_killed_coordinator_resumes_with_the_same_command(tmp_path, images, examiner):
    manifest = write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", _exhibits(images),
                                                               steps=["intake", "process"])])
    cmd = [sys.executable, "-c", "from evidencekit.cli import main; main()", "batch", "run", str(manifest),
           "--workers", "1", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)  # its own group: the pool's workers go with it
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event.get("exhibit") == "E1" and event.get("step") == "process" and event["units_done"] >= 2:
                os.killpg(proc.pid, signal.SIGKILL)  # mid-process of E1: its listing units are in flight
                break
        else:
            pytest.fail("the batch finished before it could be killed")
    finally:
        proc.wait(timeout=60)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the group's workers are gone too
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
    with Case.open(tmp_path / "case") as case:
        assert case.exhibit("E1").status == "registered"  # killed before the one process transaction
    status = json.loads(run_cli("batch", "status", str(manifest), "--json").stdout)
    assert status[0]["status"] == "partial" and status[0]["steps"] == {"intake": "done", "process": "pending"}
    again = run_cli("batch", "run", str(manifest), "--workers", "2", "--json")
    assert again.returncode == 0, again.stderr
    rows = json.loads(again.stdout.splitlines()[-1])["exhibits"]
    assert rows[0]["skipped"] == ["intake"] and rows[0]["status"] == "done"
    reference = sequential_reference(tmp_path, _exhibits(images), examiner)
    assert stored(tmp_path / "case") == stored(reference)
    verify_ok(tmp_path / "case")
    actions = [a for a, _ in entries(tmp_path / "case")]
    assert actions.count("received") == 2 and actions.count("processed") == 2


def test_a_unit_time_out_is_a_recorded_warning(tmp_path, images, examiner):
    """plaso stopped by the manifest's unit_timeout: a warning in the timeline, the step still finishes.

    The time-out applies to every unit: 1.5 s is ample for hashing and listing the 40 MB image and
    too short for log2timeline on it (its start-up alone takes about 1 s on a fast machine; 4 s
    was not always too short)."""
    manifest = write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", _exhibits(images)[1:],
                                                               artifacts="default", unit_timeout=1.5)])
    proc = run_cli("batch", "run", str(manifest), "--workers", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout.splitlines()[-1])["exhibits"][0]
    assert row["status"] == "done" and any("plaso" in w and "1.5 s" in w for w in row["warnings"]), row
    with Case.open(tmp_path / "case") as case:
        parts = [e.body["details"] for e in case.entries() if e.action == "analysed"]
        warned = case.db.execute("SELECT message FROM timeline_warnings WHERE source = 'plaso'").fetchall()
    assert [p["analysis"] for p in parts] == ["timeline:fs", "timeline:plaso"]
    assert parts[0]["events"] > 0 and parts[1]["events"] == 0 and warned
    verify_ok(tmp_path / "case")


def test_a_time_out_inside_a_listing_or_hashing_unit_fails_the_exhibit_with_a_recorded_warning(tmp_path, images,
                                                                                              examiner):
    """Every unit kind stops itself at unit_timeout: here the plan and the media hash of 'process'.
    The plaso unit sent ahead of the timeline stops too; what it left in the work folder goes."""
    case_dir = tmp_path / "case"
    first = write_manifest(tmp_path / "m1.yaml", [case_entry(case_dir, _exhibits(images)[:1], steps=["intake"])])
    assert run_cli("batch", "run", str(first), "--workers", "1").returncode == 0
    manifest = write_manifest(tmp_path / "m2.yaml", [case_entry(case_dir, _exhibits(images)[:1],
                                                                steps=["process", "timeline"], artifacts="default",
                                                                unit_timeout=0.001)])
    proc = run_cli("batch", "run", str(manifest), "--workers", "1", "--json")
    assert proc.returncode == 1, proc.stderr
    row = json.loads(proc.stdout.splitlines()[-1])["exhibits"][0]
    assert row["status"] == "failed" and "stopped at its time-out (0.001 s, unit_timeout)" in row["error"], row
    notes = [n for n in _batch_notes(case_dir) if "unit_timeout" in n]
    assert notes and notes[0]["step"] == "process" and notes[0]["unit"] in ("plan", "before"), notes
    assert "time-out" in notes[0]["warning"]
    with Case.open(case_dir) as case:
        assert case.db.execute("SELECT count(*) FROM files").fetchone()[0] == 0
        assert case.exhibit("E1").status != "processed"
    verify_ok(case_dir)
    assert not (tmp_path / "m2.work").exists()  # the failed exhibit's plaso leftovers are removed


def test_plaso_runs_in_the_work_folder_and_the_coordinator_places_its_storage_in_the_case(tmp_path, images, examiner):
    """A full plaso run (linux artefacts): the worker writes into the batch's work folder, the
    coordinator moves the storage into timeline/plaso/<exhibit>/ and records its hash."""
    from evidencekit.hashing import sha256_file

    case_dir = tmp_path / "case"
    manifest = write_manifest(tmp_path / "m.yaml", [case_entry(case_dir, _exhibits(images)[1:], artifacts="linux")])
    proc = run_cli("batch", "run", str(manifest), "--workers", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    with Case.open(case_dir) as case:
        plaso = [e.body for e in case.entries() if e.action == "analysed"
                 and e.body["details"].get("analysis") == "timeline:plaso"]
    assert len(plaso) == 1 and plaso[0]["details"]["ok"], plaso
    storage = [k for k in plaso[0]["outputs"] if k.endswith(".plaso")]
    assert storage and storage[0].startswith("timeline/plaso/E2/")
    assert sha256_file(case_dir / storage[0]) == plaso[0]["outputs"][storage[0]]
    commands = " ".join(" ".join(c) for c in plaso[0]["details"]["commands"])
    assert str(tmp_path / "m.work") in commands and str(case_dir) not in commands  # the worker never wrote the case
    assert not (tmp_path / "m.work").exists()  # emptied and removed once imported
    verify_ok(case_dir)
