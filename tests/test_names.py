"""Names as evidence: archive and folder names that are not UTF-8, hostile member names, zip links.

Real archives and folders are built here (tarfile, zipfile, os.mkdir with bytes names); the raw
names are cross-checked against GNU tar and Info-ZIP's unzip, which read the archives on their own.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from case.util import run_cli
from ektools import need_tool
from evidencekit import open_evidence
from evidencekit.inventory import files

BAD = b"bad\xff\xfename.txt"
BAD_SHOWN = "bad\\xff\\xfename.txt"
CONTENT = b"hello evil content\n"
CYRILLIC = "Отчёт о проверке.txt"


def _tree(root: Path) -> Path:
    """A folder holding a bad name, a good one, a subfolder with a bad name, and a link to the bad file."""
    base = os.fsencode(root)
    os.mkdir(base)
    os.mkdir(base + b"/sub\xe9")
    with open(base + b"/" + BAD, "wb") as fh:
        fh.write(CONTENT)
    with open(base + b"/sub\xe9/inner.txt", "wb") as fh:
        fh.write(b"inner\n")
    with open(base + b"/good.txt", "wb") as fh:
        fh.write(b"good\n")
    with open(base + b"/" + CYRILLIC.encode("koi8-r"), "wb") as fh:
        fh.write(b"koi8\n")
    os.symlink(BAD, base + b"/link")
    return root


def _listing(*args: str) -> list[dict]:
    proc = run_cli("files", *args, check=True)
    assert "Traceback" not in proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _raw(rec: dict) -> bytes:
    """The stored name of a record: raw_name when present, else the UTF-8 path."""
    return bytes.fromhex(rec["raw_name"]) if "raw_name" in rec else rec["path"].lstrip("/").encode()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return _tree(tmp_path / "tree")


def _tar(folder: Path, archive: Path, mode: str) -> Path:
    with tarfile.open(archive, mode, format=tarfile.GNU_FORMAT) as tf:
        tf.add(folder, arcname="tree")
    return archive


@pytest.fixture(params=["w", "w:gz"], ids=["tar", "tar.gz"])
def tar_archive(request: pytest.FixtureRequest, folder: Path, tmp_path: Path) -> Path:
    return _tar(folder, tmp_path / ("names.tar" if request.param == "w" else "names.tar.gz"), request.param)


def test_folder_lists_every_name_with_raw_bytes(folder: Path) -> None:
    records = {r["path"]: r for r in _listing(str(folder), "--hash", "md5")}
    bad = records["/" + BAD_SHOWN]
    assert bytes.fromhex(bad["raw_name"]) == BAD
    assert bad["md5"] == hashlib.md5(CONTENT).hexdigest()
    assert any("not valid UTF-8" in w and BAD.hex() in w for w in bad["warnings"])
    assert bytes.fromhex(records["/sub\\xe9/inner.txt"]["raw_name"]) == b"sub\xe9/inner.txt"
    assert records["/link"]["link_target"] == BAD_SHOWN and "raw_name" not in records["/link"]
    assert "raw_name" not in records["/good.txt"] and records["/good.txt"]["warnings"] == []
    on_disk = {os.path.relpath(os.path.join(top, n), os.fsencode(folder))
               for top, dirs, files in os.walk(os.fsencode(folder)) for n in dirs + files}
    assert {_raw(r) for r in records.values()} == on_disk


def test_folder_names_in_a_code_page(folder: Path) -> None:
    records = {r["path"]: r for r in _listing(str(folder), "--hash", "none", "--name-encoding", "koi8-r")}
    rec = records["/" + CYRILLIC]
    assert bytes.fromhex(rec["raw_name"]) == CYRILLIC.encode("koi8-r")
    assert any("decoded as koi8-r" in w for w in rec["warnings"])


def test_tar_lists_every_name_as_gnu_tar_does(tar_archive: Path) -> None:
    need_tool("tar")
    records = _listing(str(tar_archive), "--hash", "md5")
    by_raw = {_raw(r): r for r in records}
    gnu = subprocess.run(["tar", "--quoting-style=literal", "-tf", str(tar_archive)], capture_output=True, check=True).stdout
    assert set(by_raw) == {name.rstrip(b"/") for name in gnu.splitlines()}
    bad = by_raw[b"tree/" + BAD]
    assert bad["path"] == "/tree/" + BAD_SHOWN and bad["md5"] == hashlib.md5(CONTENT).hexdigest()
    assert by_raw[b"tree/link"]["link_target"] == BAD_SHOWN
    assert any("link target is not valid UTF-8" in w for w in by_raw[b"tree/link"]["warnings"])


def _zip_with_bad_utf8_name(path: Path) -> None:
    """zipfile writes a non-ASCII name as UTF-8 with flag bit 11; the name's bytes are then
    replaced, in the local and the central header, by bytes that are not UTF-8."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("dir/good.txt", b"good")
        zf.writestr("dir/bad\u00e9\u00e9.txt", CONTENT)
        zf.writestr("dir/" + "X" * len(CYRILLIC.encode("cp866")), b"cp866")  # ASCII: no flag
        zf.writestr("dir/after.txt", b"after")
    data = buf.getvalue()
    assert data.count("bad\u00e9\u00e9".encode()) == 2
    data = data.replace("bad\u00e9\u00e9".encode(), b"bad\xff\xfe\xff\xfe")
    data = data.replace(b"X" * len(CYRILLIC.encode("cp866")), CYRILLIC.encode("cp866"))
    path.write_bytes(data)


def test_zip_with_a_bad_name_under_the_utf8_flag_lists_every_member(tmp_path: Path) -> None:
    need_tool("unzip")
    archive = tmp_path / "flagged.zip"
    _zip_with_bad_utf8_name(archive)
    with pytest.raises(UnicodeDecodeError):
        zipfile.ZipFile(archive)  # what the standard library alone does with it
    before = hashlib.sha256(archive.read_bytes()).hexdigest()
    records = _listing(str(archive), "--hash", "md5")
    by_raw = {_raw(r): r for r in records}
    unzip = subprocess.run(["unzip", "-Z1", str(archive)], capture_output=True, check=True).stdout
    assert set(by_raw) == set(unzip.splitlines()) - {b"dir/" + CYRILLIC.encode("cp866")} | {
        b"dir/" + CYRILLIC.encode("cp866").decode("cp437").encode()}  # unflagged: cp437, as the format says
    bad = by_raw[b"dir/bad\xff\xfe\xff\xfe.txt"]
    assert bad["path"] == "/dir/bad\\xff\\xfe\\xff\\xfe.txt" and bad["md5"] == hashlib.md5(CONTENT).hexdigest()
    assert by_raw[b"dir/after.txt"]["md5"] == hashlib.md5(b"after").hexdigest()
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == before
    in_cp866 = {r["path"]: r for r in _listing(str(archive), "--hash", "md5", "--name-encoding", "cp866")}
    assert bytes.fromhex(in_cp866["/dir/" + CYRILLIC]["raw_name"]) == b"dir/" + CYRILLIC.encode("cp866")
    assert in_cp866["/dir/" + CYRILLIC]["md5"] == hashlib.md5(b"cp866").hexdigest()


def test_hostile_member_name_is_shown_as_stored_and_zip_links_have_targets(tmp_path: Path) -> None:
    archive = tmp_path / "hostile.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/x", b"the real a/x")
        zf.writestr("a/../../x", b"climb")
        zf.writestr("C:\\Windows\\evil.dll", b"drive")
        link = zipfile.ZipInfo("docs/link")
        link.create_system, link.external_attr = 3, 0o120777 << 16  # S_IFLNK, as Info-ZIP stores links
        zf.writestr(link, b"../a/x")
    with open_evidence(archive) as ev:
        records = {r.path: r for r in files(ev, ("md5",))}
    assert set(records) == {"/a/x", "/a/../../x", "/C:/Windows/evil.dll", "/docs/link"}
    assert records["/a/x"].warnings == ()
    assert any("'..' climbs out" in w and "never resolved" in w for w in records["/a/../../x"].warnings)
    assert any("drive letter" in w for w in records["/C:/Windows/evil.dll"].warnings)
    link_rec = records["/docs/link"]
    assert (link_rec.type, link_rec.link_target, link_rec.md5) == ("symlink", "../a/x", None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.zip"]  # nothing extracted anywhere


def test_case_scan_and_timeline_keep_names_that_are_not_utf8(folder: Path, tmp_path: Path) -> None:
    """case process, scan yara and timeline build on an archive (names read as koi8-r) and a
    folder (names escaped) with bad names: they used to fail with UnicodeEncodeError."""
    tar_archive = _tar(folder, tmp_path / "names.tar.gz", "w:gz")
    run_cli("examiner", "init", "--name", "Alice", "--id", "alice", check=True)
    env = {"EVIDENCEKIT_EXAMINER": "alice"}
    case = tmp_path / "case"
    run_cli("case", "init", str(case), "--number", "1", "--title", "t", "--authority", "w", env=env, check=True)
    run_cli("case", "add", str(case), str(tar_archive), "--exhibit", "E1", "--name-encoding", "koi8-r",
            env=env, check=True)
    run_cli("case", "add", str(case), str(folder), "--exhibit", "E2", env=env, check=True)
    for step in (("case", "process", str(case)), ("timeline", "build", str(case), "--artifacts", "none")):
        proc = run_cli(*step, env=env)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    rules = tmp_path / "evil.yar"
    rules.write_text('rule evil { strings: $a = "evil" condition: $a and filename matches /bad/ }\n')
    proc = run_cli("scan", "yara", str(case), "--rules", str(rules), env=env)
    assert proc.returncode == 0 and proc.stdout.count("1 YARA matches in 1 files") == 2, proc.stderr
    stored = [json.loads(line) for line in run_cli("case", "files", str(case), "--format", "jsonl").stdout.splitlines()]
    bad = next(r for r in stored if r.get("raw_name") == (b"tree/" + BAD).hex())
    assert bad["path"] == "/tree/" + BAD.decode("koi8-r")  # every name in the exhibit's name encoding
    escaped = next(r for r in stored if r["exhibit"] == "E2" and r.get("raw_name") == BAD.hex())
    assert escaped["path"] == "/" + BAD_SHOWN
    koi = next(r for r in stored if r["path"] == "/tree/" + CYRILLIC)  # the exhibit's name encoding
    assert bytes.fromhex(koi["raw_name"]) == b"tree/" + CYRILLIC.encode("koi8-r")
    shown = run_cli("timeline", "show", str(case), "--grep", "bad").stdout
    assert BAD.decode("koi8-r") in shown and BAD_SHOWN in shown
    ledger = [json.loads(line) for line in run_cli("custody", "log", str(case), "--format", "jsonl").stdout.splitlines()]
    received = next(e for e in ledger if e["action"] == "received")
    assert received["details"]["name_encoding"] == "koi8-r"
    assert run_cli("custody", "verify", str(case)).returncode == 0
