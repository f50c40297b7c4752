"""`custody verify` on a case whose database has a damaged page: one line, exit 2 ("cannot be
read"), never exit 1, which means tampering was found (real SQLite pages overwritten on disk); and
an unreadable record in the local key store, which the case does not need."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from case.util import run_cli
from evidencekit.case import Case


def _damage_page(db_path: Path, fraction: float) -> int:
    """Overwrite one whole page (at ``fraction`` of the file) with 0xff; returns its number."""
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
    size, count = db.execute("PRAGMA page_size").fetchone()[0], db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    page = max(2, int(count * fraction))
    with open(db_path, "r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(b"\xff" * size)
    return page


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_damaged_page_is_cannot_be_read_not_tampering(processed_case: Case, tmp_path: Path, fraction: float) -> None:
    processed_case.close()
    copy = tmp_path / "copy"
    shutil.copytree(processed_case.root, copy)
    assert run_cli("custody", "verify", str(copy)).returncode == 0  # intact before the damage
    _damage_page(copy / "case.db", fraction)
    proc = run_cli("custody", "verify", str(copy))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"evidencekit: error: {copy / 'case.db'}: ") and "cannot be read" in proc.stderr


def test_tampering_still_exits_1(processed_case: Case) -> None:
    """The distinction holds: a readable database whose rows were changed is a finding, exit 1."""
    processed_case.db.execute("UPDATE files SET sha256 = ? WHERE rowid = (SELECT min(rowid) FROM files "
                              "WHERE sha256 IS NOT NULL)", ("0" * 64,))
    processed_case.db.commit()
    proc = run_cli("custody", "verify", str(processed_case.root))
    assert proc.returncode == 1 and "FAIL" in proc.stdout and not proc.stderr


def test_corrupt_key_store_record_is_skipped_with_a_note(processed_case: Case) -> None:
    """The case holds its signers' keys: an unreadable record in ~/.evidencekit/examiners is noted
    and skipped, not a reason to refuse the case."""
    from evidencekit.case.examiners import store_dir

    broken = store_dir() / "zz-broken.json"
    broken.write_text('{"id": "zz", "name": ')
    proc = run_cli("custody", "verify", str(processed_case.root))
    assert proc.returncode == 0, proc.stderr
    assert f"note: {broken}: unreadable examiner record" in proc.stdout and ": skipped" in proc.stdout
    assert proc.stdout.rstrip().endswith("intact")
    own = store_dir() / "alice.json"  # even the signer's own record: the key in the case suffices
    own.write_bytes(b"\xff\xfe not json")
    proc = run_cli("custody", "verify", str(processed_case.root))
    assert proc.returncode == 0 and f"note: {own}: unreadable examiner record" in proc.stdout, proc.stderr
