"""What is not evidence is refused at once, by name, with one line and exit 2: FIFOs, character
devices (also behind a symlink), sockets, dangling links, containers that do not read as what
they claim to be, and a QCOW2 whose size field is absurd. Real CLI runs; a hang fails the time-out."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ektools import ROOT, need_tool

CLI = [sys.executable, "-c", "from evidencekit.cli import main; main()"]
COMMANDS = ["info", "verify", "files"]
ONLY = "only regular files, block devices and directories are read"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=30)


def one_line_error(proc: subprocess.CompletedProcess[str], path: Path, cause: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"evidencekit: error: {path}"), proc.stderr
    assert cause in proc.stderr and not proc.stdout


@pytest.fixture
def specials(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    fifo = tmp_path / "disk.img"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.raw"
    zero.symlink_to("/dev/zero")
    sock_path = tmp_path / "s.img"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    return {"fifo": (fifo, "is a FIFO (named pipe), not evidence"),
            "link to /dev/zero": (zero, "(a link to /dev/zero): is a character device, not evidence"),
            "char device": (Path("/dev/null"), "is a character device, not evidence"),
            "socket": (sock_path, "is a socket, not evidence")}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero", "char device", "socket"])
def test_special_files_are_refused(specials: dict[str, tuple[Path, str]], command: str, kind: str) -> None:
    path, cause = specials[kind]
    proc = run(command, str(path))
    one_line_error(proc, path, cause)
    assert ONLY in proc.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_dangling_symlink_is_one_line(tmp_path: Path, command: str) -> None:
    link = tmp_path / "gone.E01"
    link.symlink_to(tmp_path / "moved-away.E01")
    one_line_error(run(command, str(link)), link, "dangling symbolic link (to ")


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    one_line_error(run("verify", str(tmp_path / "absent.raw")), tmp_path / "absent.raw", "no such file or directory")


@pytest.fixture
def e01_header(tmp_path: Path) -> Path:
    """The first 13 bytes of a real E01: the EWF signature and nothing after it."""
    path = tmp_path / "cut.E01"
    path.write_bytes((ROOT / "training_images" / "office-workstation" / "workstation.E01").read_bytes()[:13])
    return path


@pytest.fixture
def truncated_zip(tmp_path: Path) -> Path:
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(20):
            zf.writestr(f"dir/file{i}.txt", f"member {i}\n" * 200)
    path = tmp_path / "cut.zip"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return path


def qcow2(tmp_path: Path, name: str, offset: int, data: bytes) -> Path:
    need_tool("qemu-img")
    path = tmp_path / name
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)
    return path


@pytest.fixture
def qcow2_no_magic(tmp_path: Path) -> Path:
    return qcow2(tmp_path, "disk.qcow2", 0, b"XXXX")


@pytest.fixture
def qcow2_absurd_size(tmp_path: Path) -> Path:
    return qcow2(tmp_path, "huge.qcow2", 24, b"\xff" * 8)


UNREADABLE = {
    "e01_header": "cannot be read as ewf: its media decodes to 0 bytes (truncated or damaged)",
    "truncated_zip": "starts like a zip archive but cannot be read as one (no central directory",
    "qcow2_no_magic": "named as a QCOW image but cannot be read as one (damaged, or a misnamed raw file",
    "qcow2_absurd_size": "its header states a size of 18,446,744,073,709,551,615 bytes, beyond any medium",
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fixture", list(UNREADABLE))
def test_unreadable_containers_are_refused(request: pytest.FixtureRequest, fixture: str, command: str) -> None:
    path = request.getfixturevalue(fixture)
    before = path.read_bytes()
    proc = run(command, str(path))
    one_line_error(proc, path, UNREADABLE[fixture])
    assert "Traceback" not in proc.stderr and path.read_bytes() == before


def test_a_qcow2_qemu_made_still_opens(tmp_path: Path) -> None:
    """The control: the same image before the damage decodes as QCOW with its 16 MiB."""
    path = qcow2(tmp_path, "good.qcow2", 0, b"QFI\xfb")
    proc = run("info", "--json", str(path))
    assert '"qcow"' in proc.stdout and '"media_size": 16777216' in proc.stdout, proc.stderr


@pytest.fixture
def case_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from evidencekit.case import Case, examiners

    examiner = examiners.init_examiner("Alice Examiner", "alice")
    monkeypatch.setenv("EVIDENCEKIT_EXAMINER", examiner.id)
    Case.init(tmp_path / "case", number="N", title="T", authority="A", examiner=examiner).close()
    return tmp_path / "case"


def _recorded(case_dir: Path) -> tuple[list[str], int]:
    from evidencekit.case import Case

    with Case.open(case_dir) as case:
        return [e.action for e in case.entries()], len(case.exhibits())


@pytest.mark.parametrize("copy", [False, True])
@pytest.mark.parametrize("fixture", ["e01_header", "truncated_zip", "qcow2_no_magic"])
def test_case_add_refuses_unreadable_containers(request: pytest.FixtureRequest, case_dir: Path, fixture: str,
                                                copy: bool) -> None:
    path = request.getfixturevalue(fixture)
    proc = run("case", "add", str(case_dir), str(path), "--exhibit", "E1", *(["--copy"] if copy else []))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert UNREADABLE[fixture] in proc.stderr and str(path.name) in proc.stderr
    assert _recorded(case_dir) == (["created"], 0)  # no exhibit, no signed 'received' entry
    assert not (case_dir / "evidence" / "E1").exists()


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero"])
def test_case_add_refuses_special_files(specials: dict[str, tuple[Path, str]], case_dir: Path, kind: str) -> None:
    path, cause = specials[kind]
    one_line_error(run("case", "add", str(case_dir), str(path), "--exhibit", "E1"), path, cause)
    assert _recorded(case_dir) == (["created"], 0)


def test_no_zero_byte_hash_is_signed_for_a_non_empty_file(tmp_path: Path) -> None:
    """The last guard of intake, whatever a container reader reports: a file holding bytes whose
    media hashed as nothing is not registered."""
    from evidencekit import open_evidence
    from evidencekit.errors import CaseError
    from evidencekit.pipeline import intake
    from evidencekit.verify import media_digests

    path = tmp_path / "disk.raw"
    path.write_bytes(b"\0" * 4096)
    with open_evidence(path) as ev:
        intake._refuse_empty_media(ev, media_digests(ev, ("sha256",)))  # the real hash passes
        with pytest.raises(CaseError, match=r"hashes as zero bytes although the file holds 4,096 bytes"):
            intake._refuse_empty_media(ev, {"sha256": intake.EMPTY_SHA256})
