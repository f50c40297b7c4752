"""An encrypted volume whose decrypted sectors end early (a truncated image).

The issue was seen on BitLocker: pybde raising inside pytsk3's ``Volume_Info`` while dfvfs
scanned the unlocked volume, which ended ``info`` and ``files`` with a traceback. No BitLocker
image can be made here (no Windows or bdesetup; the dfvfs test image bdetogo.raw is not in the
stored copy of its repository), so the same failure is produced through libluksde, which
raises on a read past the end exactly as pybde does: a LUKS1 volume (header by cryptsetup, ext2
payload encrypted with the master key as dm-crypt would) cut short. LUKS2 through our own
reader (short reads instead of errors) is checked the same way. The fix is not LUKS-specific:
any encrypted layer's post-unlock scan failure is a warning, and TSK reads what is there.

Independent answers: The Sleuth Kit's ``fls -r -p`` on the plain ext2 before encryption (every
name must be listed) and the source files' sha256 (every hash given must be right).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from ektools import need_tool
from images import luks1_image

PASSWORD = "secret"
KEY = bytes(range(32))
PAYLOAD_SECTORS = 4096


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> dict:
    need_tool("cryptsetup")
    need_tool("mke2fs")
    work = tmp_path_factory.mktemp("damaged")
    tree = work / "tree"
    tree.mkdir()
    sources = {}
    for i in range(30):
        data = hashlib.sha256(str(i).encode()).digest() * 3125  # 100,000 bytes each
        (tree / f"f{i:02d}.bin").write_bytes(data)
        sources[f"/f{i:02d}.bin"] = hashlib.sha256(data).hexdigest()
    plain = work / "plain.ext2"
    with open(plain, "wb") as fh:
        fh.truncate(4 << 20)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-d", str(tree), str(plain)], check=True)
    image = luks1_image(work, plain, PASSWORD, KEY, PAYLOAD_SECTORS)
    os.truncate(image, PAYLOAD_SECTORS * 512 + (1 << 20) + 1000)  # a quarter of the payload, cut mid-sector
    luks2 = work / "luks2.img"
    with open(luks2, "wb") as fh:
        fh.truncate(24 << 20)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-d", str(tree), str(luks2), "4M"], check=True)
    subprocess.run(["cryptsetup", "reencrypt", "--encrypt", "--type", "luks2", "--pbkdf", "pbkdf2",
                    "--pbkdf-force-iterations", "1000", "--reduce-device-size", "8M", "--batch-mode", "--key-file", "-",
                    str(luks2)], input=PASSWORD.encode(), check=True, capture_output=True)
    os.truncate(luks2, (4 << 20) + (1 << 20) + 1000)
    return {"luks1": image, "luks2": luks2, "plain": plain, "sources": sources}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidencekit", *args], capture_output=True, text=True)


@pytest.mark.parametrize("kind", ["luks1", "luks2"])
def test_truncated_encrypted_volume_is_described_and_listed(damaged, kind):
    image = damaged[kind]
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    info = _cli("info", str(image), "--password", PASSWORD, "--json")
    assert info.returncode == 0 and "Traceback" not in info.stderr, info.stderr
    data = json.loads(info.stdout)
    volume = data["volumes"][0]
    assert volume["encryption"] == "luks" and volume["filesystem"] == "ext2"
    assert volume["encryption_details"]["cipher"] == "aes-xts-plain64"
    assert any("truncated" in w for w in data["warnings"])
    files = _cli("files", str(image), "--password", PASSWORD, "--hash", "sha256")
    assert files.returncode == 0 and "Traceback" not in files.stderr, files.stderr
    records = {r["path"]: r for r in map(json.loads, files.stdout.splitlines())}
    fls = subprocess.run([need_tool("fls"), "-r", "-p", str(damaged["plain"])], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert set(records) == {"/" + line.split(":\t", 1)[1] for line in fls}  # every name, as TSK lists the intact copy
    readable = [p for p in damaged["sources"] if records[p]["sha256"]]
    assert readable and len(readable) < len(damaged["sources"])  # some content lies past the cut
    for path, digest in damaged["sources"].items():
        rec = records[path]
        assert rec["sha256"] == digest if rec["sha256"] else rec["warnings"], path
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before


def test_truncated_encrypted_volume_wrong_password(damaged):
    bad = _cli("files", str(damaged["luks1"]), "--password", "nope")
    assert bad.returncode == 2 and "wrong password" in bad.stderr and bad.stderr.count("\n") == 1
