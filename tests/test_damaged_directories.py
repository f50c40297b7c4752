"""A directory inode whose size is larger than its whole file system (a damaged inode, as the fuzz
stage made on an ext2 root) is a warning naming that directory; TSK is not asked to read it, and
every other entry is still listed."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from case.util import run_cli
from images import ENV, ext4_image

HUGE = 0xFFFF_F000  # 4 GiB, on a 16 MiB file system (a directory's size is 32 bits)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ext4_image(tmp_path_factory.mktemp("plain"))


def _damaged(plain: Path, folder: Path, inode: str) -> Path:
    image = folder / "damaged.raw"
    shutil.copyfile(plain, image)
    subprocess.run(["debugfs", "-w", "-R", f"sif {inode} size {HUGE}", str(image)], check=True, env=ENV,
                   capture_output=True)
    return image


def _listing(image: Path, out: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, dict]]:
    proc = run_cli("files", str(image), "-o", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return proc, {r["path"]: r for r in rows}


def test_a_subdirectory_larger_than_its_file_system_is_a_warning(plain: Path, tmp_path: Path) -> None:
    image = _damaged(plain, tmp_path, "/docs")
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    _, good = _listing(plain, tmp_path / "good.jsonl")
    proc, got = _listing(image, tmp_path / "damaged.jsonl")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"directory /docs (inode {good['/docs']['inode']})" in proc.stderr
    assert f"claims {HUGE:,} bytes" in proc.stderr
    outside = {p for p in good if not p.startswith("/docs/")}
    assert outside <= set(got)  # the directory itself and everything beside it
    assert not any(p.startswith("/docs/") for p in got)
    for path in outside - {"/docs"}:
        assert got[path]["sha256"] == good[path]["sha256"], path
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before


def test_a_root_larger_than_its_file_system_is_a_warning_not_minutes_in_tsk(plain: Path, tmp_path: Path) -> None:
    image = _damaged(plain, tmp_path, "<2>")
    proc, got = _listing(image, tmp_path / "damaged.jsonl")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"directory / (inode 2) on volume (whole) claims {HUGE:,} bytes" in proc.stderr
    assert not [p for p in got if p.count("/") > 1 or p.startswith("/docs")]


def test_a_parallel_walk_warns_once_and_lists_as_one_process(tmp_path: Path) -> None:
    from case.util import build_ext4
    from evidencekit.inventory.parallel import MIN_INODES

    image = build_ext4(tmp_path, 600, size_mb=160)  # room for more than MIN_INODES inodes: split
    subprocess.run(["debugfs", "-w", "-R", f"sif /dir03 size {HUGE}", str(image)], check=True, env=ENV,
                   capture_output=True)
    assert int(subprocess.run(["fsstat", str(image)], capture_output=True, text=True, check=True).stdout
               .split("Inode Range: 1 - ")[1].split()[0]) >= MIN_INODES
    one = run_cli("files", str(image), "-j", "1", "-o", str(tmp_path / "one.jsonl"))
    two = run_cli("files", str(image), "-j", "2", "-o", str(tmp_path / "two.jsonl"))
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    for proc in (one, two):
        assert proc.stderr.count("directory /dir03 (inode") == 1, proc.stderr
