"""The source zone of local-time fields: ``files --source-tz`` and ``case add --source-tz``.

FAT stores the writing machine's wall clock. The FAT16 image of tests/images.py is written by
mcopy under TZ=UTC, so its wall clock equals the source files' UTC mtimes; read as Asia/Almaty
(UTC+6 in 2021) each instant is six hours earlier. TSK's istat, which shows the stored wall
clock, is the independent answer for the wall clock; ext4 (UTC on disk) must not move.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evidencekit import open_evidence
from evidencekit.errors import ValidationError
from evidencekit.inventory import files
from images import ext4_image, fat16_image

ALMATY_2021 = 6 * 3600 * 10**9
ALMATY_SWITCH = 1_709_229_600 * 10**9  # 2024-03-01 00:00 at UTC+6: Almaty moved to UTC+5


def _almaty(wall_ns: int) -> int:
    """The UTC instant of an Almaty wall-clock time, by the rule itself (not through zoneinfo)."""
    offset = 6 * 3600 * 10**9 if wall_ns - 6 * 3600 * 10**9 < ALMATY_SWITCH else 5 * 3600 * 10**9
    return wall_ns - offset


@pytest.fixture(scope="module")
def fat16(tmp_path_factory) -> Path:
    return fat16_image(tmp_path_factory.mktemp("fat"))


def _listing(path: Path, *extra: str) -> dict[str, dict]:
    out = subprocess.run([sys.executable, "-m", "evidencekit", "files", str(path), "--hash", "none", *extra],
                         capture_output=True, text=True, check=True).stdout
    return {rec["path"]: rec for rec in map(json.loads, out.splitlines())}


def test_files_source_tz_moves_fat_times_only(fat16, tmp_path):
    utc = _listing(fat16)
    almaty = _listing(fat16, "--source-tz", "Asia/Almaty")
    plan = "/Work/plan.txt"
    assert utc[plan]["assumed_zone"] == "UTC" and almaty[plan]["assumed_zone"] == "Asia/Almaty"
    assert utc[plan]["mtime"] == "2021-06-01T06:46:40.00Z"  # 1_622_530_000, as mcopy -m wrote it (TZ=UTC)
    assert almaty[plan]["mtime"] == "2021-06-01T00:46:40.00Z"
    istat = subprocess.run(["istat", str(fat16), str(utc[plan]["inode"])], capture_output=True, text=True).stdout
    assert "2021-06-01 06:46:40" in istat.split("Written:")[1].splitlines()[0]
    with open_evidence(fat16) as ev:
        a = {r.path: r for r in files(ev, hashes=())}
    with open_evidence(fat16, source_tz="Asia/Almaty") as ev:
        b = {r.path: r for r in files(ev, hashes=())}
    for path, rec in a.items():
        for key in ("mtime", "atime", "crtime"):
            before, after = getattr(rec, key), getattr(b[path], key)
            assert after == (None if before is None else _almaty(before)), (path, key)
    ext4 = ext4_image(tmp_path)
    plain, zoned = _listing(ext4), _listing(ext4, "--source-tz", "Asia/Almaty")
    assert plain == zoned and all(rec["assumed_zone"] is None for rec in zoned.values())


def test_unknown_source_zone_is_one_line(fat16):
    bad = subprocess.run([sys.executable, "-m", "evidencekit", "files", str(fat16), "--source-tz", "Mars/Olympus"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "Mars/Olympus" in bad.stderr
    with pytest.raises(ValidationError):
        open_evidence(fat16, source_tz="Nowhere/Else")


def test_case_add_source_tz_is_recorded_and_applied(fat16, tmp_path):
    from evidencekit.case import Case, examiners
    from evidencekit.pipeline.intake import Seizure, add_exhibit
    from evidencekit.pipeline.processing import process_exhibit

    examiner = examiners.init_examiner("Alice Examiner", "alice")
    with Case.init(tmp_path / "case", number="2026/1", title="t", authority="W-1", examiner=examiner) as case:
        add_exhibit(case, fat16, "E1", examiner, Seizure(seal="S-1", source_tz="Asia/Almaty"))
        process_exhibit(case, "E1", examiner, hashes=("sha256",), jobs=1)
        assert case.exhibit("E1").source_tz == "Asia/Almaty"
        received, processed = (e for e in case.entries() if e.action in ("received", "processed"))
        assert received.body["details"]["source_tz"] == "Asia/Almaty"
        assert processed.body["details"]["source_tz"] == "Asia/Almaty"
        rows = dict(case.db.execute("SELECT path, assumed_zone FROM files WHERE exhibit = 'E1'").fetchall())
        mtime = case.db.execute("SELECT mtime FROM files WHERE path = '/Work/plan.txt'").fetchone()[0]
    assert set(rows.values()) <= {"Asia/Almaty", None} and rows["/Work/plan.txt"] == "Asia/Almaty"
    assert mtime == 1_622_530_000 * 10**9 - ALMATY_2021


def test_cli_case_add_source_tz(fat16, tmp_path):
    env_cmd = [sys.executable, "-m", "evidencekit"]
    import os

    env = dict(os.environ, EVIDENCEKIT_EXAMINER="bob")
    assert subprocess.run([*env_cmd, "examiner", "init", "--name", "Bob", "--id", "bob"], env=env).returncode == 0
    case_dir = str(tmp_path / "c")
    subprocess.run([*env_cmd, "case", "init", case_dir, "--number", "1", "--title", "t", "--authority", "W"],
                   env=env, check=True, capture_output=True)
    bad = subprocess.run([*env_cmd, "case", "add", case_dir, str(fat16), "--exhibit", "E1", "--source-tz", "Bad/Zone"],
                         env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "Bad/Zone" in bad.stderr and "Traceback" not in bad.stderr
    ok = subprocess.run([*env_cmd, "case", "add", case_dir, str(fat16), "--exhibit", "E1", "--source-tz", "Asia/Almaty"],
                        env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
