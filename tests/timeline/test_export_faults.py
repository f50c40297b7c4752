"""`timeline export` onto a full disk: one line, exit 2, no `.NAME.partial` or half-written file
left, nothing recorded, the case intact. Two real faults: a 16 KiB tmpfs (ENOSPC; needs root and
mount(8), else skipped) and RLIMIT_FSIZE in the child (EFBIG; works anywhere)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evidencekit import settings
from evidencekit.case import Case, custody, examiners
from evidencekit.pipeline.timeline import build
from timeline.conftest import add_processed, build_ext4, new_case

TMPFS_SIZE = 16 << 10
LIMIT = 64 << 10  # RLIMIT_FSIZE: above the 32 KiB of SQLite's -shm file, which it also limits


@pytest.fixture(scope="module")
def big_case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A case whose file system timeline exports to far more than LIMIT bytes (examiner key in its home)."""
    work = tmp_path_factory.mktemp("tlfull")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVIDENCEKIT_HOME", str(work / "home"))  # the subprocesses use this home too
        settings.reset()  # the library reads the environment once
        examiner = examiners.init_examiner("Tess Timeline", "tess")
        case = new_case(work / "case", examiner)
        add_processed(case, examiner, build_ext4(work, 1000), "E1")
        build(case, examiner, artifacts="none")
        case.close()
    settings.reset()
    yield work / "case"


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "full"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8); the RLIMIT_FSIZE variant covers the rest")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def _file_size_limit() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))  # Python ignores SIGXFSZ: write(2) gets EFBIG


def _export(case_dir: Path, out: Path, fmt: str, preexec: Callable[[], None] | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "EVIDENCEKIT_EXAMINER": "tess", "EVIDENCEKIT_HOME": str(case_dir.parent / "home")}
    return subprocess.run([sys.executable, "-c", "from evidencekit.cli import main; main()", "timeline", "export",
                           str(case_dir), "--format", fmt, "--out", str(out)], capture_output=True, text=True,
                          env=env, preexec_fn=preexec, timeout=120)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "bodyfile"])
@pytest.mark.parametrize("fault", ["tmpfs (ENOSPC)", "RLIMIT_FSIZE (EFBIG)"])
def test_export_onto_a_full_disk(big_case: Path, tmp_path: Path, request: pytest.FixtureRequest, fault: str,
                                 fmt: str) -> None:
    if fault.startswith("tmpfs"):
        folder, preexec, cause = request.getfixturevalue("tiny_tmpfs"), None, "No space left on device"
    else:
        folder, preexec, cause = tmp_path, _file_size_limit, "File too large"
    with Case.open(big_case) as case:
        before = [e.entry_hash for e in case.entries()]
    out = folder / f"timeline.{fmt}"
    proc = _export(big_case, out, fmt, preexec)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"evidencekit: error: {out}: cannot be written: {cause}; nothing exported, "
                           "nothing recorded\n")
    assert sorted(os.listdir(folder)) == []  # neither the file, its .sha256, nor a .partial
    with Case.open(big_case) as case:
        assert [e.entry_hash for e in case.entries()] == before and custody.verify_case(case).ok


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "bodyfile"])
def test_the_same_export_fits_where_there_is_room(big_case: Path, tmp_path: Path, fmt: str) -> None:
    """The control: without the fault the export is well above the limit, so the fault was hit."""
    out = tmp_path / f"timeline.{fmt}"
    proc = _export(big_case, out, fmt, None)
    assert proc.returncode == 0, proc.stderr
    # well above the limit (the bodyfile is the smallest: MD5 or 0 in its first column, as TSK 3.x has it)
    assert out.stat().st_size > 1.3 * LIMIT and (tmp_path / f"timeline.{fmt}.sha256").is_file()
