"""Extraction: the bytes written equal The Sleuth Kit's icat for allocated, deleted and stream entries;
nothing is written outside the output directory, nothing overwritten; times and manifest are right."""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from case.util import run_cli
from ektools import need_tool
from evidencekit import open_evidence
from evidencekit.case import Case
from evidencekit.case.custody import verify_case
from evidencekit.errors import EvidenceKitError
from evidencekit.extract import escape_component, extract_evidence
from evidencekit.findings.extraction import extract_case
from findings.conftest import DROPPER, USB, WORKSTATION, ZONE


def icat(image: Path, address: str, offset: int = 0) -> bytes:
    return subprocess.run([need_tool("icat"), "-o", str(offset), str(image), address], check=True,
                          capture_output=True).stdout


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_case_extraction_equals_icat_for_allocated_deleted_and_stream(ws_case: Case, examiner, tmp_path: Path) -> None:
    before = _sha(WORKSTATION)
    out = tmp_path / "out"
    result = extract_case(ws_case, examiner, "E1", out, [DROPPER, ZONE, "/Windows/System32/drivers/etc/hosts"], [])
    assert {f.check for f in result.files} == {"match"}
    written = {f.record.path + (":" + f.record.stream if f.record.stream else ""): out / f.written for f in result.files}
    assert written[DROPPER].read_bytes() == icat(WORKSTATION, "81", 2048)  # deleted: MFT entry 81
    assert written[ZONE].read_bytes() == icat(WORKSTATION, "80-128-4", 2048)  # the Zone.Identifier stream
    hosts = next(f for f in result.files if f.record.path.endswith("/hosts"))
    assert written["/Windows/System32/drivers/etc/hosts"].read_bytes() == icat(WORKSTATION, str(hosts.record.inode), 2048)
    assert _sha(WORKSTATION) == before  # the evidence is untouched
    # original path kept under the volume, times set to the original's
    assert written[DROPPER] == out / "p1" / DROPPER.lstrip("/")
    dropper = next(f for f in result.files if f.record.path == DROPPER)
    assert os.stat(written[DROPPER]).st_mtime_ns == dropper.record.mtime
    # the manifest: paths, sizes, hashes; its hash in the ledger entry
    rows = list(csv.DictReader(result.manifest.open(encoding="utf-8")))
    assert {r["path"] for r in rows} >= {DROPPER, "/Users/m.ivanova/Downloads/Invoice_7731.zip"}
    row = next(r for r in rows if r["path"] == DROPPER)
    assert row["deleted"] == "yes" and int(row["size"]) == written[DROPPER].stat().st_size
    assert row["sha256"] == row["expected_sha256"] == _sha(written[DROPPER]) and row["check"] == "match"
    entry = ws_case.entries()[-1]
    assert entry.action == "extracted" and entry.body["details"]["manifest_sha256"] == _sha(result.manifest)
    assert verify_case(ws_case).ok


def test_glob_deleted_only_and_no_overwrite(ws_case: Case, examiner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = extract_case(ws_case, examiner, "E1", out, [], ["/Users/*/Downloads/*"], deleted_only=True)
    assert [f.record.path for f in result.files] == [DROPPER]
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(EvidenceKitError, match="never overwrites"):
        extract_case(ws_case, examiner, "E1", out, [DROPPER], [])
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert ws_case.entries()[-1].seq == result.entry_seq  # the refused run recorded nothing


def test_inside_the_case_the_manifest_is_a_verified_output(ws_case: Case, examiner) -> None:
    result = extract_case(ws_case, examiner, "E1", ws_case.root / "exports" / "x", [DROPPER], [])
    key = result.manifest.relative_to(ws_case.root).as_posix()
    assert ws_case.entries()[-1].body["outputs"] == {key: result.manifest_sha256}
    with result.manifest.open("a") as fh:
        fh.write("forged,row\n")
    assert any(key in f.message for f in verify_case(ws_case).findings)


def test_without_a_case_deleted_fat_file_equals_icat(tmp_path: Path) -> None:
    raw = tmp_path / "usb.raw"
    raw.write_bytes(gzip.decompress(USB.read_bytes()))
    with open_evidence(str(USB)) as ev:
        files, manifest = extract_evidence(ev, tmp_path / "out", ["/Projects/Merger_Plan_Draft.docx"], [])
    assert files[0].record.deleted and files[0].check == "computed"
    got = (tmp_path / "out" / files[0].written).read_bytes()
    assert got == icat(raw, str(files[0].record.inode))
    assert files[0].hashes["sha256"] == hashlib.sha256(got).hexdigest()


@pytest.mark.corpus
def test_corpus_ext2_allocated_and_orphan_equal_icat(corpus: Path, tmp_path: Path) -> None:
    image = corpus / "py4n6" / "pytsk" / "test_data" / "image.raw"
    with open_evidence(str(image)) as ev:
        files, _ = extract_evidence(ev, tmp_path / "out", ["/passwords.txt", "/a_directory/another_file"],
                                    ["/$OrphanFiles/*"])
    assert {f.record.path for f in files} >= {"/passwords.txt", "/$OrphanFiles/OrphanFile-13"}
    for f in files:
        assert (tmp_path / "out" / f.written).read_bytes() == icat(image, str(f.record.inode)), f.record.path


def test_hostile_names_stay_inside(tmp_path: Path) -> None:
    for name in ("..", ".", "a/b", "c:d", "50%", "nul\x00x", "tab\tx", "x" * 300):
        safe = escape_component(name)
        assert "/" not in safe and safe not in (".", "..", "") and "\x00" not in safe
        assert len(safe.encode()) <= 255
    assert escape_component("a:b") != escape_component("a%3Ab")  # injective: '%' is escaped too
    # a symlink planted in the output directory is refused, not followed
    need_tool("mke2fs")
    src = tmp_path / "tree"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "a.txt").write_text("inside\n")
    image = tmp_path / "fs.raw"
    with open(image, "wb") as fh:
        fh.truncate(8 << 20)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", str(src), str(image)], check=True)
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "docs").symlink_to(outside)
    with open_evidence(str(image)) as ev, pytest.raises(EvidenceKitError, match="safely"):
        extract_evidence(ev, out, ["/docs/a.txt"], [])
    assert list(outside.iterdir()) == []


def test_cli_missing_path_is_one_line_exit_2(ws_case: Case, tmp_path: Path) -> None:
    proc = run_cli("extract", str(ws_case.root), "--exhibit", "E1", "--path", "/no/such", "--out", str(tmp_path / "o"),
                   env={"EVIDENCEKIT_EXAMINER": "alice"})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "/no/such" in proc.stderr
    proc = run_cli("extract", str(WORKSTATION), "--path", DROPPER, "--out", str(tmp_path / "o2"))
    assert proc.returncode == 0 and "0f774eec40a7b00a71239252c52675dc690dd8e390f0283da88ba9f691f75e25" in proc.stdout


def _ext4(tmp_path: Path, files: dict[str, bytes]) -> Path:
    need_tool("mke2fs")
    src = tmp_path / "tree"
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    image = tmp_path / "fs.raw"
    with open(image, "wb") as fh:
        fh.truncate(8 << 20)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-d", str(src), str(image)], check=True)
    return image


def test_an_unreadable_file_is_a_warning_row_and_the_rest_goes_on(tmp_path: Path) -> None:
    image = _ext4(tmp_path, {"a.txt": b"small\n", "big.bin": os.urandom(3_000_000)})
    with open(image, "r+b") as fh:
        fh.truncate(3_500_000)  # the end of big.bin is no longer in the image
    with open_evidence(str(image)) as ev:
        files, manifest = extract_evidence(ev, tmp_path / "out", [], ["/*"])
    by_path = {f.record.path: f for f in files}
    assert by_path["/a.txt"].check == "computed" and (tmp_path / "out" / "a.txt").read_bytes() == b"small\n"
    assert by_path["/big.bin"].check == "unreadable" and "cannot read" in (by_path["/big.bin"].error or "")
    assert not (tmp_path / "out" / "big.bin").exists()
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []  # no temporary left
    row = next(r for r in csv.DictReader(manifest.open(encoding="utf-8")) if r["path"] == "/big.bin")
    assert row["check"] == "unreadable" and row["sha256"] == "" and row["error"]


def test_a_failed_run_leaves_none_of_its_files(tmp_path: Path) -> None:
    image = _ext4(tmp_path, {"a/x.txt": b"first\n", "b/y.txt": b"second\n"})
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "b").symlink_to(outside)  # planted: the second file's directory leads outside
    with open_evidence(str(image)) as ev, pytest.raises(EvidenceKitError, match="safely"):
        extract_evidence(ev, out, ["/a/x.txt", "/b/y.txt"], [])
    assert (out / "a").is_dir()  # a/x.txt was written first, then removed when b/y.txt was refused
    assert [p for p in out.rglob("*") if p.is_file() and not p.is_symlink()] == []
    assert list(outside.iterdir()) == []
