"""case add: references by path and media hash, E01 container hashes, optional copy into the case."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from ektools import need_tool
from evidencekit.case import Case, custody, examiners
from evidencekit.errors import CaseError
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.pipeline.processing import process_exhibit


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def e01_of_small(small_image: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small ext4 image acquired by ewfacquire into 1 MiB segments (stores MD5 and SHA1)."""
    ewfacquire = need_tool("ewfacquire")
    out = tmp_path_factory.mktemp("e01")
    subprocess.run([ewfacquire, "-u", "-q", "-t", str(out / "usb"), "-c", "none", "-S", "1MiB", "-d", "sha1",
                    "-C", "2026/0142", "-e", "Alice", str(small_image)], check=True, capture_output=True)
    return out / "usb.E01"


def test_reference_by_path_leaves_evidence_alone(case: Case, examiner: examiners.Examiner, small_image: Path) -> None:
    before = (small_image.stat().st_mtime_ns, _sha256(small_image))
    result = add_exhibit(case, small_image, "E1", examiner, acquisition_hash="sha256:" + _sha256(small_image))
    assert result["acquisition_check"] == "match"
    assert case.exhibit("E1").path == str(small_image) and not (case.root / "evidence").exists()
    assert case.exhibit("E1").sha256 == before[1]
    process_exhibit(case, "E1", examiner)
    assert (small_image.stat().st_mtime_ns, _sha256(small_image)) == before


def test_copy_of_multi_segment_e01(case: Case, examiner: examiners.Examiner, e01_of_small: Path,
                                   small_image: Path) -> None:
    segments = sorted(e01_of_small.parent.glob("usb.E*"))
    assert len(segments) > 3
    result = add_exhibit(case, e01_of_small, "E1", examiner, copy=True)
    exhibit = case.exhibit("E1")
    copy_dir = case.root / "evidence" / "E1"
    assert exhibit.path == str(copy_dir / "usb.E01")
    assert sorted(p.name for p in copy_dir.iterdir()) == [s.name for s in segments]
    received = case.entries()[-1]
    assert received.body["details"]["copied_from"] == str(e01_of_small)
    assert received.body["details"]["copied_files_sha256"] == {s.name: _sha256(s) for s in segments}
    assert result["acquisition_check"] == "match"  # the MD5/SHA1 stored in the E01
    assert exhibit.sha256 == _sha256(small_image)  # the decoded media, not the container
    summary = process_exhibit(case, "E1", examiner)
    assert summary["integrity_before"] == "match"
    verified = case.entries()[-2]
    assert {"container_md5", "container_sha1", "registered_sha256"} <= set(verified.body["inputs"])
    assert custody.verify_case(case).ok


def test_copy_refused_leaves_nothing(case: Case, examiner: examiners.Examiner, small_image: Path) -> None:
    (case.root / "evidence" / "E1").mkdir(parents=True)
    with pytest.raises(CaseError, match="evidence/E1: already exists"):
        add_exhibit(case, small_image, "E1", examiner, copy=True)
    assert case.exhibits() == [] and len(case.entries()) == 1
    assert list((case.root / "evidence").iterdir()) == [case.root / "evidence" / "E1"]


def test_sidecar_hash_is_an_acquisition_reference(case: Case, examiner: examiners.Examiner, small_image: Path,
                                                  tmp_path: Path) -> None:
    import shutil

    image = tmp_path / "disk.dd"
    shutil.copyfile(small_image, image)
    md5 = hashlib.md5(image.read_bytes()).hexdigest()
    (tmp_path / "disk.dd.md5").write_text(f"{md5}  disk.dd\n")
    result = add_exhibit(case, image, "E1", examiner)
    assert result["acquisition_check"] == "match"
    assert case.exhibit("E1").sidecar_hashes == {"md5": md5}
    assert case.entries()[-1].body["inputs"]["sidecar_md5"] == md5
    process_exhibit(case, "E1", examiner)
    assert case.entries()[-2].body["inputs"]["sidecar_md5"] == md5  # the gate compared it again
    (tmp_path / "other.dd").write_bytes(image.read_bytes())
    (tmp_path / "other.dd.md5").write_text("0" * 32 + "  other.dd\n")
    bad = add_exhibit(case, tmp_path / "other.dd", "E2", examiner)
    assert bad["acquisition_check"] == "mismatch" and bad["mismatches"][0].startswith("sidecar md5 expected 0000")
