"""`case process -j 2` whose worker is killed (kill -9): the lost part is listed again and the
stored rows are those of `-j 1`; when workers keep dying, one line, exit 2, and a case that
resumes. Real CLI runs, real SIGKILL, a real 24,000-file ext4."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from case.util import run_cli
from evidencekit.case import Case, custody, examiners
from evidencekit.pipeline.intake import add_exhibit
from workers import kill_a_worker_when, kill_every_worker

# Pauses `case process` once 3,000 rows are numbered (mid-walk, workers busy) until the test
# says go; the product itself is not changed.
PAUSED = """
import sys
import evidencekit.pipeline.processing as p
orig = p.RowEncoder.number
def hooked(self, tails):
    rows = orig(self, tails)
    if 3000 <= self.count < 3000 + len(rows):
        print("POINT", flush=True); sys.stdin.readline()
    return rows
p.RowEncoder.number = hooked
from evidencekit.cli import main
main()
"""


def _summary(stdout: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in stdout.split() if "=" in part)


def _new_case(root: Path, examiner: examiners.Examiner, image: Path) -> Case:
    case = Case.init(root, number="N", title="T", authority="A", examiner=examiner)
    add_exhibit(case, image, "E1", examiner)
    return case


@pytest.fixture
def env(examiner: examiners.Examiner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCEKIT_EXAMINER", examiner.id)


@pytest.mark.usefixtures("env")
def test_killed_worker_is_replaced_and_rows_match_one_process(tmp_path: Path, examiner: examiners.Examiner,
                                                               many_files_image: Path) -> None:
    one = _new_case(tmp_path / "one", examiner, many_files_image)
    serial = _summary(run_cli("case", "process", str(one.root), "-j", "1", check=True).stdout)
    two = _new_case(tmp_path / "two", examiner, many_files_image)
    proc = subprocess.Popen([sys.executable, "-c", PAUSED, "case", "process", str(two.root), "-j", "2"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "POINT"
    kill_a_worker_when(proc, lambda: True)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=300)  # a hang fails here
    assert proc.returncode == 0, err
    assert "a worker process died (killed by signal 9); listing its part again" in err
    got = _summary(out)
    assert got["status"] == "processed" and int(got["files"]) > 24_000
    assert got["inventory_sha256"] == serial["inventory_sha256"] and got["files"] == serial["files"]
    assert custody.verify_case(two).ok


@pytest.mark.usefixtures("env")
def test_workers_that_keep_dying_leave_a_case_that_resumes(tmp_path: Path, examiner: examiners.Examiner,
                                                           many_files_image: Path) -> None:
    case = _new_case(tmp_path / "case", examiner, many_files_image)
    proc = subprocess.Popen([sys.executable, "-c", "from evidencekit.cli import main; main()", "case", "process",
                             str(case.root), "-j", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kill_every_worker(proc)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    errors = [line for line in err.splitlines() if line.startswith("evidencekit: error:")]
    assert errors == [f"evidencekit: error: {many_files_image}: volume (whole): a worker process died "
                      "(killed by signal 9) 3 times; listing stopped"], err
    assert "Traceback" not in err
    assert case.db.execute("SELECT count(*) FROM files").fetchone()[0] == 0  # rolled back
    assert [e.action for e in case.entries()] == ["created", "received"]
    done = _summary(run_cli("case", "process", str(case.root), "-j", "2", check=True).stdout)
    assert done["status"] == "processed" and int(done["files"]) > 24_000
    assert [e.action for e in case.entries()] == ["created", "received", "verified", "processed"]
    assert custody.verify_case(case).ok
