"""Cellebrite UFDR: device paths from report.xml, stated hashes checked, device facts, bad reports."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from evidencekit import open_evidence
from evidencekit.inventory import files as list_files
from mobile.builders import UfdrFile, UfdrSpec, chat, write_ufdr

EK = [sys.executable, "-m", "evidencekit"]
DB = b"SQLite format 3\x00" + b"\x01" * 5000
FILES = [
    UfdrFile("/data/data/com.whatsapp/databases/msgstore.db", "files\\Database\\msgstore.db", DB),
    UfdrFile("/data/media/0/DCIM/Camera/IMG_1.jpg", "files\\Image\\IMG_1.jpg", b"\xff\xd8jpeg",
             modified="2021-06-14T20:30:09.1234567+03:00", deleted=True),
    UfdrFile("/data/media/0/Download/doc.pdf", "files\\Document\\doc.pdf", b"%PDF-1.4 tampered",
             stated_sha256="ab" * 32, stated_size=99),
]


@pytest.fixture
def ufdr(tmp_path) -> Path:
    decoded = chat("WhatsApp", "1", [("2021-06-14T17:30:09.007+00:00", "77011234567@s.whatsapp.net", "Марат",
                                      "Сәлем! Встреча в 19:00")])
    return write_ufdr(tmp_path / "phone.ufdr", UfdrSpec(FILES, decoded), {"Report.pdf": b"%PDF"})


def test_files_under_device_paths_with_stated_times_and_checked_hashes(ufdr):
    before = hashlib.sha256(ufdr.read_bytes()).hexdigest()
    with open_evidence(ufdr) as ev:
        records = {r.path: r for r in list_files(ev, ("md5", "sha256"))}
    assert list(records) == [f.device_path for f in FILES] + ["/Report.pdf"]
    db = records["/data/data/com.whatsapp/databases/msgstore.db"]
    assert db.sha256 == hashlib.sha256(DB).hexdigest() and db.warnings == ()
    assert db.locator.spec["location"] == "/files/Database/msgstore.db"  # the category path, kept
    assert db.mtime == 1_623_691_809_007_000_000 and db.crtime == 1_622_523_600_000_000_000
    img = records["/data/media/0/DCIM/Camera/IMG_1.jpg"]
    assert img.deleted and img.mtime == 1_623_691_809_123_456_700 and img.time_digits == 7
    doc = records["/data/media/0/Download/doc.pdf"]
    assert any("states 99 bytes" in w for w in doc.warnings)
    assert any(w.startswith("sha256 ") and "report.xml states" in w for w in doc.warnings)
    assert hashlib.sha256(ufdr.read_bytes()).hexdigest() == before


def test_device_in_info(ufdr):
    result = subprocess.run([*EK, "info", str(ufdr), "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "ufdr" and data["format_chain"] == ["zip", "ufdr"]
    assert data["device"]["imei"] == "356938035643809" and data["device"]["model"] == "SM-A525F Galaxy A52"
    assert data["device"]["tool_version"] == "7.60.0.114" and data["device"]["extraction_type"] == "AdvancedLogical"
    text = subprocess.run([*EK, "info", str(ufdr)], capture_output=True, text=True).stdout
    assert "356938035643809" in text and "Samsung GSM" in text


def test_zip_listing_agrees_with_python_zipfile(ufdr):
    with zipfile.ZipFile(ufdr) as zf:
        members = {i.filename: i.file_size for i in zf.infolist() if i.filename != "report.xml"}
    with open_evidence(ufdr) as ev:
        got = {e.record.locator.spec["location"].lstrip("/"): e.record.size for e in ev.entries()}
    assert got == members


def test_malformed_report_still_lists_every_file_by_zip_path(tmp_path):
    path = write_ufdr(tmp_path / "bad.ufdr", UfdrSpec(FILES, break_xml_after_files=1))
    with open_evidence(path) as ev:
        paths = [r.path for r in list_files(ev, ("sha256",))]
        warnings = ev.warnings
    assert paths == [FILES[0].device_path, "/files/Image/IMG_1.jpg", "/files/Document/doc.pdf"]
    assert any("report.xml malformed" in w for w in warnings)
    result = subprocess.run([*EK, "files", str(path), "--hash", "none"], capture_output=True, text=True)
    assert result.returncode == 0 and "report.xml malformed" in result.stderr


def test_ufd_folder_names_the_device(tmp_path):
    folder = tmp_path / "UFED Samsung SM-A525F 2021_06_15 (001)"
    folder.mkdir()
    (folder / "Samsung GSM_SM-A525F Galaxy A52.ufd").write_text(
        "[DeviceInfo]\nVendor=Samsung GSM\nModel=SM-A525F Galaxy A52\nIMEI=356938035643809\nOS=12\n"
        "[General]\nExtractionType=FileSystem\nDate=15/06/2021 10:12:00\nVersion=7.60.0.114\n"
        "[SHA256]\nEXTRACTION_FFS.zip=00\n", encoding="utf-8")
    with zipfile.ZipFile(folder / "EXTRACTION_FFS.zip", "w") as zf:
        zf.writestr("Dump/data/data/com.whatsapp/databases/msgstore.db", DB)
    with open_evidence(folder) as ev:
        assert ev.format_chain == ["directory", "ufd"]
        assert ev.device["imei"] == "356938035643809" and ev.device["extraction_type"] == "FileSystem"
    with open_evidence(folder / "EXTRACTION_FFS.zip") as ev:
        assert "ffs:android" in ev.format_chain and ev.device["root"] == "/Dump/"


def test_ufdr_without_report_lists_zip_paths_with_a_warning(tmp_path):
    path = tmp_path / "noreport.ufdr"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("files/Image/a.jpg", b"\xff\xd8")
    with open_evidence(path) as ev:
        assert [r.path for r in list_files(ev, ())] == ["/files/Image/a.jpg"]
        assert any("no report.xml" in w for w in ev.warnings)


def test_decoded_items_become_events(tmp_path):
    from evidencekit.timeline.ufdr_items import decoded_events
    from mobile.builders import call, contact

    decoded = (chat("WhatsApp", "5", [("2021-06-14T17:30:09.007+00:00", "77011234567", "Марат", "Сәлем!"),
                                      ("2021-06-14T17:31:00+00:00", "77019998877", "Ольга", "Привет")])
               + call("2021-06-14T18:00:00.5+00:00", "+77011234567", "Outgoing", "00:02:11")
               + contact("Марат", "+77011234567", "2020-01-02T03:04:05+06:00") + contact("Без даты", "+7700"))
    path = write_ufdr(tmp_path / "d.ufdr", UfdrSpec(FILES[:1], decoded))
    warnings: list[str] = []
    with open_evidence(path) as ev:
        events = list(decoded_events(ev, "E1", warnings))
    assert warnings == []
    assert [(e.extra["type"], e.time, e.time_digits) for e in events] == [
        ("InstantMessage", 1_623_691_809_007_000_000, 3), ("InstantMessage", 1_623_691_860_000_000_000, 0),
        ("Call", 1_623_693_600_500_000_000, 1), ("Contact", 1_577_912_645_000_000_000, 0)]
    assert events[0].extra["chat"] == "WhatsApp 5" and events[0].extra["text"] == "Сәлем!"
    assert "Марат" in events[0].extra["sender"] and events[2].extra["direction"] == "Outgoing"
    assert events[3].timestamp_desc == "TimeCreated"
    assert events[0].sha256 == hashlib.sha256(zipfile.ZipFile(path).read("report.xml")).hexdigest()
