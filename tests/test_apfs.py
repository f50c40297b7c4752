"""APFS times against The Sleuth Kit: creation and modification were swapped by libfsapfs.

The image is dfvfs's own APFS test image (tests/data/README.md). TSK's ``istat -B <APSB block>``
is the independent reader: it gives the four inode times, and creation <= modification with
"Date Added" equal to creation, which libfsapfs's reading contradicted.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ektools import ROOT, need_tool
from evidencekit import open_evidence
from evidencekit.inventory import files

IMAGE_GZ = ROOT / "tests" / "data" / "dfvfs-apfs.raw.gz"
IMAGE_SHA256 = "e3e3adcbbf189403d892b013d6cba155f2e58e42ff5eb541ec681c37a91a3f29"
TSK_TIMES = {"Created": "crtime", "Content Modified": "mtime", "Attributes Modified": "ctime", "Accessed": "atime"}


@pytest.fixture(scope="module")
def apfs_raw(tmp_path_factory) -> Path:
    data = gzip.decompress(IMAGE_GZ.read_bytes())
    assert hashlib.sha256(data).hexdigest() == IMAGE_SHA256
    raw = tmp_path_factory.mktemp("apfs") / "apfs.raw"
    raw.write_bytes(data)
    return raw


def _apsb_block(raw: Path) -> int:
    out = subprocess.run([need_tool("pstat"), str(raw)], capture_output=True, text=True, check=True).stdout
    return int(out.split("APSB Block Number: ")[1].split()[0])


def _ns(text: str) -> int:
    whole, frac = text.split(".")
    seconds = int(datetime.strptime(whole, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())
    return seconds * 10**9 + int(frac.ljust(9, "0"))


def _istat(raw: Path, block: int, inode: int) -> dict[str, int]:
    out = subprocess.run([need_tool("istat"), "-B", str(block), str(raw), str(inode)], capture_output=True, text=True,
                         check=True).stdout
    times = {}
    for line in out.split("Times:")[1].splitlines():
        label, _, value = line.partition(":\t")
        if label.strip() in TSK_TIMES:
            times[TSK_TIMES[label.strip()]] = _ns(value.strip().split(" (")[0])
    return times


@pytest.mark.parametrize("source", ["raw", "gz"])
def test_apfs_times_sizes_and_hashes_equal_tsk(apfs_raw, source):
    block = _apsb_block(apfs_raw)
    fls = subprocess.run([need_tool("fls"), "-B", str(block), "-r", "-p", str(apfs_raw)], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    tsk = {"/" + line.split(":\t", 1)[1]: (line.split()[0], int(line.split(":\t")[0].split()[-1])) for line in fls}
    with open_evidence(apfs_raw if source == "raw" else IMAGE_GZ) as ev:
        assert "apfs" in ev.format_chain
        records = {r.path: r for r in files(ev, hashes=("sha256",))}
    assert set(records) == set(tsk)
    for path, (kind, inode) in tsk.items():
        rec = records[path]
        assert rec.inode == inode, path
        expected = _istat(apfs_raw, block, inode)
        got = {key: getattr(rec, key) for key in expected}
        assert got == expected, path
        assert rec.crtime <= rec.mtime, path
        if kind == "r/r" and rec.size:
            icat = subprocess.run([need_tool("icat"), "-B", str(block), str(apfs_raw), str(inode)], capture_output=True,
                                  check=True).stdout
            assert (rec.size, rec.sha256) == (len(icat), hashlib.sha256(icat).hexdigest()), path
