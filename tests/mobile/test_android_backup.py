"""Android adb backups (.ab): every version and form, cross-checked against PyPI's android-backup."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile

import pytest

from evidencekit import open_evidence
from evidencekit.errors import CredentialError
from evidencekit.inventory import files as list_files
from evidencekit.sources import Credentials
from evidencekit.sources.android_backup import java_key_bytes
from evidencekit.training.adb import Member, write_backup

EK = [sys.executable, "-m", "evidencekit"]
PASSWORD = "Пароль-2021"  # Cyrillic: v2+ hands PBKDF2 its UTF-8
MEMBERS = [
    Member("apps/com.whatsapp/_manifest", b"1\ncom.whatsapp\n211\n30\n", mtime=1_623_600_000),
    Member("apps/com.whatsapp/db", None, mtime=1_623_600_001, mode=0o771),
    Member("apps/com.whatsapp/db/msgstore.db", bytes(range(256)) * 4000, mtime=1_623_691_809),
    Member("apps/com.whatsapp/sp/prefs.xml", "<map><string name='n'>Сәлем</string></map>".encode(), mode=0o660),
    Member("shared/0/DCIM/Camera/IMG_0001.jpg", b"\xff\xd8" + b"x" * 70_000 + b"\xff\xd9", mtime=1_623_000_000),
]


def _expected() -> dict[str, tuple[int, str | None, int, int]]:
    return {"/" + m.name: (len(m.data) if m.data is not None else 0,
                           hashlib.sha256(m.data).hexdigest() if m.data is not None else None,
                           m.mtime * 1_000_000_000, m.mode) for m in MEMBERS}


FORMS = [(v, c, p) for v in (1, 2, 3, 4, 5) for c in (False, True) for p in (None, PASSWORD)
         if v in (1, 5) or (c and p)]


@pytest.mark.parametrize(("version", "compressed", "password"), FORMS)
def test_every_form_lists_the_tar_with_times_modes_and_content(tmp_path, version, compressed, password):
    ab = write_backup(tmp_path / "b.ab", MEMBERS, version, compressed, password, rounds=2000)
    before = hashlib.sha256(ab.read_bytes()).hexdigest()
    with open_evidence(ab, Credentials(password=password)) as ev:
        got = {r.path: (r.size, r.sha256, r.mtime, r.mode & 0o7777) for r in list_files(ev, ("sha256",))}
        assert ev.kind == "android_backup" and ev.warnings == []
        assert ev.format_chain[:2] == ["android_backup", f"v{version}"]
        assert ("aes-256" in ev.format_chain) == bool(password) and ("zlib" in ev.format_chain) == compressed
        # an entry reopened after the walk has moved on reads the stream again
        with ev.open_locator(next(e.record.locator for e in ev.entries() if e.record.path.endswith("prefs.xml"))) as fh:
            assert "Сәлем".encode() in fh.read()
    assert got == _expected()
    assert hashlib.sha256(ab.read_bytes()).hexdigest() == before  # never modified


def test_java_key_mangling_of_high_bytes():
    assert java_key_bytes(b"\x41\x7f") == b"\x41\x7f"
    assert java_key_bytes(b"\x80") == "\uff80".encode() == b"\xef\xbe\x80"
    assert java_key_bytes(b"\xff") == b"\xef\xbf\xbf"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cross_check_with_the_android_backup_package(tmp_path):
    """PyPI android-backup (with pycryptodome) reads the same files with the same content."""
    ab_mod = pytest.importorskip("android_backup.android_backup")
    pytest.importorskip("Crypto.Cipher")
    ab = write_backup(tmp_path / "x.ab", MEMBERS, 5, True, PASSWORD, rounds=2000)
    with ab_mod.AndroidBackup(str(ab), password=PASSWORD.encode(), stream=False) as theirs, \
            theirs.read_data() as tf:
        other = {"/" + m.name: hashlib.sha256(tf.extractfile(m).read()).hexdigest() for m in tf if m.isfile()}
    with open_evidence(ab, Credentials(password=PASSWORD)) as ev:
        ours = {r.path: r.sha256 for r in list_files(ev, ("sha256",)) if r.type == "file"}
    assert ours == other and len(ours) == 4


def test_wrong_and_missing_password_are_one_line_exit_2(tmp_path):
    ab = write_backup(tmp_path / "enc.ab", MEMBERS, 5, True, PASSWORD, rounds=2000)
    with pytest.raises(CredentialError, match="wrong password"):
        open_evidence(ab, Credentials(password="guess"))
    for args in (["--password", "guess"], []):
        result = subprocess.run([*EK, "files", str(ab), *args], capture_output=True, text=True)
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1 and "password" in result.stderr
        assert "Traceback" not in result.stderr
    info = subprocess.run([*EK, "info", str(ab), "--json"], capture_output=True, text=True)
    assert json.loads(info.stdout)["volumes"][0]["locked"] is True


@pytest.mark.parametrize("password", [None, PASSWORD])
def test_truncated_backup_lists_what_is_readable_with_a_warning(tmp_path, password):
    ab = write_backup(tmp_path / "t.ab", MEMBERS, 5, True, password, rounds=2000)
    data = ab.read_bytes()
    cut = tmp_path / "cut.ab"
    cut.write_bytes(data[: len(data) - 3000])
    with open_evidence(cut, Credentials(password=password)) as ev:
        records = list(list_files(ev, ("sha256",)))
        warnings = list(ev.warnings)
    expected = _expected()
    whole = [r for r in records if r.sha256 is not None]
    assert whole and all(expected[r.path][1] == r.sha256 for r in whole)
    assert len(records) < len(MEMBERS) or any("incomplete" in w or "truncated" in w for r in records for w in r.warnings)
    assert any("damaged" in w for w in warnings), warnings


def test_plain_backup_matches_tarfile_reading_it_in_place(tmp_path):
    ab = write_backup(tmp_path / "p.ab", MEMBERS, 3, False, None)
    raw = ab.read_bytes()
    offset = raw.index(b"none\n") + 5
    (tmp_path / "p.tar").write_bytes(raw[offset:])
    with tarfile.open(tmp_path / "p.tar") as tf:
        names = ["/" + m.name for m in tf.getmembers()]
    with open_evidence(ab) as ev:
        assert [e.record.path for e in ev.entries()] == names


def test_highly_compressed_member_streams_with_capped_inflation(tmp_path):
    zeros = b"\x00" * (48 << 20)  # deflates ~1000:1: inflated piecewise, never whole
    ab = write_backup(tmp_path / "z.ab", [Member("apps/x/f/zeros.bin", zeros), Member("apps/x/f/after.txt", b"ok")],
                      5, True, PASSWORD, rounds=1000)
    with open_evidence(ab, Credentials(password=PASSWORD)) as ev:
        got = {r.path: (r.size, r.sha256) for r in list_files(ev, ("sha256",))}
    assert got == {"/apps/x/f/zeros.bin": (len(zeros), hashlib.sha256(zeros).hexdigest()),
                   "/apps/x/f/after.txt": (2, hashlib.sha256(b"ok").hexdigest())}


def test_an_encrypted_backup_is_processed_in_a_case_with_its_password(tmp_path):
    """case add and case process take the password (checked, never stored in the case); the
    inventory holds the backup's files with their hashes, and a wrong password stores nothing."""
    ab = write_backup(tmp_path / "enc.ab", MEMBERS, 5, True, PASSWORD, rounds=2000)
    env_home = {"EVIDENCEKIT_HOME": str(tmp_path / "home"), "EVIDENCEKIT_EXAMINER": "ex"}
    import os

    env = {**os.environ, **env_home}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*EK, *args], capture_output=True, text=True, env=env)

    assert cli("examiner", "init", "--name", "Ex Aminer", "--id", "ex").returncode == 0
    case = tmp_path / "case"
    assert cli("case", "init", str(case), "--number", "1", "--title", "T", "--authority", "A").returncode == 0
    assert cli("case", "add", str(case), str(ab), "--exhibit", "AB", "--password", PASSWORD).returncode == 0
    wrong = cli("case", "process", str(case), "--password", "guess")
    assert wrong.returncode == 2 and "password" in wrong.stderr and "Traceback" not in wrong.stderr
    done = cli("case", "process", str(case), "--password", PASSWORD)
    assert done.returncode == 0, done.stderr
    listed = cli("case", "files", str(case), "--format", "jsonl")
    got = {row["path"]: row["sha256"] for row in map(json.loads, listed.stdout.splitlines()) if row["type"] == "file"}
    assert got == {path: sha for path, (_, sha, _, _) in _expected().items() if sha is not None}
    assert PASSWORD not in (case / "case.db").read_bytes().decode("utf-8", "replace")
    assert cli("custody", "verify", str(case)).returncode == 0
