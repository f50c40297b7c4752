"""Encrypted iTunes/Finder backups: keybag, double PBKDF2, key unwrap, per-file keys, Manifest.db."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from evidencekit import open_evidence
from evidencekit.errors import CredentialError
from evidencekit.inventory import files as list_files
from evidencekit.sources import Credentials
from evidencekit.training import ios, messenger_dbs
from mobile.ios_builder import write_encrypted_backup

EK = [sys.executable, "-m", "evidencekit"]
PASSWORD = "тест-1234"


def _files(tmp_path: Path) -> dict:
    chats = messenger_dbs.whatsapp_ios(tmp_path / "cs.sqlite", "77017654321@s.whatsapp.net", "Айгүл",
                                       [(645_384_609.25, False, "Сәлем!")]).read_bytes()
    return {("HomeDomain", "Library"): None, ("HomeDomain", "Library/SMS/sms.db"): b"SQLite format 3\x00" * 300,
            ("AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ChatStorage.sqlite"): chats,
            ("CameraRollDomain", "Media/DCIM/100APPLE/IMG_0001.JPG"): b"\xff\xd8" + b"\x07" * 40_001}


@pytest.mark.parametrize("double", [True, False])
def test_decrypts_to_real_names_with_content(tmp_path, double):
    files = _files(tmp_path)
    folder = write_encrypted_backup(tmp_path / "bk", PASSWORD, files, double=double)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}
    with open_evidence(folder, Credentials(password=PASSWORD)) as ev:
        assert ev.format_chain == ["directory", "ios_backup", "encrypted"]
        assert ev.device["os_version"] == "15.4.1" and ev.device["name"] == "Айгүл iPhone"
        got = {r.path: r.sha256 for r in list_files(ev, ("sha256",))}
        warnings = [w for r in list_files(ev, ("sha256",)) for w in r.warnings]
    want = {f"/{d}/{r}": (hashlib.sha256(data).hexdigest() if data is not None else None)
            for (d, r), data in files.items()}
    assert got == want and warnings == []
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()} == before


def test_wrong_or_missing_password(tmp_path):
    folder = write_encrypted_backup(tmp_path / "bk", PASSWORD, _files(tmp_path))
    with pytest.raises(CredentialError, match="wrong password"):
        open_evidence(folder, Credentials(password="1234"))
    for args in (["--password", "1234"], []):
        result = subprocess.run([*EK, "files", str(folder), *args], capture_output=True, text=True)
        assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "password" in result.stderr


def test_unencrypted_backup_still_a_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ios.build(tmp_path, out)
    folder = next((out / "ios-backup").iterdir())
    with open_evidence(folder) as ev:
        assert ev.format_chain == ["directory", "ios_backup"]
        assert any(r.path.endswith(ios.file_id("HomeDomain", "Library/SMS/sms.db")) for r in list_files(ev, ()))


def test_cross_check_with_iphone_backup_decrypt(tmp_path):
    """The independent PyPI reader decrypts the same payloads to the same bytes."""
    module = pytest.importorskip("iphone_backup_decrypt")
    files = _files(tmp_path)
    folder = write_encrypted_backup(tmp_path / "bk", PASSWORD, files)
    theirs = module.EncryptedBackup(backup_directory=str(folder), passphrase=PASSWORD)
    with open_evidence(folder, Credentials(password=PASSWORD)) as ev:
        ours = {r.path: r.sha256 for r in list_files(ev, ("sha256",)) if r.type == "file"}
    for (domain, rel), data in files.items():
        if data is not None:
            got = theirs.extract_file_as_bytes(rel, domain_like=domain)
            assert hashlib.sha256(got).hexdigest() == ours[f"/{domain}/{rel}"] == hashlib.sha256(data).hexdigest()
