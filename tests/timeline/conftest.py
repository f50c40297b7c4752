"""Fixtures for timeline tests: examiners, cases with processed exhibits, TSK/mactime helpers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from ektools import need_tool
from evidencekit.case import Case, examiners
from evidencekit.models import iso_utc
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.pipeline.processing import process_exhibit
from evidencekit.timeline.events import FN, TimelineEvent

ROOT = Path(__file__).resolve().parents[2]
WORKSTATION = ROOT / "training_images" / "office-workstation" / "workstation.E01"
MTIME = 1623657600  # 2021-06-14T08:00:00Z: fixed times of the generated trees


def build_ext4(work: Path, n_files: int, size_mb: int = 16) -> Path:
    """A small ext4 image from a generated tree (mke2fs -d), with fixed, distinct file times."""
    need_tool("mke2fs")
    src = work / f"src-{n_files}"
    for i in range(n_files):
        sub = src / f"dir{i % 5}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"file{i:04d}.txt"
        path.write_text(f"content of file {i}\n" * (1 + i % 4))
        os.utime(path, (MTIME + 3600 * i + 7, MTIME + 3600 * i))
    image = work / f"ext4-{n_files}.raw"
    with open(image, "wb") as fh:
        fh.truncate(size_mb << 20)
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": str(MTIME), "TZ": "UTC", "LC_ALL": "C"}
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-L", "TL",
                    "-d", str(src), str(image)], check=True, env=env)
    return image


def build_ext4_named(work: Path, names: dict[str, str], label: str) -> Path:
    """An 8 MiB ext4 image holding ``names`` (any bytes but "/") with the given contents."""
    need_tool("mke2fs")
    src = work / f"src-{label}"
    src.mkdir(parents=True)
    for i, (name, text) in enumerate(names.items()):
        path = src / name
        path.write_text(text * (i + 1))
        os.utime(path, (MTIME + 60 * i + 5, MTIME + 60 * i))
    image = work / f"{label}.raw"
    with open(image, "wb") as fh:
        fh.truncate(8 << 20)
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": str(MTIME), "TZ": "UTC", "LC_ALL": "C"}
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", label, "-d", str(src), str(image)], check=True, env=env)
    return image


@pytest.fixture(scope="session")
def ext4_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ext4(tmp_path_factory.mktemp("tlimg"), 30)


@pytest.fixture
def examiner() -> examiners.Examiner:
    return examiners.init_examiner("Tess Timeline", "tess")


def new_case(root: Path, examiner: examiners.Examiner) -> Case:
    return Case.init(root, number="2026/0404", title="Timeline test", authority="Warrant W-4",
                     authority_date="2026-11-01", examiner=examiner)


def add_processed(case: Case, examiner: examiners.Examiner, path: Path, exhibit: str) -> None:
    add_exhibit(case, path, exhibit, examiner)
    process_exhibit(case, exhibit, examiner, hashes=("sha256",))


@pytest.fixture
def ext4_case(tmp_path: Path, examiner: examiners.Examiner, ext4_image: Path) -> Case:
    case = new_case(tmp_path / "case", examiner)
    add_processed(case, examiner, ext4_image, "E1")
    yield case
    case.close()


def mactime_rows(body: Path) -> list[list[str]]:
    """``mactime -b BODY -d -y -z UTC`` rows (header dropped), split into 8 fields."""
    need_tool("mactime")
    out = subprocess.run(["mactime", "-b", str(body), "-d", "-y", "-z", "UTC"], capture_output=True,
                         text=True, check=True).stdout
    return [line.split(",", 7) for line in out.splitlines()[1:] if line.strip()]


def tsk_name(name: str) -> tuple[str, str | None]:
    """A mactime/bodyfile name without TSK's decorations: (path, "$FILE_NAME" or None)."""
    name = re.sub(r"^[^/:]*:[^/]*(?=/)", "", name.strip('"'))  # our EXHIBIT:VOLUME prefix
    if name.endswith(" (deleted)"):
        name = name[: -len(" (deleted)")]
    attribute = None
    if name.endswith(" ($FILE_NAME)"):
        name, attribute = name[: -len(" ($FILE_NAME)")], FN
    return name.split(" -> ", 1)[0], attribute


def mactime_events(body: Path) -> set[tuple[str, str, str, str | None]]:
    """(second, letter, path, attribute) for every M/A/C/B letter mactime shows; "0000" dates
    (a time TSK has as 0: not stored) are left out."""
    out = set()
    for date, _size, letters, *_rest, name in mactime_rows(body):
        if date.startswith("0000"):
            continue
        path, attribute = tsk_name(name)
        out.update((date, ch, path, attribute) for ch in letters if ch != ".")
    return out


def tsk_safe(path: str) -> str:
    return "".join("^" if ch < " " else ch for ch in path)


def event_keys(events: Iterable[TimelineEvent]) -> set[tuple[str, str, str, str | None]]:
    """The same keys from our events, at whole seconds as mactime shows them."""
    return {
        (str(iso_utc((ev.time // 10**9) * 10**9, 0)), ev.macb, tsk_safe(ev.display_path),
         ev.attribute if ev.attribute == FN else None)
        for ev in events if ev.macb
    }


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``evidencekit ARGS`` in a real subprocess (same interpreter and EVIDENCEKIT_HOME)."""
    return subprocess.run([sys.executable, "-c", "from evidencekit.cli import main; main()", *args],
                          capture_output=True, text=True, env=dict(os.environ))
