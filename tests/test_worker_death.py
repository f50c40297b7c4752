"""`files -j 2` whose worker is killed (kill -9, as the OOM killer would): the parent notices at
once, lists the lost part again with fresh workers, and the output is byte-identical to `-j 1`;
when workers keep dying it stops with one line and exit 2. Real CLI runs, real SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from workers import kill_a_worker_when, kill_every_worker

CLI = [sys.executable, "-c", "from evidencekit.cli import main; main()"]
LIST = ["files", "-j", "2", "--hash", "md5,sha256"]
DIED = "a worker process died (killed by signal 9); listing its part again"


@pytest.fixture(scope="module")
def serial(many_files_image: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("serial") / "j1.jsonl"
    subprocess.run([*CLI, "files", "-j", "1", "--hash", "md5,sha256", str(many_files_image), "-o", str(out)],
                   check=True, capture_output=True, timeout=120)
    return out.read_bytes()


def test_killed_worker_writing_to_a_file(many_files_image: Path, serial: bytes, tmp_path: Path) -> None:
    out = tmp_path / "j2.jsonl"
    proc = subprocess.Popen([*CLI, *LIST, str(many_files_image), "-o", str(out)], stderr=subprocess.PIPE, text=True)
    # mid-run: the workers have written part of the listing (they write the file themselves)
    kill_a_worker_when(proc, lambda: out.exists() and 0 < out.stat().st_size < len(serial) // 2)
    _, err = proc.communicate(timeout=300)  # a hang fails here
    assert proc.returncode == 0, err
    assert DIED in err and "(fresh workers, 1 of 2)" in err
    assert out.read_bytes() == serial and serial.count(b"\n") > 24_000


def test_killed_worker_writing_to_a_pipe(many_files_image: Path, serial: bytes) -> None:
    """On a pipe nothing can be taken back: the output is the serial one, or, when the worker died
    inside write(2) (how far it got is unknowable), a prefix of it with one error line and exit 2."""
    proc = subprocess.Popen([*CLI, *LIST, str(many_files_image)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    got = bytearray()
    assert proc.stdout is not None
    stdout = proc.stdout

    def read_all() -> None:
        while data := stdout.read1(65536):
            got.extend(data)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    kill_a_worker_when(proc, lambda: 0 < len(got) < len(serial) // 2)
    proc.wait(timeout=300)
    reader.join(timeout=30)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    if proc.returncode == 0:
        assert bytes(got) == serial and DIED in err
    else:
        assert proc.returncode == 2 and "died while writing to the output pipe" in err
        assert serial.startswith(bytes(got)) and "Traceback" not in err


def test_workers_that_keep_dying_stop_the_listing(many_files_image: Path, tmp_path: Path) -> None:
    out = tmp_path / "j2.jsonl"
    proc = subprocess.Popen([*CLI, *LIST, str(many_files_image), "-o", str(out)], stderr=subprocess.PIPE, text=True)
    killed = kill_every_worker(proc)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2 and killed >= 3, err
    errors = [line for line in err.splitlines() if line.startswith("evidencekit: error:")]
    assert errors == [f"evidencekit: error: {many_files_image}: volume (whole): a worker process died "
                      "(killed by signal 9) 3 times; listing stopped"], err
    assert "Traceback" not in err and not out.exists()  # no half listing left behind


FAILING_RENDERER = """
import sys
from evidencekit import open_evidence
from evidencekit.exporters.files import Renderer
from evidencekit.inventory import parallel

class FailsOnDir07(Renderer):
    def __call__(self, records):
        if any(r.path.startswith("/dir07/") for r in records):
            raise RuntimeError("renderer failed on /dir07")
        return super().__call__(records)

if __name__ == "__main__":
    with open_evidence(sys.argv[1]) as ev, open(sys.argv[2], "wb") as out:
        try:
            for data, _ in parallel.segments(ev, ("md5",), 2, renderer=FailsOnDir07("jsonl"), direct_to=out):
                out.write(data)
        except RuntimeError as err:
            print("raised:", err)
"""


def test_an_error_in_a_worker_ends_the_listing_without_a_hang(many_files_image: Path, tmp_path: Path) -> None:
    """Workers waiting for the turn of a chunk that failed are ended, not waited for."""
    script = tmp_path / "fails.py"
    script.write_text(FAILING_RENDERER)
    proc = subprocess.run([sys.executable, str(script), str(many_files_image), str(tmp_path / "out.jsonl")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == "raised: renderer failed on /dir07\n", proc.stderr
