"""``files --format dfxml``: valid against the DFXML schema, and the same entries as fiwalk (TSK's
own DFXML writer) finds. ``files`` CSV: control characters escaped, --excel, unknown --volume."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from tests.timeline.conftest import build_ext4_named

from ektools import need_tool

SCHEMA = Path(__file__).parent / "data" / "dfxml_schema" / "dfxml.xsd"
NS = {"d": "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML", "ek": "https://evidencekit.org/ns/dfxml/1"}
NAMES = {"notes.txt": "n", "line\nbreak.txt": "l", "Документы.txt": "д", "a&b<c>.txt": "x"}


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "evidencekit", *args], capture_output=True)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ext4_named(tmp_path_factory.mktemp("dfxml"), NAMES, "dfx")


def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def test_dfxml_is_valid_and_matches_the_jsonl_listing(image: Path, tmp_path: Path) -> None:
    out = tmp_path / "files.dfxml"
    done = _cli("files", str(image), "--format", "dfxml", "-o", str(out), "-j", "2")
    assert done.returncode == 0, done.stderr
    doc = etree.parse(str(out))
    schema = _schema()
    assert schema.validate(doc), schema.error_log
    records = [json.loads(line) for line in _cli("files", str(image)).stdout.splitlines()]
    objs = doc.findall("d:fileobject", NS)
    assert len(objs) == len(records)
    for obj, rec in zip(objs, records, strict=True):
        assert obj.findtext("d:filename", namespaces=NS) == rec["path"].lstrip("/").replace("\n", "\\x0A")
        assert int(obj.findtext("d:inode", namespaces=NS)) == rec["inode"]
        assert int(obj.findtext("d:filesize", namespaces=NS)) == rec["size"]
        digests = {h.get("type"): h.text for h in obj.findall("d:hashdigest", NS)}
        assert digests == {k: rec[k] for k in ("md5", "sha1", "sha256") if rec[k]}
        assert obj.findtext("d:mtime", namespaces=NS) == rec["mtime"]
    assert doc.find("d:source/d:image_filename", NS).text == str(image)


def test_dfxml_agrees_with_fiwalk(image: Path, tmp_path: Path) -> None:
    need_tool("fiwalk")
    theirs = tmp_path / "fiwalk.xml"
    subprocess.run(["fiwalk", "-X", str(theirs), str(image)], check=True, capture_output=True)
    ours = tmp_path / "ours.dfxml"
    assert _cli("files", str(image), "--format", "dfxml", "-o", str(ours), "--hash", "md5,sha1,sha256").returncode == 0

    def regular_files(path: Path) -> dict[str, tuple[str | None, ...]]:
        found = {}
        for obj in etree.parse(str(path)).iter(f"{{{NS['d']}}}fileobject"):
            if obj.findtext("d:name_type", namespaces=NS) != "r":
                continue
            found[obj.findtext("d:filename", namespaces=NS)] = tuple(
                obj.findtext(f"d:{tag}", namespaces=NS) for tag in ("inode", "filesize", "alloc", "mode", "uid"))\
                + tuple((obj.findtext(f"d:{t}", namespaces=NS) or "")[:19] for t in ("mtime", "atime", "crtime")) \
                + (obj.findtext("d:hashdigest[@type='md5']", namespaces=NS),
                   obj.findtext("d:hashdigest[@type='sha1']", namespaces=NS))
        return found

    theirs_files = regular_files(theirs)
    assert len(theirs_files) == len(NAMES) and regular_files(ours) == theirs_files
    assert _schema().validate(etree.parse(str(theirs)))  # the schema as fiwalk's own output meets it


def test_files_csv_escapes_names_and_opens_in_excel(image: Path) -> None:
    plain = _cli("files", str(image), "--format", "csv").stdout.decode()
    assert len(plain.splitlines()) == 1 + len(_cli("files", str(image)).stdout.splitlines())
    assert "/line\\nbreak.txt" in plain
    raw = _cli("files", str(image), "--format", "csv", "--excel").stdout
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0][:2] == ["volume", "path"] and any(r[1] == "/Документы.txt" for r in rows)


def test_unknown_volume_is_an_error_naming_those_that_exist(image: Path) -> None:
    done = _cli("files", str(image), "--volume", "nosuch")
    assert done.returncode == 2 and done.stdout == b""
    assert b"no volume 'nosuch'" in done.stderr and b"it has ''" in done.stderr
