"""A UFDR of several extractions (two devices; a logical and a file-system extraction): one
volume and one device record per extraction, each file in the volume its extractionId names."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from xml.etree import ElementTree

import pytest

from evidencekit import open_evidence
from evidencekit.case import Case, examiners
from evidencekit.inventory import files as list_files
from evidencekit.pipeline.intake import add_exhibit
from mobile.builders import DEVICE, NS, UfdrFile, UfdrSpec, write_ufdr

EK = [sys.executable, "-m", "evidencekit"]
IPHONE = {"DeviceInfoSelectedManufacturer": "Apple", "DeviceInfoSelectedDeviceName": "iPhone 12 (A2403)",
          "IMEI": "353012119876543", "DeviceInfoOSVersion": "15.4.1", "DeviceInfoOSType": "iOS"}
EXTRACTIONS = [("0", "Advanced Logical", "AdvancedLogical", DEVICE), ("1", "Full File System", "FullFileSystem", IPHONE)]
FILES = [
    UfdrFile("/data/data/com.whatsapp/databases/msgstore.db", "files\\Database\\msgstore.db", b"SQLite a", extraction="0"),
    UfdrFile("/private/var/mobile/Library/SMS/sms.db", "files\\Database\\sms.db", b"SQLite b", extraction="1"),
    UfdrFile("/Media/DCIM/IMG_1.jpg", "files\\Image\\IMG_1.jpg", b"\xff\xd8 one", extraction="0"),
    UfdrFile("/Media/DCIM/IMG_1.jpg", "files\\Image\\IMG_1 (1).jpg", b"\xff\xd8 two", extraction="1"),  # same path
    UfdrFile("/stray.txt", "files\\Text\\stray.txt", b"?", extraction="7"),  # no such extraction
]


@pytest.fixture(scope="module")
def ufdr(tmp_path_factory):
    path = tmp_path_factory.mktemp("multi") / "two.ufdr"
    return write_ufdr(path, UfdrSpec(FILES, extractions=EXTRACTIONS))


def _expected(path) -> dict[str, list[tuple[str, str]]]:
    """extractionId -> [(device path, zip member)], read with ElementTree (not the reader's parser)."""
    root = ElementTree.fromstring(zipfile.ZipFile(path).read("report.xml"))
    out: dict[str, list[tuple[str, str]]] = {}
    for f in root.iter(f"{{{NS}}}file"):
        local = next(i.text for i in f.iter(f"{{{NS}}}item") if i.get("name") == "Local Path")
        out.setdefault(f.get("extractionId"), []).append((f.get("path"), "/" + local.replace("\\", "/")))
    return out


def test_each_extraction_is_a_volume_with_its_device(ufdr):
    before = hashlib.sha256(ufdr.read_bytes()).hexdigest()
    with open_evidence(ufdr) as ev:
        assert [(v.name, v.type, v.label) for v in ev.volumes] == [
            ("e0", "ufdr:AdvancedLogical", "Advanced Logical"), ("e1", "ufdr:FullFileSystem", "Full File System")]
        assert ev.devices["e0"]["imei"] == DEVICE["IMEI"] and ev.devices["e0"]["make"] == "Samsung GSM"
        assert ev.devices["e1"]["imei"] == IPHONE["IMEI"] and ev.devices["e1"]["os"] == "iOS"
        assert ev.devices["e1"]["extraction_type"] == "FullFileSystem"
        assert ev.devices["e0"]["tool_version"] == ev.devices["e1"]["tool_version"] == "7.60.0.114"  # shared item
        assert "imei" not in ev.device and ev.device["extractions"] == "2"  # only what both state alike
        records = list(list_files(ev, ("sha256",)))
    got: dict[str, list[tuple[str, str]]] = {}
    for r in records:
        got.setdefault(r.volume, []).append((r.path, r.locator.spec["location"]))
    expected = _expected(ufdr)
    assert got["e0"] == expected["0"] and got["e1"] == expected["1"]
    (stray,) = [r for r in records if r.path == "/stray.txt"]
    assert stray.volume == "" and any("extractionId '7'" in w for w in stray.warnings)
    same = [r for r in records if r.path == "/Media/DCIM/IMG_1.jpg"]
    assert [(r.volume, r.sha256) for r in same] == [("e0", hashlib.sha256(b"\xff\xd8 one").hexdigest()),
                                                    ("e1", hashlib.sha256(b"\xff\xd8 two").hexdigest())]
    assert hashlib.sha256(ufdr.read_bytes()).hexdigest() == before


def test_one_volume_alone(ufdr):
    with open_evidence(ufdr) as ev:
        assert [e.record.path for e in ev.entries("e1")] == [p for p, _ in _expected(ufdr)["1"]]
        assert [e.record.path for e in ev.entries("")] == ["/stray.txt"]  # claimed by no extraction
    result = subprocess.run([*EK, "files", str(ufdr), "--hash", "none", "--volume", "e0"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["path"] for line in result.stdout.splitlines()] == [p for p, _ in _expected(ufdr)["0"]]


def test_info_and_the_exhibit_record_name_both_devices(ufdr, tmp_path):
    result = subprocess.run([*EK, "info", str(ufdr), "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["devices"]["e1"]["model"] == "iPhone 12 (A2403)" and data["devices"]["e0"]["os_version"] == "12"
    text = subprocess.run([*EK, "info", str(ufdr)], capture_output=True, text=True).stdout
    assert "Device of volume e1:" in text and IPHONE["IMEI"] in text and DEVICE["IMEI"] in text
    examiner = examiners.init_examiner("Mira Mobile", "mira")
    case = Case.init(tmp_path / "case", number="2026/16", title="Two phones", authority="W-16",
                     authority_date="2026-11-01", examiner=examiner)
    try:
        add_exhibit(case, ufdr, "U2", examiner)
        (details,) = [json.loads(r[0])["details"] for r in case.db.execute(
            "SELECT body FROM ledger WHERE action = 'received' AND exhibit = 'U2'")]
        assert details["devices"]["e0"]["imei"] == DEVICE["IMEI"] and details["devices"]["e1"]["imei"] == IPHONE["IMEI"]
    finally:
        case.close()
