"""Encrypted volumes: a LUKS1 container made with cryptsetup, its payload encrypted here.

cryptsetup writes the header without root; the ext2 payload is encrypted with the same master
key (AES-XTS, plain64 IVs), exactly as dm-crypt would have written it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ektools import need_tool
from evidencekit import open_evidence
from evidencekit.errors import CredentialError
from evidencekit.inventory import files
from evidencekit.sources import Credentials
from images import luks1_image

PASSWORD = "correct horse"
MASTER_KEY = bytes(range(32))
PAYLOAD_SECTORS = 4096


@pytest.fixture(scope="module")
def luks(tmp_path_factory) -> Path:
    need_tool("cryptsetup")
    need_tool("mke2fs")
    work = tmp_path_factory.mktemp("luks")
    tree = work / "tree"
    tree.mkdir()
    (tree / "hidden-ledger.txt").write_text("accounts payable\n" * 20)
    plain = work / "plain.ext2"
    with open(plain, "wb") as fh:
        fh.truncate(2 << 20)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-L", "SECRET", "-d", str(tree), str(plain)], check=True)
    return luks1_image(work, plain, PASSWORD, MASTER_KEY, PAYLOAD_SECTORS)


def test_opens_with_the_password(luks):
    with open_evidence(luks, Credentials(password=PASSWORD)) as ev:
        assert "luks" in ev.format_chain
        assert ev.volumes[0].encryption == "luks"
        records = {r.path: r for r in files(ev, hashes=("sha256",))}
    assert "/hidden-ledger.txt" in records and records["/hidden-ledger.txt"].size == len("accounts payable\n") * 20


@pytest.mark.parametrize("credentials,message", [
    (Credentials(), "give --password or --recovery-key"),
    (Credentials(password="wrong"), "wrong password or recovery key"),
])
def test_missing_or_wrong_password_is_a_clear_error(luks, credentials, message):
    with pytest.raises(CredentialError, match=message):
        open_evidence(luks, credentials)


def test_cli_password_option(luks):
    import sys

    ok = subprocess.run([sys.executable, "-m", "evidencekit", "files", str(luks), "--password", PASSWORD,
                         "--hash", "none"], capture_output=True, text=True)
    assert ok.returncode == 0 and "/hidden-ledger.txt" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "evidencekit", "info", str(luks), "--password", "nope"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "wrong password" in bad.stderr and "Traceback" not in bad.stderr


def test_info_and_verify_work_without_the_key(luks):
    import hashlib
    import json
    import sys

    info = subprocess.run([sys.executable, "-m", "evidencekit", "info", str(luks), "--json"], capture_output=True,
                          text=True)
    assert info.returncode == 0, info.stderr
    volume = json.loads(info.stdout)["volumes"][0]
    assert volume["encryption"] == "luks" and volume["locked"] is True
    digest = hashlib.sha256(luks.read_bytes()).hexdigest()
    verify = subprocess.run([sys.executable, "-m", "evidencekit", "verify", str(luks), "--expect", f"sha256:{digest}"],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    files = subprocess.run([sys.executable, "-m", "evidencekit", "files", str(luks)], capture_output=True, text=True)
    assert files.returncode == 2 and "give --password or --recovery-key" in files.stderr
