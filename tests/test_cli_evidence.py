"""`evidencekit info` and `files` as an examiner runs them: formats, zones, exit codes, soundness."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ektools import need_tool
from images import ext4_image

EK = [sys.executable, "-m", "evidencekit"]


@pytest.fixture(scope="module")
def ext4(tmp_path_factory) -> Path:
    return ext4_image(tmp_path_factory.mktemp("cli"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*EK, *args], capture_output=True, text=True)


def test_info_json(ext4):
    result = run("info", str(ext4), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["format_chain"] == ["raw", "ext4"]
    assert data["volumes"][0]["filesystem"] == "ext4" and data["volumes"][0]["fs_label"] == "TESTVOL"
    assert data["media_size"] == ext4.stat().st_size


def test_files_jsonl_has_the_documented_keys(ext4):
    result = run("files", str(ext4), "--hash", "md5,sha1,sha256")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    required = {"volume", "path", "inode", "type", "deleted", "size", "md5", "sha1", "sha256", "mtime", "atime",
                "ctime", "crtime", "dtime", "fn_mtime", "fn_atime", "fn_ctime", "fn_crtime", "stream", "locator",
                "warnings"}
    assert all(required <= set(row) for row in rows)
    q1 = next(r for r in rows if r["path"] == "/docs/reports/q1.txt")
    assert q1["mtime"].endswith(".123456789Z")
    assert q1["display_zone"] == "UTC"


def test_files_display_zone_changes_rendering_only(ext4):
    utc = {json.loads(x)["path"]: json.loads(x) for x in run("files", str(ext4), "--hash", "none").stdout.splitlines()}
    local = run("files", str(ext4), "--hash", "none", "--tz", "Asia/Almaty")
    assert local.returncode == 0, local.stderr
    row = next(json.loads(x) for x in local.stdout.splitlines() if '"/docs/reports/q1.txt"' in x)
    # Almaty kept UTC+6 until 2024: the zone's history applies, not today's offset.
    assert row["display_zone"] == "Asia/Almaty" and row["mtime"].endswith("+06:00")
    from evidencekit.models import parse_iso_utc

    assert parse_iso_utc(row["mtime"]) == parse_iso_utc(utc["/docs/reports/q1.txt"]["mtime"])
    assert run("files", str(ext4), "--tz", "Mars/Olympus").returncode == 2


def test_files_csv(ext4):
    result = run("files", str(ext4), "--format", "csv", "--hash", "sha256")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {"path", "sha256", "locator", "display_zone"} <= set(rows[0])
    assert any(r["path"] == "/secret.txt" and r["deleted"] == "True" for r in rows)


def test_bodyfile_gives_the_same_mactime_timeline_as_fls(ext4, tmp_path):
    mactime = need_tool("mactime")
    ours = tmp_path / "ours.body"
    assert run("files", str(ext4), "--format", "bodyfile", "--hash", "none", "-o", str(ours)).returncode == 0
    theirs = tmp_path / "fls.body"
    theirs.write_text(subprocess.run([need_tool("fls"), "-r", "-m", "/", str(ext4)], capture_output=True, text=True,
                                     check=True).stdout)
    env = dict(os.environ, TZ="UTC")

    def timeline(body: Path) -> list[str]:
        out = subprocess.run([mactime, "-b", str(body), "-d", "-z", "UTC"], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        return sorted(out.stdout.splitlines())

    assert timeline(ours) == timeline(theirs)


@pytest.mark.parametrize("args", [["info"], ["files"], ["files", "--format", "bodyfile"], ["verify"]])
def test_commands_leave_evidence_untouched(ext4, args):
    before = (hashlib.sha256(ext4.read_bytes()).hexdigest(), ext4.stat().st_mtime_ns)
    run(*args, str(ext4))
    assert (hashlib.sha256(ext4.read_bytes()).hexdigest(), ext4.stat().st_mtime_ns) == before


@pytest.mark.parametrize("command", ["info", "files"])
def test_bad_evidence_is_one_line_exit_2(tmp_path, command):
    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom(4096))
    for path in (tmp_path / "absent.E01", noise):
        result = run(command, str(path))
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("evidencekit: error:")]
        assert len(errors) == 1 and str(path) in errors[0]


def test_unknown_hash_algorithm_is_a_clear_error(ext4):
    result = run("files", str(ext4), "--hash", "crc32")
    assert result.returncode == 2 and "unknown hash algorithm 'crc32'" in result.stderr
