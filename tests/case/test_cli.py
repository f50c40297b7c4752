"""The case, custody and examiner commands end to end, including bad input."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from case.util import run_cli
from evidencekit.case import Case, custody, examiners, schema
from evidencekit.cli import main

GROUPS = ("case", "custody", "examiner")


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_every_command_and_option_has_help() -> None:
    for name in GROUPS:
        group = main.get_command(click.Context(main), name)
        assert isinstance(group, click.Group) and group.help
        for sub in group.commands.values():
            assert sub.help, f"{name} {sub.name} lacks help"
            for param in sub.params:
                if isinstance(param, click.Option):
                    assert param.help, f"{name} {sub.name} {param.opts} lacks help"


def test_full_workflow(tmp_path: Path, small_image: Path) -> None:
    env = {"EVIDENCEKIT_EXAMINER": "alice"}
    assert _cli("examiner", "init", "--name", "Alice Examiner", "--id", "alice")[0] == 0
    assert _cli("examiner", "init", "--name", "Bob Receiver", "--id", "bob")[0] == 0
    case_dir = str(tmp_path / "case")
    steps = [
        ("case", "init", case_dir, "--number", "2026/7", "--title", "Fraud", "--authority", "Order 5/26",
         "--authority-date", "2026-11-02"),
        ("case", "add", case_dir, str(small_image), "--exhibit", "E1", "--seal", "S-991", "--description", "USB disk"),
        ("case", "process", case_dir),
        ("custody", "record", case_dir, "sealed", "--exhibit", "E1", "--text", "resealed in bag S-992"),
        ("custody", "transfer", case_dir, "--exhibit", "E1", "--to", "Bob Receiver, lab B", "--reason", "second opinion",
         "--receiver", "bob"),
        ("custody", "export", case_dir, "--format", "case"),
    ]
    for step in steps:
        code, out = _cli(*step, env=env)
        assert code == 0, (step, out)
    code, out = _cli("custody", "verify", case_dir)
    assert code == 0 and "7 entries, intact" in out, out
    with Case.open(case_dir) as case:
        head = case.db.execute("SELECT entry_hash FROM ledger WHERE seq = 7").fetchone()[0]
    assert f"head: entry 7 {head} signed by alice" in out
    assert "signer bob: SHA256:" in out  # the co-signer of the transfer
    code, out = _cli("custody", "log", case_dir)
    assert [line.split()[3] for line in out.splitlines()] == [
        "created", "received", "verified", "processed", "sealed", "transferred", "exported"]
    with Case.open(case_dir) as case:
        transfer = case.entries()[5]
        assert set(transfer.cosignatures) == {"bob"} and transfer.body["cosigners"] == ["bob"]
        status = json.loads(_cli("case", "status", case_dir, "--format", "json")[1])
        assert status["exhibits"][0]["files"] == case.db.execute("SELECT count(*) FROM files").fetchone()[0]
        custody_state = status["exhibits"][0]["custody"]
        assert (custody_state["action"], custody_state["to"], custody_state["entry"]) == (
            "transferred", "Bob Receiver, lab B", 6)


def test_case_uco_export_validates(processed_case: Case, examiner: examiners.Examiner, tmp_path: Path) -> None:
    validator = shutil.which("case_validate") or str(Path(sys.executable).with_name("case_validate"))
    custody.transfer(processed_case, "E1", examiner, "Court clerk", "trial")
    listing = processed_case.root / "exports" / "listing.csv"
    with processed_case.run("exported", examiner=examiner, exhibit="E1") as act:
        listing.write_text("path\n/a\n")
        act.outputs["exports/listing.csv"] = hashlib.sha256(listing.read_bytes()).hexdigest()
    out = tmp_path / "custody.jsonld"
    from evidencekit.exporters.caseuco import export_case

    export_case(processed_case, out, examiner)
    doc = json.loads(out.read_text())
    types = [n["@type"] for n in doc["@graph"]]
    assert types.count("investigation:InvestigativeAction") == 6  # the export entry follows the document
    exported = next(n for n in doc["@graph"] if n["@type"] == "observable:File")
    assert exported["core:name"] == "exports/listing.csv"
    assert {"investigation:Investigation", "investigation:Authorization", "investigation:ProvenanceRecord",
            "identity:Person", "tool:Tool", "observable:ObservableObject"} <= set(types)
    exhibit = next(n for n in doc["@graph"] if n["@type"] == "observable:ObservableObject")
    hashes = {h["types:hashMethod"]: h["types:hashValue"]["@value"] for h in exhibit["core:hasFacet"][0]["observable:hash"]}
    assert hashes["SHA256"] == processed_case.exhibit("E1").sha256
    auth = next(n for n in doc["@graph"] if n["@type"] == "investigation:Authorization")
    assert auth["investigation:authorizationIdentifier"] == "Warrant W-77"
    proc = subprocess.run([validator, str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Conforms: True" in proc.stdout


def test_files_filters_and_formats(processed_case: Case) -> None:
    root = str(processed_case.root)
    code, out = _cli("case", "files", root, "/dir0*/*", "--ext", "jpg", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    expected = processed_case.db.execute(
        "SELECT count(*) FROM files WHERE path GLOB '/dir0*/*' AND path LIKE '%.jpg'").fetchone()[0]
    assert code == 0 and len(rows) == expected > 0
    assert all(r["path"].endswith(".jpg") and r["exhibit"] == "E1" and len(r["sha256"]) == 64 for r in rows)
    code, out = _cli("case", "files", root, "--min-size", "100", "--format", "jsonl")
    sizes = [json.loads(line)["size"] for line in out.splitlines()]
    assert sizes and min(sizes) >= 100
    assert _cli("case", "files", root, "--deleted")[1].count("\n") == 1  # header only: nothing deleted


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, processed_case: Case) -> None:
    root = processed_case.root
    before = processed_case.db.execute("SELECT count(*) FROM ledger").fetchone()[0]
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("x")
    cases = [
        (("case", "init", str(tmp_path / "busy"), "--number", "1", "--title", "t", "--authority", "a"),
         "exists and is not an empty directory"),
        (("case", "status", str(tmp_path)), "not a case (no case.db)"),
        (("case", "add", str(root), str(root / "case.db"), "--exhibit", "E2", "--acquisition-hash", "crc:12"),
         "give ALG:HEX"),
        (("case", "process", str(root), "--examiner", "nobody"), "key of examiner nobody not found"),
        (("custody", "record", str(root), "note", "--text", "x", "--exhibit", "E9"), "no exhibit 'E9'"),
        (("custody", "verify", str(tmp_path / "busy")), "not a custody bundle"),
    ]
    for args, message in cases:
        proc = run_cli(*args, env={"EVIDENCEKIT_EXAMINER": "alice"})
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and message in lines[0], (args, proc.stderr)
    assert os.listdir(tmp_path / "busy") == ["keep.txt"]
    assert processed_case.db.execute("SELECT count(*) FROM ledger").fetchone()[0] == before


def test_newer_schema_and_foreign_database(tmp_path: Path, processed_case: Case) -> None:
    db = sqlite3.connect(processed_case.root / "case.db")
    db.execute(f"PRAGMA user_version = {schema.schema_version_supported() + 1}")
    db.close()
    proc = run_cli("case", "status", str(processed_case.root))
    assert proc.returncode == 2 and "is newer than this evidencekit supports" in proc.stderr
    other = tmp_path / "other"
    other.mkdir()
    (other / "case.db").write_bytes(b"not a database at all" * 100)
    proc = run_cli("custody", "log", str(other))
    assert proc.returncode == 2 and "not a case database" in proc.stderr


def test_passphrase_protected_key(tmp_path: Path, small_image: Path) -> None:
    env = {"EVIDENCEKIT_PASSPHRASE": "correct horse"}
    assert run_cli("examiner", "init", "--name", "Carol", "--id", "carol", "--passphrase", env=env).returncode == 0
    key = examiners.store_dir() / "carol.key"
    assert b"ENCRYPTED" in key.read_bytes()
    case_dir = str(tmp_path / "c")
    args = ("case", "init", case_dir, "--number", "1", "--title", "t", "--authority", "a", "--examiner", "carol")
    wrong = run_cli(*args, env={"EVIDENCEKIT_PASSPHRASE": "wrong"})
    assert wrong.returncode == 2 and "wrong passphrase for examiner carol" in wrong.stderr
    missing = run_cli(*args, env={"EVIDENCEKIT_PASSPHRASE": ""})
    assert missing.returncode == 2 and "passphrase-protected" in missing.stderr
    assert not Path(case_dir).exists()
    assert run_cli(*args, env=env).returncode == 0
    key.unlink()
    gone = run_cli("custody", "record", case_dir, "note", "--text", "x", "--examiner", "carol", env=env)
    assert gone.returncode == 2 and "carol.key: key of examiner carol not found" in gone.stderr


def test_cosignature_tampering(processed_case: Case, examiner: examiners.Examiner) -> None:
    bob = examiners.init_examiner("Bob", "bob")
    entry = custody.transfer(processed_case, "E1", examiner, "Bob", "analysis", bob)
    db = sqlite3.connect(processed_case.root / "case.db")
    db.execute("UPDATE ledger SET cosignatures = '{}' WHERE seq = ?", (entry.seq,))
    db.commit()
    db.close()
    found = [f.message for f in custody.verify_case(processed_case).findings]
    assert found == [f"entry {entry.seq}: missing or bad co-signature by examiner bob"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_verify_exit_status(processed_case: Case, fmt: str) -> None:
    assert run_cli("custody", "verify", str(processed_case.root), "--format", fmt).returncode == 0
    db = sqlite3.connect(processed_case.root / "case.db")
    db.execute("DELETE FROM ledger WHERE seq = 2")
    db.commit()
    db.close()
    proc = run_cli("custody", "verify", str(processed_case.root), "--format", fmt)
    assert proc.returncode == 1 and "sequence gap between 1 and 3" in proc.stdout


def test_files_with_content_filters(processed_case: Case, examiner: examiners.Examiner) -> None:
    root = str(processed_case.root)
    env = {"EVIDENCEKIT_EXAMINER": examiner.id}
    assert _cli("scan", "types", root, env=env)[0] == 0
    code, out = _cli("case", "files", root, "--type", "text/plain", "--format", "jsonl")
    typed = {json.loads(line)["path"] for line in out.splitlines()}
    txt = {r[0] for r in processed_case.db.execute("SELECT path FROM files WHERE ext = 'txt' AND size > 0")}
    assert code == 0 and txt and txt <= typed
    code, out = _cli("case", "files", root, "--mismatch", "--ext", "jpg", "--ext", "txt", "--format", "jsonl")
    mismatched = [json.loads(line)["path"] for line in out.splitlines()]
    assert code == 0 and mismatched and all(p.endswith(".jpg") for p in mismatched)


def test_export_refuses_altered_file_and_missing_evidence(processed_case: Case, examiner: examiners.Examiner,
                                                        small_image: Path, tmp_path: Path) -> None:
    listing = processed_case.root / "exports" / "listing.csv"
    with processed_case.run("exported", examiner=examiner) as act:
        listing.write_text("a\n")
        act.outputs["exports/listing.csv"] = hashlib.sha256(b"a\n").hexdigest()
    listing.write_text("b\n")
    entries = len(processed_case.entries())
    proc = run_cli("custody", "export", str(processed_case.root), "--out", str(tmp_path / "b.zip"),
                   env={"EVIDENCEKIT_EXAMINER": examiner.id})
    assert proc.returncode == 2 and "does not match the hash the ledger recorded" in proc.stderr
    assert not (tmp_path / "b.zip").exists() and len(processed_case.entries()) == entries
    moved = tmp_path / "moved.raw"
    shutil.copyfile(small_image, moved)
    from evidencekit.pipeline.intake import add_exhibit

    add_exhibit(processed_case, moved, "E2", examiner)
    moved.unlink()
    proc = run_cli("case", "process", str(processed_case.root), "--exhibit", "E2",
                   env={"EVIDENCEKIT_EXAMINER": examiner.id})
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "moved.raw" in proc.stderr
    assert processed_case.db.execute("SELECT count(*) FROM files WHERE exhibit = 'E2'").fetchone()[0] == 0
    assert processed_case.db.execute("SELECT count(*) FROM runs WHERE done = 0").fetchone()[0] == 0


def test_scan_results_verified_and_superseded_by_reprocessing(processed_case: Case, examiner: examiners.Examiner) -> None:
    root = str(processed_case.root)
    env = {"EVIDENCEKIT_EXAMINER": examiner.id}
    assert _cli("scan", "types", root, env=env)[0] == 0
    assert custody.verify_case(processed_case).ok
    db = sqlite3.connect(processed_case.root / "case.db")
    db.execute("UPDATE file_types SET mime = 'application/x-dosexec' WHERE file_id = (SELECT min(file_id) FROM file_types)")
    db.commit()
    found = [f.message for f in custody.verify_case(processed_case).findings]
    assert len(found) == 1 and found[0].startswith("stored results db:scan_runs/1 (entry 5) altered"), found
    assert _cli("case", "process", root, "--reprocess", env=env)[0] == 0
    report = custody.verify_case(processed_case)
    assert report.ok, report.findings
    assert processed_case.db.execute("SELECT count(*) FROM file_types").fetchone()[0] == 0  # cascaded
