"""Tampering with the ledger, results or exported files is named precisely by custody verify."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from evidencekit.case import Case, custody, examiners
from evidencekit.exporters import bundle


def _export(case: Case, examiner: examiners.Examiner, name: str, text: str) -> None:
    """A derived file written and recorded the way every exporter does it."""
    path = case.root / "exports" / name
    with case.run("exported", examiner=examiner, exhibit="E1", details={"what": name}) as act:
        path.write_text(text)
        act.outputs[f"exports/{name}"] = hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def busy_case(processed_case: Case, examiner: examiners.Examiner) -> Case:
    """A processed case with notes and an export: entries 1..9."""
    for i in range(3):
        custody.record(processed_case, "note", examiner, f"note {i}", exhibit="E1")
    _export(processed_case, examiner, "listing.csv", "a,b\n1,2\n")
    for i in range(2):
        custody.record(processed_case, "note", examiner, f"later note {i}")
    return processed_case


def _sql(case: Case, *statements: str) -> None:
    db = sqlite3.connect(case.root / "case.db", isolation_level=None)
    for statement in statements:
        db.execute(statement)
    db.close()


def _findings(case: Case) -> list[str]:
    with Case.open(case.root) as fresh:
        report = custody.verify_case(fresh)
    return [f"{f.kind}: {f.message}" for f in report.findings]


def _entry_count(case: Case) -> int:
    return int(case.db.execute("SELECT count(*) FROM ledger").fetchone()[0])


def test_intact_case_verifies(busy_case: Case) -> None:
    assert _entry_count(busy_case) == 10
    assert _findings(busy_case) == []


def test_edited_entry_is_named(busy_case: Case) -> None:
    body = json.loads(busy_case.db.execute("SELECT body FROM ledger WHERE seq = 6").fetchone()[0])
    body["details"]["text"] = "nothing happened"
    _sql(busy_case, f"UPDATE ledger SET body = '{json.dumps(body)}' WHERE seq = 6")
    found = _findings(busy_case)
    assert len(found) == 1 and found[0].startswith("edited: entry 6 edited"), found


def test_edited_column_is_named(busy_case: Case) -> None:
    _sql(busy_case, "UPDATE ledger SET examiner = 'mallory' WHERE seq = 3")
    found = _findings(busy_case)
    assert any(f.startswith("edited: entry 3 edited") for f in found), found


def test_deleted_entry_is_a_gap(busy_case: Case) -> None:
    _sql(busy_case, "DELETE FROM ledger WHERE seq = 5")
    found = _findings(busy_case)
    assert found == ["deleted: entries deleted: sequence gap between 4 and 6 (missing 5)"], found


def test_deleted_and_renumbered(busy_case: Case) -> None:
    _sql(busy_case, "DELETE FROM ledger WHERE seq = 5", "UPDATE ledger SET seq = seq + 1000 WHERE seq > 5",
         "UPDATE ledger SET seq = seq - 1001 WHERE seq > 1000")
    found = _findings(busy_case)
    assert "reordered: entries 6..10 renumbered to 5..9 (to close a gap)" in found, found
    assert "deleted: entries deleted: sequence gap between 4 and 6 (missing 5)" in found, found


def test_reordered_entries_are_named(busy_case: Case) -> None:
    _sql(busy_case, "UPDATE ledger SET seq = -1 WHERE seq = 6", "UPDATE ledger SET seq = 6 WHERE seq = 7",
         "UPDATE ledger SET seq = 7 WHERE seq = -1")
    found = _findings(busy_case)
    assert found == ["reordered: entries reordered: position 6 holds entry 7, position 7 holds entry 6"], found


def test_inserted_entry_is_named(busy_case: Case) -> None:
    row = busy_case.db.execute("SELECT * FROM ledger WHERE seq = 6").fetchone()
    fake = list(row)
    fake[0], fake[7] = 6, hashlib.sha256(b"forged").hexdigest()
    _sql(busy_case, "UPDATE ledger SET seq = seq + 1000 WHERE seq >= 6",
         "UPDATE ledger SET seq = seq - 999 WHERE seq > 1000")
    db = sqlite3.connect(busy_case.root / "case.db", isolation_level=None)
    db.execute(f"INSERT INTO ledger VALUES ({','.join('?' * len(fake))})", fake)
    db.close()
    found = _findings(busy_case)
    assert any(f.startswith("inserted: entry 6 inserted") for f in found), found
    assert "reordered: entries 6..10 renumbered to 7..11 (to make room)" in found, found


def test_appended_forgery_after_head(busy_case: Case) -> None:
    row = list(busy_case.db.execute("SELECT * FROM ledger WHERE seq = 10").fetchone())
    row[0], row[7] = 11, hashlib.sha256(b"forged").hexdigest()
    db = sqlite3.connect(busy_case.root / "case.db", isolation_level=None)
    db.execute(f"INSERT INTO ledger VALUES ({','.join('?' * len(row))})", row)
    db.close()
    found = _findings(busy_case)
    assert any(f.startswith("inserted: entry 11 inserted") for f in found), found
    assert any("appended after the signed head" in f for f in found), found


def test_truncated_tail_is_named(busy_case: Case) -> None:
    _sql(busy_case, "DELETE FROM ledger WHERE seq >= 9")
    found = _findings(busy_case)
    assert any(f.startswith("truncated: ledger truncated: signed head names entry 10") and "ends at entry 8" in f
               for f in found), found


def test_forged_head_is_named(busy_case: Case) -> None:
    _sql(busy_case, "DELETE FROM ledger WHERE seq >= 9",
         "UPDATE ledger_head SET seq = 8, entry_hash = (SELECT entry_hash FROM ledger WHERE seq = 8)")
    assert _findings(busy_case) == ["head: ledger head: bad signature by examiner alice"]


def test_bad_signature_is_named(busy_case: Case) -> None:
    other = busy_case.db.execute("SELECT signature FROM ledger WHERE seq = 2").fetchone()[0]
    _sql(busy_case, f"UPDATE ledger SET signature = '{other}' WHERE seq = 4")
    assert _findings(busy_case) == ["signature: entry 4: bad signature by examiner alice"]


def test_swapped_examiner_key_is_named(busy_case: Case) -> None:
    mallory = examiners.init_examiner("Mallory", "mallory")
    _sql(busy_case, f"UPDATE examiners SET public_key = '{mallory.public_key}' WHERE id = 'alice'")
    found = _findings(busy_case)
    assert any(f.startswith("signature: entry 1: bad signature by examiner alice") for f in found), found
    assert any("differs from this machine's key store" in f for f in found), found


def test_altered_export_is_named(busy_case: Case) -> None:
    path = busy_case.root / "exports" / "listing.csv"
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text("a,b\n1,3\n")
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    assert _findings(busy_case) == [
        f"output: exported file exports/listing.csv (entry 8) altered: sha256 expected {expected} got {got}"]
    path.unlink()
    assert _findings(busy_case) == ["output: exported file exports/listing.csv (entry 8) missing"]


def test_altered_inventory_is_named(busy_case: Case) -> None:
    _sql(busy_case, "UPDATE files SET sha256 = 'feedface' WHERE id = (SELECT max(id) FROM files)")
    found = _findings(busy_case)
    assert len(found) == 1 and found[0].startswith("output: stored results db:files/E1 (entry 4) altered")


def test_altered_exhibit_hash_and_case_metadata(busy_case: Case) -> None:
    _sql(busy_case, "UPDATE exhibits SET sha256 = '" + "0" * 64 + "', seal = 'S-2'",
         "UPDATE case_meta SET value = 'Warrant W-78' WHERE key = 'authority'",
         "UPDATE volumes SET filesystem = 'ntfs'")
    found = _findings(busy_case)
    assert "exhibit: exhibit E1 seal altered: entry 2 says None, the case says 'S-2'" in found, found
    assert any(f.startswith("output: stored results db:volumes/E1 (entry 4) altered") for f in found)
    assert "case: case authority altered: entry 1 says 'Warrant W-77', the case says 'Warrant W-78'" in found
    assert any(f.startswith("exhibit: exhibit E1 registered sha256 altered: entry 2 says") for f in found), found


def test_bundle_verifies_without_database(busy_case: Case, examiner: examiners.Examiner, tmp_path: Path) -> None:
    for out in (tmp_path / "b.zip", tmp_path / "bdir"):
        bundle.export_bundle(busy_case, out, examiner)
    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "bdir", moved)
    shutil.rmtree(busy_case.root)
    for target in (tmp_path / "b.zip", moved):
        report = bundle.verify_bundle(target)
        assert report.ok and report.entries == (11 if target.suffix == ".zip" else 12), report.findings


def test_bundle_tampering_is_named(busy_case: Case, examiner: examiners.Examiner, tmp_path: Path) -> None:
    out = tmp_path / "b"
    bundle.export_bundle(busy_case, out, examiner)
    (out / "files" / "exports" / "listing.csv").write_text("changed\n")
    lines = (out / "ledger.jsonl").read_text().splitlines()
    entry = json.loads(lines[5])
    entry["details"]["text"] = "rewritten"
    lines[5] = json.dumps(entry)
    del lines[2]
    (out / "ledger.jsonl").write_text("\n".join(lines) + "\n")
    doc = json.loads((out / "case.json").read_text())
    (out / "case.json").write_text(json.dumps({**doc, "number": "2026/9999"}))
    found = [f"{f.kind}: {f.message}" for f in bundle.verify_bundle(out).findings]
    assert "case: case.json number altered: entry 1 says '2026/0142', case.json says '2026/9999'" in found
    assert any(f.startswith("edited: entry 6 edited") for f in found), found
    assert "deleted: entries deleted: sequence gap between 2 and 4 (missing 3)" in found, found
    assert any(f.startswith("output: exported file exports/listing.csv (entry 8) altered") for f in found), found


def test_long_ledger_checked_in_parallel(case: Case, examiner: examiners.Examiner) -> None:
    from evidencekit.case import ledger, signature_pool

    with case.transaction() as db:
        for i in range(signature_pool.PARALLEL_FROM + 100):
            ledger.append(db, case.id, examiner, "note", details={"n": i})
    assert _findings(case) == []
    other = case.db.execute("SELECT signature FROM ledger WHERE seq = 5").fetchone()[0]
    _sql(case, f"UPDATE ledger SET signature = '{other}' WHERE seq = 1200")
    assert _findings(case) == ["signature: entry 1200: bad signature by examiner alice"]


def test_damaged_json_is_an_edit(busy_case: Case) -> None:
    _sql(busy_case, "UPDATE ledger SET body = '{not json' WHERE seq = 3",
         "UPDATE ledger SET cosignatures = '[' WHERE seq = 5")
    found = _findings(busy_case)
    assert any(f.startswith("edited: entry 3 edited") for f in found), found
    assert len(found) == 1, found  # entry 5 has no co-signers: its damaged (unsigned) column changes nothing


def test_duplicated_bundle_line(busy_case: Case, examiner: examiners.Examiner, tmp_path: Path) -> None:
    out = tmp_path / "b"
    bundle.export_bundle(busy_case, out, examiner)
    lines = (out / "ledger.jsonl").read_text().splitlines()
    (out / "ledger.jsonl").write_text("\n".join([*lines[:4], lines[3], *lines[4:]]) + "\n")
    found = [f.message for f in bundle.verify_bundle(out).findings]
    assert found == ["entry 4 appears twice in the ledger; the second is ignored"]
