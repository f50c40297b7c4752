"""LUKS2 (argon2id, argon2i, pbkdf2; 512- and 4096-byte sectors) and LUKS volumes with no file system.

The encrypted images are cryptsetup's own work: an ext2 made by ``mke2fs -d`` is encrypted in
place by ``cryptsetup reencrypt --encrypt`` (offline, no device-mapper needed: this machine has
none, so ``cryptsetup open`` cannot be used). The answers come from The Sleuth Kit reading a
copy of the plain ext2 taken before encryption (``fls -r -p``, ``icat``), and from the tree the
file system was built from; so neither the decryption nor the listing is checked against itself.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ektools import need_tool
from evidencekit import open_evidence
from evidencekit.errors import CredentialError, EvidenceError
from evidencekit.inventory import files
from evidencekit.sources import Credentials

PASSWORD = "Пароль correct horse"
FILES = {"/ledger.txt": b"accounts payable\n" * 300, "/notes/plan.md": b"# the plan\n" * 50,
         "/notes/big.bin": bytes(range(256)) * 2048}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidencekit", *args], capture_output=True, text=True)


def _encrypt(work: Path, name: str, kdf: str, sector: int) -> tuple[Path, Path]:
    """(LUKS2 image, copy of the plain ext2 before encryption)."""
    tree = work / "tree"
    if not tree.exists():
        for path, data in FILES.items():
            (tree / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (tree / path.lstrip("/")).write_bytes(data)
    image = work / f"{name}.img"
    with open(image, "wb") as fh:
        fh.truncate(24 << 20)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-L", "SECRET", "-d", str(tree), str(image), "8M"],
                   check=True)
    plain = work / f"{name}.plain"
    shutil.copyfile(image, plain)
    kdf_args = ["--pbkdf", kdf] + (["--pbkdf-force-iterations", "1000"] if kdf == "pbkdf2" else
                                   ["--pbkdf-memory", "32768", "--pbkdf-force-iterations", "4"])
    subprocess.run(["cryptsetup", "reencrypt", "--encrypt", "--type", "luks2", *kdf_args, "--sector-size", str(sector),
                    "--reduce-device-size", "8M", "--batch-mode", "--key-file", "-", str(image)],
                   input=PASSWORD.encode(), check=True, capture_output=True)
    return image, plain


@pytest.fixture(scope="module")
def luks2(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    need_tool("cryptsetup")
    need_tool("mke2fs")
    work = tmp_path_factory.mktemp("luks2")
    return {name: _encrypt(work, name, kdf, sector) for name, kdf, sector in
            [("argon2id", "argon2id", 512), ("argon2i", "argon2i", 512), ("pbkdf2", "pbkdf2", 512),
             ("argon2id-4k", "argon2id", 4096)]}


def _tsk_listing(plain: Path) -> dict[str, tuple[int, str | None]]:
    """path -> (inode, sha256 of icat's content for regular files) by The Sleuth Kit on the plain copy."""
    out = {}
    for line in subprocess.run([need_tool("fls"), "-r", "-p", str(plain)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        kind, rest = line.split(" ", 1)
        inode, name = rest.split(":\t", 1)
        inode = inode.strip("* ").split("-")[0]
        digest = None
        if kind.startswith("r/r"):
            data = subprocess.run([need_tool("icat"), str(plain), inode], capture_output=True, check=True).stdout
            digest = hashlib.sha256(data).hexdigest()
        out["/" + name] = (int(inode), digest)
    return out


@pytest.mark.parametrize("name", ["argon2id", "argon2i", "pbkdf2", "argon2id-4k"])
def test_luks2_listing_equals_tsk_on_the_plain_copy(luks2, name):
    image, plain = luks2[name]
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    with open_evidence(image, Credentials(password=PASSWORD)) as ev:
        assert ev.format_chain == ["raw", "luks", "ext2"]
        details = ev.volumes[0].encryption_details
        records = {r.path: r for r in files(ev, hashes=("sha256",))}
    assert details["luks_version"] == 2 and details["cipher"] == "aes-xts-plain64"
    assert details["key_derivation"][0].startswith(name.split("-")[0]) and details["sector_size"] == (4096 if "4k" in name else 512)
    assert details["payload_offset"] == 4 << 20 and details["decrypted_size"] == 20 << 20
    tsk = _tsk_listing(plain)
    assert {p: (r.inode, r.sha256) for p, r in records.items()} == tsk
    for path, data in FILES.items():
        assert records[path].sha256 == hashlib.sha256(data).hexdigest() and records[path].size == len(data)
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before  # opened read-only


def test_luks2_cli_wrong_and_missing_password(luks2):
    image, _ = luks2["argon2id"]
    bad = _cli("files", str(image), "--password", "wrong")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0 and "wrong password" in bad.stderr and str(image) in bad.stderr
    info = _cli("info", str(image), "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["volumes"][0]["locked"] is True
    missing = _cli("files", str(image))
    assert missing.returncode == 2 and "give --password" in missing.stderr
    ok = _cli("files", str(image), "--password", PASSWORD, "--hash", "none")
    assert ok.returncode == 0 and "/notes/plan.md" in ok.stdout


def test_luks2_locator_reopens_the_entry(luks2):
    from evidencekit.models import Locator

    image, _ = luks2["argon2i"]
    with open_evidence(image, Credentials(password=PASSWORD)) as ev:
        record = next(r for r in files(ev, hashes=()) if r.path == "/ledger.txt")
        text = json.dumps(record.locator.to_json())
    loc = Locator.from_json(json.loads(text))
    with open_evidence(image, Credentials(password=PASSWORD)) as ev, ev.open_locator(loc) as fh:
        assert fh.read() == FILES["/ledger.txt"]
    with pytest.raises(CredentialError):
        open_evidence(image, Credentials(password="nope"))


# -- LUKS whose payload holds no file system -----------------------------------------------------
@pytest.fixture(scope="module", params=["luks1", "luks2"])
def luks_raw(request, tmp_path_factory) -> Path:
    need_tool("cryptsetup")
    image = tmp_path_factory.mktemp("luksraw") / f"{request.param}.img"
    with open(image, "wb") as fh:
        fh.truncate(24 << 20)  # the payload stays zeros on disk: decrypted, it is noise, no file system
    kdf = ["--pbkdf-force-iterations", "1000"] if request.param == "luks1" else \
        ["--pbkdf", "argon2id", "--pbkdf-memory", "32768", "--pbkdf-force-iterations", "4"]
    subprocess.run(["cryptsetup", "luksFormat", "--type", request.param, "--batch-mode", *kdf, "--key-file", "-",
                    str(image)], input=PASSWORD.encode(), check=True, capture_output=True)
    return image


def test_luks_without_filesystem_is_described(luks_raw):
    dump = subprocess.run(["cryptsetup", "luksDump", str(luks_raw)], capture_output=True, text=True, check=True).stdout
    info = _cli("info", str(luks_raw), "--password", PASSWORD, "--json")
    assert info.returncode == 0, info.stderr
    assert "unlocked but holds no known file system" in info.stderr
    volume = json.loads(info.stdout)["volumes"][0]
    details = volume["encryption_details"]
    assert volume["encryption"] == "luks" and volume["locked"] is False and volume["filesystem"] is None
    # luksDump (cryptsetup) is the independent answer for the header fields.
    if "Version:       \t1" in dump:
        offset = int(dump.split("Payload offset:\t")[1].split()[0]) * 512
        assert details["cipher"] == "aes-xts-plain64" and "pbkdf2-sha256 (1000 iterations)" in details["key_derivation"]
    else:
        offset = int(dump.split("offset: ")[1].split()[0])
        assert details["key_derivation"][0].startswith("argon2id (time 4, memory 32768 KiB")
    assert details["payload_offset"] == offset and details["decrypted_size"] == (24 << 20) - offset
    text = _cli("info", str(luks_raw), "--password", PASSWORD)
    assert "payload offset" in text.stdout and "key derivation" in text.stdout


def test_luks_without_filesystem_files_and_verify(luks_raw):
    files = _cli("files", str(luks_raw), "--password", PASSWORD)
    assert files.returncode == 2 and "Traceback" not in files.stderr
    assert files.stderr.count("\n") == 1 and "holds no known file system" in files.stderr
    digest = hashlib.sha256(luks_raw.read_bytes()).hexdigest()
    verify = _cli("verify", str(luks_raw), "--password", PASSWORD, "--expect", f"sha256:{digest}")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    with pytest.raises(EvidenceError, match="holds no known file system"), \
            open_evidence(luks_raw, Credentials(password=PASSWORD)) as ev:
        list(ev.entries())


@pytest.mark.parametrize("sector", [512, 4096])
def test_sector_cipher_equals_cryptography_xts(sector):
    """The batched AES-XTS of luks.SectorCipher against ``cryptography``'s XTS, one sector at a time."""
    import os

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from evidencekit.sources.luks import SectorCipher

    key, data, first = os.urandom(64), os.urandom(64 << 10), 123_456_789
    ours = SectorCipher("aes-xts-plain64", key, sector).decrypt(first, data)
    theirs = b"".join(
        Cipher(algorithms.AES(key), modes.XTS(((first + i) * (sector // 512)).to_bytes(16, "little"))).decryptor()
        .update(data[i * sector:(i + 1) * sector]) for i in range(len(data) // sector))
    assert ours == theirs
