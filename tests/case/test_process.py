"""case process: integrity gate, resumability after kill -9, and two processes on one case."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from case.util import run_cli
from evidencekit import open_evidence
from evidencekit.case import Case, custody, examiners
from evidencekit.errors import CaseError
from evidencekit.inventory import files
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.pipeline.processing import process_exhibit


def _walk_keys(image: Path) -> list[tuple[str, str, int | None, str]]:
    with open_evidence(str(image)) as ev:
        return [(r.volume, r.path, r.inode, r.stream or "") for r in (e.record for e in ev.entries())]


def _case_keys(case_dir: Path) -> list[tuple[str, str, int | None, str]]:
    db = sqlite3.connect(case_dir / "case.db")
    rows = db.execute("SELECT volume, path, inode, stream FROM files ORDER BY seq").fetchall()
    db.close()
    return rows


def test_process_records_inventory_and_hashes(processed_case: Case, small_image: Path) -> None:
    keys = _case_keys(processed_case.root)
    assert keys == _walk_keys(small_image)
    with open_evidence(str(small_image)) as ev:
        expected = {r.path: (r.md5, r.sha256) for r in files(ev, hashes=("md5", "sha256")) if r.type == "file"}
    got = {p: (m, s) for p, m, s in processed_case.db.execute("SELECT path, md5, sha256 FROM files WHERE type = 'file'")}
    assert got == expected
    actions = [e.action for e in processed_case.entries()]
    assert actions == ["created", "received", "verified", "processed"]
    processed = processed_case.entries()[-1]
    assert processed.body["details"]["files"] == len(keys)
    assert processed.body["details"]["integrity"] == {"before": "match", "after": "match"}


def test_stored_locators_equal_to_json(processed_case: Case, small_image: Path) -> None:
    """Other layers find rows by the locator text: it must be exactly Locator.to_json()."""
    with open_evidence(str(small_image)) as ev:
        expected = [r.locator.to_json() for r in (e.record for e in ev.entries())]
    stored = [r[0] for r in processed_case.db.execute("SELECT locator FROM files ORDER BY seq")]
    assert stored == expected
    assert any("\\u" in text for text in stored)  # the non-ASCII name is escaped as to_json does


def test_gate_stops_on_changed_exhibit_then_deviation(case: Case, examiner: examiners.Examiner,
                                                      small_image: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.raw"
    shutil.copyfile(small_image, copy)
    add_exhibit(case, copy, "E1", examiner)
    with open(copy, "r+b") as fh:  # one byte of unallocated space changes
        fh.seek(15 << 20)
        fh.write(b"\x01")
    with pytest.raises(CaseError, match=r"copy.raw: exhibit E1 no longer hashes the same \(registered sha256"):
        process_exhibit(case, "E1", examiner)
    assert case.db.execute("SELECT count(*) FROM files").fetchone()[0] == 0
    last = case.entries()[-1]
    assert (last.action, last.body["details"]["result"]) == ("verified", "mismatch")
    summary = process_exhibit(case, "E1", examiner, deviation="bit flip in unallocated space, see note 7")
    assert summary["integrity_before"] == "mismatch" and summary["files"] > 0
    actions = [e.action for e in case.entries()]
    assert actions[-4:] == ["verified", "verified", "deviation", "processed"]
    assert case.entries()[-2].body["details"]["justification"].startswith("bit flip")
    assert custody.verify_case(case).ok


def test_acquisition_hash_mismatch_is_recorded(case: Case, examiner: examiners.Examiner, small_image: Path) -> None:
    result = add_exhibit(case, small_image, "E1", examiner, acquisition_hash="sha256:" + "ab" * 32)
    assert result["acquisition_check"] == "mismatch"
    with pytest.raises(CaseError, match="acquisition sha256 expected abab"):
        process_exhibit(case, "E1", examiner)


# Runs `evidencekit case process` in a child that announces (and then sleeps at) one point of
# the run, so that the test kills it with SIGKILL exactly there. Nothing in the product is mocked.
HOOKS = {
    "claimed": "",
    "mid-inventory": """
orig = p.RowEncoder.number
def hooked(self, tails):
    rows = orig(self, tails)
    if self.count >= 1500:
        print("POINT", flush=True); time.sleep(60)
    return rows
p.RowEncoder.number = hooked
""",
    "mid-inventory-workers": """
import evidencekit.inventory.parallel as par
par.MIN_INODES = 0
orig = p.RowEncoder.number
def hooked(self, tails):
    rows = orig(self, tails)
    if self.count >= 1000:
        print("POINT", flush=True); time.sleep(60)
    return rows
p.RowEncoder.number = hooked
""",
    "entry-appended": """
import evidencekit.case.ledger as lg
orig = lg.append
def hooked(*a, **k):
    entry = orig(*a, **k)
    if entry.action == "processed":
        print("POINT", flush=True); time.sleep(60)
    return entry
p.ledger.append = hooked
""",
}


def _cli_process(case_dir: Path, hook: str = "claimed") -> subprocess.Popen[str]:
    code = ("import time\nimport evidencekit.pipeline.processing as p\n" + HOOKS[hook] +
            "\nfrom evidencekit.cli import main\nmain()")
    return subprocess.Popen([sys.executable, "-c", code, "case", "process", str(case_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(case_dir: Path, sql: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            db = sqlite3.connect(case_dir / "case.db", timeout=5)
            value = db.execute(sql).fetchone()[0]
            db.close()
            if value:
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {sql}")


@pytest.mark.parametrize("hook", list(HOOKS))
def test_kill_9_then_resume(case: Case, examiner: examiners.Examiner, medium_image: Path, hook: str,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    add_exhibit(case, medium_image, "E1", examiner)
    monkeypatch.setenv("EVIDENCEKIT_EXAMINER", examiner.id)
    proc = _cli_process(case.root, hook)
    if hook == "claimed":
        _wait_for(case.root, "SELECT count(*) FROM runs")
    else:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "POINT"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    entries = len(case.entries())
    assert case.db.execute("SELECT count(*) FROM files").fetchone()[0] == 0 and entries == 2
    status = run_cli("case", "status", str(case.root), check=True).stdout
    assert "interrupted" in status
    done = run_cli("case", "process", str(case.root), check=True)
    assert "status=processed" in done.stdout
    keys = _case_keys(case.root)
    assert keys == _walk_keys(medium_image) and len(set(keys)) == len(keys) > 3000
    assert [e.action for e in case.entries()] == ["created", "received", "verified", "processed"]
    assert custody.verify_case(case).ok


def test_two_processes_are_serialised(case: Case, examiner: examiners.Examiner, medium_image: Path,
                                      small_image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_exhibit(case, medium_image, "E1", examiner)
    monkeypatch.setenv("EVIDENCEKIT_EXAMINER", examiner.id)
    first, second = _cli_process(case.root), _cli_process(case.root)
    notes = [run_cli("custody", "record", str(case.root), "note", "--text", f"note {i}") for i in range(5)]
    added = run_cli("case", "add", str(case.root), str(small_image), "--exhibit", "E2")
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    assert all(n.returncode == 0 for n in notes) and added.returncode == 0, added.stderr
    with Case.open(case.root) as fresh:
        actions = [e.action for e in fresh.entries()]
        assert actions.count("processed") >= 1 and actions.count("note") == 5
        per_exhibit = dict(fresh.db.execute("SELECT exhibit, count(*) FROM files GROUP BY exhibit").fetchall())
        assert per_exhibit["E1"] == len(_walk_keys(medium_image))
        assert [e.seq for e in fresh.entries()] == list(range(1, len(actions) + 1))
        assert custody.verify_case(fresh).ok


def test_writer_waits_for_the_case_lock(case: Case, examiner: examiners.Examiner, small_image: Path) -> None:
    add_exhibit(case, small_image, "E1", examiner)
    holder = sqlite3.connect(case.root / "case.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing to the case
    env = {"EVIDENCEKIT_EXAMINER": examiner.id, "EVIDENCEKIT_BUSY_TIMEOUT": "1"}
    note = run_cli("custody", "record", str(case.root), "note", "--text", "x", env=env)
    assert note.returncode == 2 and "case is busy (another process is writing to it)" in note.stderr
    proc = subprocess.Popen([sys.executable, "-c", "from evidencekit.cli import main; main()", "case", "process",
                             str(case.root)], env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None and "another process is writing to the case; waiting" in proc.stderr.readline()
    holder.execute("COMMIT")
    holder.close()
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "status=processed" in out
    assert custody.verify_case(case).ok


def test_parallel_walk_stores_the_same_rows(tmp_path: Path, examiner: examiners.Examiner, medium_image: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes (evidencekit.inventory.parallel) render the same rows, in the same order."""
    from evidencekit.inventory import parallel

    monkeypatch.setattr(parallel, "MIN_INODES", 0)
    digests = []
    for jobs in (1, 2):
        with Case.init(tmp_path / f"c{jobs}", number="N", title="T", authority="A", examiner=examiner) as case:
            add_exhibit(case, medium_image, "E1", examiner)
            digests.append(process_exhibit(case, "E1", examiner, jobs=jobs)["inventory_sha256"])
            assert custody.verify_case(case).ok
    assert digests[0] == digests[1]


def test_attributes_are_stored_signed_and_read_back(case: Case, examiner: examiners.Examiner) -> None:
    """NTFS $SI flags reach the case, come back from queries as from `files`, and the digest covers them."""
    from ektools import ROOT
    from evidencekit.case import query

    image = ROOT / "training_images" / "office-workstation" / "workstation.E01"
    add_exhibit(case, image, "E1", examiner)
    process_exhibit(case, "E1", examiner)
    with open_evidence(str(image)) as ev:
        expected = {(r.path, r.stream): r.attributes for r in (e.record for e in ev.entries())}
    stored = {(r.path, r.stream): r.attributes for _, r in query.select_files(case, query.FileFilter())}
    assert stored == expected and any("hidden" in a for a in stored.values())
    assert custody.verify_case(case).ok
    case.db.execute("UPDATE files SET attributes = '' WHERE path = '/$MFT'")
    case.db.commit()
    assert not custody.verify_case(case).ok


def test_entries_signed_with_the_legacy_digest_still_verify(processed_case: Case, examiner) -> None:
    """Cases signed before the canonical row digest: the legacy form (32 columns when no file has
    attribute flags, json.dumps of 1024-row chunks) is what they signed, and custody verify accepts
    it; a changed row fails either form."""
    import hashlib
    import json

    from evidencekit.case.custody import verify_case
    from evidencekit.case.rows import FILE_COLUMNS, LEGACY_CHUNK, inventory_digest, legacy_files_digest

    assert FILE_COLUMNS[-2:] == ("attributes", "raw_name")
    cols = ", ".join(FILE_COLUMNS[:-2])
    rows = processed_case.db.execute(f"SELECT {cols} FROM files WHERE exhibit = 'E1' ORDER BY seq").fetchall()
    old = hashlib.sha256()
    for i in range(0, len(rows), LEGACY_CHUNK):
        old.update(json.dumps(rows[i:i + LEGACY_CHUNK]).encode("ascii"))
    legacy = legacy_files_digest(processed_case.db, "E1")
    assert rows and legacy == old.hexdigest() != inventory_digest(processed_case.db, "E1")[1]
    with processed_case.run("note", examiner=examiner, exhibit="E1", details={"text": "legacy"}) as act:
        act.record("db:files/E1", legacy)  # what a 'processed' entry of an older evidencekit says
    assert verify_case(processed_case).ok
    with processed_case.transaction() as db:
        db.execute("UPDATE files SET size = size + 1 WHERE exhibit = 'E1' AND seq = 2")
    assert not verify_case(processed_case).ok


def test_a_null_raw_name_is_left_out_of_the_digest(processed_case: Case) -> None:
    """Entries signed before raw_name existed (33 columns) verify; a raw name set later shows."""
    from evidencekit.case.custody import verify_case
    from evidencekit.case.rows import FILE_COLUMNS, inventory_digest
    from evidencekit.hashing import RowDigest

    rows = processed_case.db.execute(f"SELECT {', '.join(FILE_COLUMNS[:-1])} FROM files WHERE exhibit = 'E1' "
                                     "ORDER BY seq").fetchall()
    before = RowDigest()
    before.rows(rows)
    assert inventory_digest(processed_case.db, "E1") == (len(rows), before.hexdigest())
    with processed_case.transaction() as db:
        db.execute("UPDATE files SET raw_name = '6100' WHERE exhibit = 'E1' AND seq = 2")
    assert not verify_case(processed_case).ok
