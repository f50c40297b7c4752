"""The library points: path look-up on an opened evidence, datetime beside ns, typed package,
Case in __all__, one default hash list."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from pathlib import Path

import pytest

import evidencekit
from evidencekit import open_evidence
from evidencekit.errors import EvidenceError, ValidationError
from evidencekit.hashing import DEFAULT_FILE_HASHES as DEFAULT_HASHES
from evidencekit.inventory import files as list_files
from evidencekit.models import TIME_FIELDS
from evidencekit.times import to_ns

ROOT = Path(__file__).resolve().parent.parent
WORKSTATION = ROOT / "training_images" / "office-workstation" / "workstation.E01"
USB = ROOT / "training_images" / "usb-data-theft" / "usb.img.gz"


@pytest.mark.parametrize("image", [WORKSTATION, USB], ids=["ntfs", "fat32"])
def test_entry_finds_what_a_full_listing_finds(image: Path) -> None:
    with open_evidence(image) as ev:
        listed = [e.record for e in ev.entries() if e.record.type == "file" and not e.record.deleted
                  and not e.record.stream and e.record.path.count("/") >= 2][:25]
        assert listed
        for rec in listed:
            found = ev.entry(rec.path, volume=rec.volume).record
            assert (found.path, found.inode, found.size, found.mtime) == (rec.path, rec.inode, rec.size, rec.mtime)
            upper = ev.entry(rec.path.upper(), volume=rec.volume).record  # FAT and NTFS ignore case
            assert upper.inode == rec.inode
        with ev.open(listed[0].path, volume=listed[0].volume) as fh:
            data = fh.read()
        assert len(data) == listed[0].size
        with pytest.raises(EvidenceError, match="no entry '/no/such/file'"):
            ev.entry("/no/such/file")


def test_entry_in_an_extraction_folder(tmp_path: Path) -> None:
    (tmp_path / "Docs").mkdir()
    (tmp_path / "Docs" / "note.txt").write_text("hello")
    with open_evidence(tmp_path) as ev:
        assert ev.entry("/Docs/note.txt").record.size == 5
        with ev.open("/Docs/note.txt") as fh:
            assert fh.read() == b"hello"
        with pytest.raises(EvidenceError):
            ev.entry("/docs/NOTE.txt")  # a Linux folder compares exactly


def test_datetimes_beside_nanoseconds() -> None:
    with open_evidence(USB) as ev:
        rec = next(r for r in list_files(ev, hashes=()) if r.mtime is not None)
    when = rec.datetime("mtime")
    assert when is not None and when.tzinfo is UTC and to_ns(when) == rec.mtime // 1000 * 1000
    assert set(rec.datetimes) <= set(TIME_FIELDS) and rec.datetimes["mtime"] == when
    with pytest.raises(ValueError):
        rec.datetime("size")
    with pytest.raises(ValidationError, match="time zone"):
        to_ns(datetime(2021, 6, 1))  # noqa: DTZ001 - the point: a naive datetime is refused


def test_package_surface() -> None:
    assert "Case" in evidencekit.__all__ and evidencekit.Case.__name__ == "Case"
    assert (Path(evidencekit.__file__).parent / "py.typed").is_file()
    from evidencekit.cli.evidence import files as files_cmd
    from evidencekit.inventory import files as list_files
    from evidencekit.pipeline.processing import DEFAULT_HASHES as CASE_DEFAULT

    files = inspect.signature(list_files).parameters["hashes"].default

    cli_default = next(p.default for p in files_cmd.params if p.name == "hash_names")
    assert files == CASE_DEFAULT == DEFAULT_HASHES and cli_default == ",".join(DEFAULT_HASHES)
    timeline = inspect.signature(evidencekit.Case.timeline)
    assert "start" in timeline.parameters and "Any" not in str(timeline.return_annotation)
