"""Whole-media verification: corpus answers, real E01s made by ewfacquire, sidecars, CLI exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from ektools import need_tool
from evidencekit import open_evidence
from evidencekit.cli import main
from evidencekit.errors import ValidationError
from evidencekit.verify import media_digests, parse_expect, tree_digests, verify_evidence

ALGS = ("md5", "sha1", "sha256")


def _digests(data: bytes) -> dict[str, str]:
    return {a: hashlib.new(a, data).hexdigest() for a in ALGS}


def _state(paths: list[Path]) -> list[tuple[str, int, int]]:
    return [(hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns, p.stat().st_size) for p in paths]


@pytest.fixture
def raw_image(tmp_path: Path) -> tuple[Path, bytes]:
    """An unpartitioned raw image of deterministic random bytes (no file system: media only)."""
    data = random.Random(11).randbytes(3 * 1024 * 1024 + 512)
    path = tmp_path / "case" / "disk.raw"
    path.parent.mkdir()
    path.write_bytes(data)
    return path, data


@pytest.fixture
def e01_image(tmp_path: Path) -> tuple[Path, bytes]:
    """An E01 made by ewfacquire (stores MD5 and SHA1), with its log next to it as img.log."""
    ewfacquire = need_tool("ewfacquire")
    data = random.Random(12).randbytes(1024 * 1024)
    src = tmp_path / "source.dd"
    src.write_bytes(data)
    out = tmp_path / "acq"
    out.mkdir()
    subprocess.run([ewfacquire, "-u", "-q", "-t", str(out / "img"), "-l", str(out / "img.log"), "-d", "sha1,sha256",
                    "-c", "none", "-C", "2024-117", "-e", "J. Doe", str(src)], check=True, capture_output=True)
    return out / "img.E01", data


# --- the corpus --------------------------------------------------------------------------------


def _corpus_images(limit: int = 100_000_000) -> list[str]:
    from ektools import CORPUS

    try:
        images = json.loads((CORPUS / "answers.json").read_text())["images"]
    except OSError:
        return ["absent"]
    return [img["id"] for img in images if img["decoded_media"]["size"] <= limit and not img.get("password")]


@pytest.mark.parametrize("image_id", _corpus_images())
def test_decoded_media_hashes_match_corpus(corpus: Path, answers: dict, image_id: str) -> None:
    img = next(i for i in answers["images"] if i["id"] == image_id)
    want = img["decoded_media"]
    with open_evidence(str(corpus / img["files"][0]["path"])) as ev:
        result = verify_evidence(ev, sidecars=False)
    assert result.size == want["size"]
    assert (result.digests["md5"], result.digests["sha256"]) == (want["md5"], want["sha256"])
    stored = {k.lower(): v.lower() for k, v in img.get("ewf", {}).get("stored_hashes", {}).items()}
    assert {c.reference.algorithm: c.reference.value for c in result.checks} == stored
    assert result.status == ("match" if stored else "unverified")


def test_corpus_e01_cli_and_unchanged(corpus: Path, answers: dict) -> None:
    img = next(i for i in answers["images"] if i["files"][0]["path"].endswith("imageformat_mmls_1.E01"))
    path = corpus / img["files"][0]["path"]
    before = _state([path])
    res = CliRunner().invoke(main, ["verify", str(path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["status"] == "match" and out["digests"]["sha256"] == img["decoded_media"]["sha256"]
    assert sorted(c["reference"]["algorithm"] for c in out["checks"]) == ["md5", "sha1"]
    assert all(c["reference"]["source"] == "container" for c in out["checks"])
    assert _state([path]) == before


# --- E01 made here -----------------------------------------------------------------------------


def test_e01_stored_hashes_log_and_file_byte_sidecar(e01_image: tuple[Path, bytes]) -> None:
    path, data = e01_image
    want = _digests(data)
    file_md5 = hashlib.md5(path.read_bytes()).hexdigest()
    (path.parent / "img.E01.md5").write_text(f"{file_md5}  img.E01\n")  # md5sum of the container file
    before = _state([path])
    with open_evidence(str(path)) as ev:
        result = verify_evidence(ev)
    assert result.digests == want and result.status == "match"
    by_origin = {(c.reference.origin, c.reference.algorithm) for c in result.checks}
    assert {("container", "md5"), ("container", "sha1")} <= by_origin
    log = [c for c in result.checks if c.reference.source.startswith(str(path.parent / "img.log"))]
    assert {c.reference.algorithm for c in log} == set(ALGS)
    file_check = next(c for c in result.checks if c.reference.subject)
    assert file_check.reference.subject == str(path) and file_check.computed == file_md5 != want["md5"]
    assert result.file_digests[str(path)]["md5"] == file_md5
    assert _state([path]) == before


def test_truncated_e01_is_a_clean_error(e01_image: tuple[Path, bytes], tmp_path: Path) -> None:
    path, _ = e01_image
    cut = tmp_path / "cut.E01"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    res = CliRunner().invoke(main, ["verify", str(cut)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output and str(cut) in res.output


# --- sidecars next to a raw image --------------------------------------------------------------

FTK = """Created By AccessData\u00ae FTK\u00ae Imager 4.7.1.2\r\n\r\nCase Information: \r\nCase Number: 2024-117\r
[Computed Hashes]\r\n MD5 checksum:    {md5_upper}\r\n SHA1 checksum:   {sha1}\r\n\r\nImage Information:\r
 Segment list:\r\n  E:\\2024-117\\disk.raw\r\n\r\nImage Verification Results:\r
 MD5 checksum:    {md5} : verified\r\n SHA1 checksum:   {sha1} : verified\r\n"""

GUYMAGER = """GUYMAGER ACQUISITION INFO FILE\n==============================\n\nHash calculation        : MD5 and SHA-256
State: Finished successfully\n\nMD5 hash                   : {md5}\nMD5 hash verified source   : --
MD5 hash verified image    : {md5}\nSHA1 hash                  : --\nSHA256 hash                : {sha256}
SHA256 hash verified image : {sha256}\n"""


def _write_sidecars(path: Path, h: dict[str, str]) -> None:
    d = path.parent
    (d / "disk.raw.md5").write_text(f"{h['md5']}  disk.raw\n")
    (d / "disk.sha256").write_text(f"{h['sha256'].upper()}\n")
    (d / "disk.raw.sha1").write_text(f"SHA1 (disk.raw) = {h['sha1']}\n")
    (d / "disk.raw.txt").write_bytes(FTK.format(md5_upper=h["md5"].upper(), **h).encode("cp1252"))
    (d / "disk.info").write_text(GUYMAGER.format(**h))
    (d / "SHA256SUMS").write_text(f"{'0' * 64}  other.raw\n{h['sha256']}  ./disk.raw\n")
    (d / "unrelated.md5").write_text(f"{'1' * 32}  disk.raw\n")  # not named after the image: not read


def test_sidecars_all_found_with_sources(raw_image: tuple[Path, bytes]) -> None:
    path, data = raw_image
    h = _digests(data)
    _write_sidecars(path, h)
    with open_evidence(str(path)) as ev:
        result = verify_evidence(ev, expect=[f"sha256:{h['sha256']}"])
    sources = {c.reference.source for c in result.checks}
    d = path.parent
    assert sources == {
        "--expect", f"{d / 'disk.raw.md5'}:1", f"{d / 'disk.sha256'}:1", f"{d / 'disk.raw.sha1'}:1",
        f"{d / 'disk.raw.txt'}:6", f"{d / 'disk.raw.txt'}:7", f"{d / 'disk.info'}:7", f"{d / 'disk.info'}:11",
        f"{d / 'SHA256SUMS'}:2",
    }
    assert result.status == "match" and all(c.status == "match" for c in result.checks)
    assert f"{d / 'SHA256SUMS'}: 1 line(s) name files that are not part of this evidence: ignored" in result.notes
    ftk = next(c for c in result.checks if c.reference.source.endswith("disk.raw.txt:6"))
    assert ftk.reference.description.startswith("FTK Imager report")


def test_sidecar_mismatch_exits_1_and_names_source(raw_image: tuple[Path, bytes]) -> None:
    path, data = raw_image
    h = _digests(data)
    wrong = h["md5"][:-1] + ("0" if h["md5"][-1] != "0" else "1")
    (path.parent / "disk.md5").write_text(f"{wrong}  disk.raw\n")
    before = _state([path])
    res = CliRunner().invoke(main, ["verify", str(path), "--expect", f"md5:{h['md5']}"])
    assert res.exit_code == 1, res.output
    assert "MISMATCH" in res.output and f"{path.parent / 'disk.md5'}:1" in res.output and wrong in res.output
    assert _state([path]) == before


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--expect", "MD5:{md5}", "--expect", "sha1:{sha1}"], 0, "MATCH (2 of 2"),
        (["--expect", "sha256:" + "ab" * 32], 1, "MISMATCH (1 of 1"),
        ([], 2, "UNVERIFIED"),
        (["--expect", "sha256:{md5}"], 2, "--expect"),
    ],
)
def test_cli_exit_codes(raw_image: tuple[Path, bytes], args: list[str], code: int, text: str) -> None:
    path, data = raw_image
    h = _digests(data)
    res = CliRunner().invoke(main, ["verify", str(path), *[a.format(**h) for a in args]])
    assert res.exit_code == code, res.output
    assert text in res.output
    if code != 2 or not args:
        assert h["sha256"] in res.output  # the computed hashes are always printed


def test_parse_expect() -> None:
    assert parse_expect(["SHA-256:" + "A" * 64])[0].algorithm == "sha256"
    assert parse_expect(["d41d8cd98f00b204e9800998ecf8427e"])[0].algorithm == "md5"
    for bad in ["md5:xyz", "sha1:" + "a" * 32, "crc32:1234abcd", ""]:
        with pytest.raises(ValidationError):
            parse_expect([bad])


# --- directory and archive extractions ---------------------------------------------------------


def test_directory_tree_digest_equals_coreutils_pipeline(tmp_path: Path) -> None:
    root = tmp_path / "extraction"
    (root / "sub dir").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha\n")
    (root / "sub dir" / "b\u00e9.bin").write_bytes(random.Random(1).randbytes(70_000))
    (root / "Z").write_bytes(b"")
    (root / "empty").mkdir()
    os.symlink("a.txt", root / "link")
    shell = "find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum"
    manifest = subprocess.run(["sh", "-c", shell], cwd=root, check=True, capture_output=True).stdout
    tree = tree_digests(str(root))
    assert tree.manifest.encode() == manifest
    assert tree.digests["sha256"] == hashlib.sha256(manifest).hexdigest()
    assert (tree.files, tree.skipped) == (3, 1)
    with open_evidence(str(root)) as ev:
        assert ev.kind == "directory"
        result = verify_evidence(ev, expect=[f"sha256:{hashlib.sha256(manifest).hexdigest()}"])
    assert result.status == "match" and result.subject == "directory tree manifest"


def test_zip_hashes_the_archive_file(tmp_path: Path) -> None:
    path = tmp_path / "phone.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sdcard/DCIM/1.jpg", random.Random(2).randbytes(5000))
    data = path.read_bytes()
    (tmp_path / "phone.zip.sha256").write_text(f"{hashlib.sha256(data).hexdigest()}  phone.zip\n")
    with open_evidence(str(path)) as ev:
        assert media_digests(ev) == _digests(data)
        result = verify_evidence(ev)
    assert result.status == "match" and result.subject == "archive file" and len(result.checks) == 1


def test_split_raw_segments_listed_in_md5sum_file(corpus: Path, answers: dict, tmp_path: Path) -> None:
    img = next(i for i in answers["images"] if i["files"][0]["path"].endswith("ext2.splitraw.000"))
    names = [Path(f["path"]).name for f in img["files"]]
    for f, name in zip(img["files"], names, strict=True):
        shutil.copy(corpus / f["path"], tmp_path / name)
    lines = [f"{f['md5']}  {name}\n" for f, name in zip(img["files"], names, strict=True)]  # per-segment answers
    (tmp_path / "ext2.splitraw.md5").write_text("".join(lines))
    with open_evidence(str(tmp_path / "ext2.splitraw.000")) as ev:
        result = verify_evidence(ev)
    assert result.status == "match" and len(result.checks) == 2
    assert {c.reference.subject for c in result.checks} == {str(tmp_path / name) for name in names}
    assert result.digests["md5"] == img["decoded_media"]["md5"]


def test_utf16_ftk_report_and_unrecognised_sidecar(raw_image: tuple[Path, bytes]) -> None:
    path, data = raw_image
    h = _digests(data)
    (path.parent / "disk.raw.txt").write_bytes(FTK.format(md5_upper=h["md5"].upper(), **h).encode("utf-16"))
    (path.parent / "disk.log").write_text("acquired by hand, no hash recorded\n")
    with open_evidence(str(path)) as ev:
        result = verify_evidence(ev)
    assert result.status == "match" and {c.reference.algorithm for c in result.checks} == {"md5", "sha1"}
    assert any("disk.log: no hash value recognised" in n for n in result.notes)


def test_e01_digests_agree_with_ewfverify(e01_image: tuple[Path, bytes]) -> None:
    """libewf's own ewfverify is an independent oracle for the decoded-media hashes."""
    import re

    path, _ = e01_image
    out = subprocess.run([need_tool("ewfverify"), "-q", "-d", "sha1,sha256", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    computed = {a.lower(): v for a, v in re.findall(r"(MD5|SHA1|SHA256) hash calculated over data:\s*([0-9a-f]+)", out.stdout)}
    assert len(computed) == 3, out.stdout
    with open_evidence(str(path)) as ev:
        assert media_digests(ev) == computed


def test_list_file_in_a_folder_above(tmp_path: Path) -> None:
    """A SHA256SUMS at the top of a delivery names the image by its relative path; same names elsewhere do not count."""
    data = random.Random(13).randbytes(200_000)
    (tmp_path / "usb").mkdir()
    (tmp_path / "other").mkdir()
    image = tmp_path / "usb" / "usb.img"
    image.write_bytes(data)
    (tmp_path / "other" / "usb.img").write_bytes(b"different")
    digest = hashlib.sha256(data).hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{'2' * 64}  other/usb.img\n{digest}  usb/usb.img\n{'3' * 64}  README.md\n")
    with open_evidence(str(image)) as ev:
        result = verify_evidence(ev)
    assert [(c.reference.source, c.status) for c in result.checks] == [(f"{tmp_path / 'SHA256SUMS'}:2", "match")]
    assert result.checks[0].reference.subject == str(image)
