"""The Sleuth Kit (fls/icat/istat) agrees with what evidencekit finds in the shipped images."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from finders import tsk, tsk_bytes

from ektools import need_tool
from evidencekit import open_evidence


def _fls_files(*args: str | Path) -> dict[str, tuple[str, bool]]:
    """{'/path': (inode, deleted)} of regular-file names from `fls -r -p`."""
    out = {}
    for line in tsk("fls", "-r", "-p", *args).splitlines():
        m = re.match(r"(\S)/(\S)\s+(\*\s+)?([\d-]+):\t(.*)$", line)
        if m and "r" in (m.group(1), m.group(2)) and not m.group(5).startswith("$"):
            out["/" + m.group(5)] = (m.group(4), bool(m.group(3)))
    return out


def _ek_files(path: Path) -> dict[str, bool]:
    """{'/path': deleted} of the file entries evidencekit lists (default data streams only)."""
    with open_evidence(str(path)) as ev:
        return {e.record.path: e.record.deleted for e in ev.entries()
                if e.record.type in ("file", "unknown") and e.record.stream is None
                and not e.record.path.startswith("/$") and "(Volume Label Entry)" not in e.record.path}


def _same_listing(fls: dict[str, tuple[str, bool]], evidence: Path) -> None:
    ours = _ek_files(evidence)
    theirs = {p: d for p, (_, d) in fls.items() if ":" not in p and "(Volume Label Entry)" not in p}
    assert ours == theirs


def test_usb_tsk_agrees(raw_usb: Path, found: dict[str, dict[str, Any]]) -> None:
    need_tool("fls")
    facts = found["usb-data-theft"]
    files = _fls_files(raw_usb)
    _same_listing(files, raw_usb)
    inode, deleted = files[facts["deleted_path"]]
    assert deleted
    assert hashlib.sha256(tsk_bytes("icat", raw_usb, inode)).hexdigest() == facts["deleted_sha256"]
    assert sum(1 for p, (_, d) in files.items() if p.startswith("/Projects/") and not d) == facts["projects_count"]
    hidden = [p for p, (ino, d) in files.items() if not d and "Hidden" in tsk("istat", raw_usb, ino)]
    assert len(hidden) == 1
    assert facts["hidden_company"] in tsk("icat", raw_usb, files[hidden[0]][0])
    stat = tsk("istat", raw_usb, files["/Projects/Q3_Pricing_Model.csv"][0])
    assert f"Written:\t{facts['pricing_modified'][:19].replace('T', ' ')}" in stat
    assert f"Created:\t{facts['pricing_created'][:19].replace('T', ' ')}" in stat
    assert f"Volume Label (Boot Sector): {facts['label']}" in tsk("fsstat", raw_usb)


def test_office_tsk_agrees(images: Path, found: dict[str, dict[str, Any]], keys: dict[str, dict[str, Any]]) -> None:
    need_tool("fls")
    facts = found["office-workstation"]
    e01 = images / "office-workstation" / "workstation.E01"
    listing = subprocess.run(["fls", "-i", "list"], capture_output=True, text=True)
    if "ewf" not in listing.stdout + listing.stderr:
        pytest.skip("this sleuthkit build has no EWF support")
    start = str(facts["partition_start"])
    assert f"{int(start):010d}" in tsk("mmls", "-i", "ewf", e01)
    files = _fls_files("-i", "ewf", "-o", start, e01)
    _same_listing(files, e01)
    inode, deleted = files[facts["deleted_path"]]
    assert deleted
    sha = hashlib.sha256(tsk_bytes("icat", "-i", "ewf", "-o", start, e01, inode.split("-")[0])).hexdigest()
    assert sha == keys["office-workstation"]["q7"] == facts["deleted_sha256"]
    zone = files[facts["download_path"] + ":Zone.Identifier"][0]
    assert facts["zone_host_url"] in tsk("icat", "-i", "ewf", "-o", start, e01, zone)
    stat = tsk("istat", "-i", "ewf", "-o", start, e01, files[facts["stomped_path"]][0].split("-")[0])
    si, fn = stat.split("$FILE_NAME Attribute Values:")[:2]
    assert facts["stomped_si_created"][:19].replace("T", " ") in si.split("Created:")[1].splitlines()[0]
    assert facts["stomped_fn_created"][:19].replace("T", " ") in fn.split("Created:")[1].splitlines()[0]


def test_linux_tsk_and_yara_agree(raw_server: Path, images: Path, found: dict[str, dict[str, Any]],
                                  tmp_path: Path) -> None:
    need_tool("fls")
    need_tool("yara")
    facts = found["linux-server"]
    files = _fls_files(raw_server)
    _same_listing(files, raw_server)
    inode, deleted = files[facts["deleted_path"]]
    assert deleted
    stat = tsk("istat", raw_server, inode)
    assert f"Deleted:\t{facts['deleted_at'][:19].replace('T', ' ')}" in stat
    assert "size: 0" in stat and tsk_bytes("icat", raw_server, inode) == b""  # wiped like the ext4 kernel
    assert b"avatar_5512.php?c=" in raw_server.read_bytes()  # ... yet the text is still carvable
    shell = tsk_bytes("icat", raw_server, files[facts["shell_path"]][0])
    assert hashlib.sha256(shell).hexdigest() == facts["shell_sha256"]
    rule = images / "linux-server" / "webshell.yar"
    (tmp_path / "exported.php").write_bytes(shell)
    assert "php_webshell_request_exec" in tsk("yara", rule, tmp_path / "exported.php")
    assert f"File Modified:\t{facts['shell_mtime'][:-1].replace('T', ' ')}" in tsk("istat", raw_server, files[facts["shell_path"]][0])


def test_file_systems_are_consistent(raw_usb: Path, raw_server: Path, tmp_path: Path,
                                     found: dict[str, dict[str, Any]], images: Path) -> None:
    """The raw patches (FAT times, ext4 inode wipe, NTFS timestomp) leave no file-system errors."""
    need_tool("fsck.fat")
    need_tool("e2fsck")
    need_tool("ntfsfix")
    work = tmp_path / "fs.img"
    work.write_bytes(raw_usb.read_bytes())
    subprocess.run(["fsck.fat", "-n", str(work)], check=True, capture_output=True)
    work.write_bytes(raw_server.read_bytes())
    subprocess.run(["e2fsck", "-fn", str(work)], check=True, capture_output=True)
    with open_evidence(str(images / "office-workstation" / "workstation.E01")) as ev:
        media, volume = ev.open_media(), ev.volumes[0]
        assert media is not None and volume.offset is not None and volume.length is not None
        media.seek(volume.offset)
        work.write_bytes(media.read(volume.length))
    assert "processed successfully" in tsk("ntfsfix", "-n", work)
