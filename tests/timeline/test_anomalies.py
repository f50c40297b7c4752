"""NTFS anomaly flags: on the timestomped training image and on records with known times."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.timeline.conftest import WORKSTATION, add_processed, new_case

from evidencekit.case import examiners
from evidencekit.models import FileRecord, Locator, parse_iso_utc
from evidencekit.pipeline.timeline import build, timeline
from evidencekit.timeline.anomalies import AnomalyContext, record_flags, scan_fs_created
from evidencekit.timeline.build import parse_loose
from evidencekit.timeline.events import FN, SI, derive_all

STOMPED = "/Users/m.ivanova/AppData/Roaming/WinUpdate/updater.exe"
NS = 10**9


def _ntfs(path: str, **times: int | None) -> FileRecord:
    return FileRecord(volume="p1", path=path, inode=64, type="file", deleted=False, size=1,
                      locator=Locator("x.E01", {"type_indicator": "TSK", "location": path}),
                      filesystem="ntfs", time_digits=7, **times)


def test_timestomped_file_in_training_image(tmp_path: Path, examiner: examiners.Examiner) -> None:
    if not WORKSTATION.is_file():
        pytest.skip(f"{WORKSTATION} not built (make training images)")
    case = new_case(tmp_path / "case", examiner)
    add_processed(case, examiner, WORKSTATION, "E3")
    build(case, examiner, artifacts="none")
    flagged = list(timeline(case, flagged=True))
    stomped = [e for e in flagged if e.path == STOMPED]
    by_kind = {(e.attribute, e.macb): e.flags for e in stomped}
    assert "si_created_before_fn" in by_kind[(SI, "b")]
    assert "before_fs_created" in by_kind[(SI, "b")] and "before_fs_created" in by_kind[(SI, "c")]
    assert not any(e.attribute == FN for e in stomped)  # $FILE_NAME keeps the true times
    # Only the timestomped file predates the file system; nothing is later than the acquisition.
    assert {e.path for e in flagged if "before_fs_created" in e.flags} == {STOMPED}
    assert not any("future" in e.flags for e in flagged)
    details = case.entries()[-1].body["details"]
    assert details["anomaly_reference"]["reference_source"] == "acquisition date"
    assert details["anomaly_reference"]["reference_ns"] == parse_iso_utc("2021-06-20T09:30:00Z")
    case.close()


def test_zero_fraction_and_future_flags() -> None:
    fn = parse_iso_utc("2021-06-15T09:07:03.1234567Z")
    rec = _ntfs("/a.exe", mtime=parse_iso_utc("2021-06-15T09:00:00Z"), fn_mtime=fn,
                crtime=fn, fn_crtime=fn, atime=parse_iso_utc("2031-01-01T00:00:00.5Z"), fn_atime=fn)
    ctx = AnomalyContext(parse_iso_utc("2021-06-20T09:30:00Z"), "acquisition date",
                         {"p1": parse_iso_utc("2021-05-03T07:45:00Z")})
    flags = record_flags(rec, ctx)
    assert flags == {"mtime": ("si_zero_fraction",), "atime": ("future",)}
    events = {(e.attribute, e.macb): e.flags for e in derive_all([(1, rec)], "E1", ctx)}
    assert events[(SI, "m")] == ("si_zero_fraction",) and events[(SI, "a")] == ("future",)
    assert events[(FN, "m")] == () and events[(SI, "b")] == ()


def test_modified_before_fs_creation_is_not_flagged() -> None:
    """Copies keep old modification times: only c/b times before mkfs are anomalies."""
    old = parse_iso_utc("2010-01-01T00:00:00.1Z")
    new = parse_iso_utc("2021-06-01T00:00:00.2Z")
    rec = _ntfs("/copied.doc", mtime=old, atime=new, ctime=new, crtime=new, fn_crtime=new)
    ctx = AnomalyContext(parse_iso_utc("2021-06-20T00:00:00Z"), "build time",
                         {"p1": parse_iso_utc("2021-05-03T07:45:00Z")})
    assert record_flags(rec, ctx) == {}
    backdated = _ntfs("/x.doc", ctime=old, crtime=new, fn_crtime=new)
    assert record_flags(backdated, ctx) == {"ctime": ("before_fs_created",)}


def test_fs_creation_from_mft_and_volume() -> None:
    mft = _ntfs("/$MFT", fn_crtime=parse_iso_utc("2021-05-03T07:45:00Z"))
    vol = _ntfs("/$Volume", crtime=parse_iso_utc("2021-05-03T07:45:01Z"))
    other = _ntfs("/Users", crtime=parse_iso_utc("2001-01-01T00:00:00Z"))
    assert scan_fs_created([other, vol, mft]) == {"p1": parse_iso_utc("2021-05-03T07:45:00Z")}


@pytest.mark.parametrize(("text", "iso"), [
    ("Sun Jun 20 09:30:00 2021", "2021-06-20T09:30:00Z"),
    ("2021-06-18", "2021-06-18T23:59:59.999999999Z"),
    ("2021-06-18T10:00:00+03:00", "2021-06-18T07:00:00Z"),
])
def test_reference_dates(text: str, iso: str) -> None:
    assert parse_loose(text) == parse_iso_utc(iso)
    assert parse_loose("not a date") is None
