"""The optional batch steps: types (libmagic), yara (the shipped triage rules), hashsets (the
shipped known-bad MD5 list) and an SOP id (sops/malware-triage.yaml), against the single commands."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from batchutil import case_entry, entries, verify_ok, write_manifest

from case.util import run_cli
from ektools import ROOT, need_tool
from evidencekit.case import Case
from evidencekit.hashing import sha256_file
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.pipeline.processing import process_exhibit
from evidencekit.pipeline.scan import check_exhibit, scan_exhibit
from evidencekit.scan.engine import ContentPass
from evidencekit.scan.hashsets import import_hash_set, open_hash_set
from evidencekit.scan.yara import YaraScanner, compile_rules
from scan.conftest import EICAR, PE, TREE, build_ext4

RULES = ROOT / "sops" / "data" / "triage.yar"
KNOWN_BAD = ROOT / "sops" / "data" / "known_bad.md5.txt"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ext4(tmp_path_factory.mktemp("batch-scan"))


def _scan_rows(case_dir: Path) -> dict[str, list]:
    """Types, YARA matches and hash set hits by path (what a comparison looks at)."""
    with Case.open(case_dir) as case:
        q = case.db.execute
        return {
            "types": q("SELECT f.path, t.mime, t.description, t.mismatch FROM file_types t JOIN files f "
                       "ON f.id = t.file_id ORDER BY f.path").fetchall(),
            "yara": q("SELECT f.path, y.namespace, y.rule, y.strings FROM yara_matches y JOIN files f "
                      "ON f.id = y.file_id ORDER BY f.path, y.rule").fetchall(),
            "hits": q("SELECT f.path, h.kind, h.algorithm FROM hashset_hits h JOIN files f ON f.id = h.file_id "
                      "ORDER BY f.path").fetchall(),
            "ids": q("SELECT id, path FROM files ORDER BY id").fetchall(),
        }


def _reference(work: Path, image: Path, examiner) -> Path:
    """`case add`, `case process`, `scan types`, `scan yara --no-types`, `scan hashsets` by hand."""
    import_hash_set("reference-bad", KNOWN_BAD, "known-bad")
    root = work / "reference"
    with Case.init(root, number="REF/1", title="reference", authority="none", examiner=examiner) as case:
        add_exhibit(case, image, "E1", examiner)
        process_exhibit(case, "E1", examiner)
        scan_exhibit(case, "E1", examiner, ContentPass(None, types=True))
        scan_exhibit(case, "E1", examiner, ContentPass(YaraScanner(compile_rules(RULES)), types=False))
        check_exhibit(case, "E1", examiner, [open_hash_set("reference-bad")])
    return root


def test_types_yara_and_hashsets_steps_store_what_the_scan_commands_store(tmp_path, image, examiner):
    before = sha256_file(image)
    case_dir = tmp_path / "case"
    manifest = write_manifest(tmp_path / "m.yaml", [case_entry(
        case_dir, [("E1", image)], steps=["intake", "process", "types", "yara", "hashsets"],
        yara=str(RULES), hashsets=[{"file": str(KNOWN_BAD)}])])
    proc = run_cli("batch", "run", str(manifest), "--workers", "2", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = json.loads(proc.stdout.splitlines()[-1])["exhibits"][0]
    assert row["status"] == "done" and not row["skipped"], row
    got, reference = _scan_rows(case_dir), _scan_rows(_reference(tmp_path, image, examiner))
    assert got == reference
    # independent of the scan layer: file(1) for the types, hashlib for the hash set, the rules' own strings
    need_tool("file")
    jpeg = subprocess.run(["file", "-b", "--mime-type", "-"], input=TREE["photo.txt"], capture_output=True,
                          check=True).stdout.decode().strip()
    assert ("/photo.txt", jpeg, 1) in {(p, m, x) for p, m, _, x in got["types"]}
    assert {(p, r) for p, _, r, _ in got["yara"]} >= {("/eicar.com", "EICAR_Test_File"),
                                                       ("/invoice.pdf", "Windows_PE_Executable")}
    assert hashlib.md5(EICAR).hexdigest() in KNOWN_BAD.read_text() and TREE["invoice.pdf"] == PE
    assert got["hits"] == [("/eicar.com", "known-bad", "md5")]
    analysed = [e for e in _entries(case_dir) if e["action"] == "analysed"]
    assert [e["details"]["analysis"] for e in analysed] == ["types", "yara", "hashsets"]
    assert analysed[1]["inputs"]["rules_sha256"] == compile_rules(RULES).sha256
    notes = [e["details"]["batch"] for e in _entries(case_dir) if e["action"] == "note"]
    scan_units = [u for n in notes if n.get("step") in ("types", "yara") for u in n["units"]]
    assert [u["unit"] for u in scan_units] == ["scan", "scan"] and all(u["host"] for u in scan_units)
    verify_ok(case_dir)
    assert sha256_file(image) == before  # read-only
    status = run_cli("batch", "status", str(manifest), "--json")
    assert json.loads(status.stdout)[0]["steps"] == dict.fromkeys(["intake", "process", "types", "yara", "hashsets"],
                                                                  "done"), status.stdout
    count = len(entries(case_dir))
    again = run_cli("batch", "run", str(manifest), "--workers", "2", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.splitlines()[-1])["exhibits"][0]["skipped"] == [
        "intake", "process", "types", "yara", "hashsets"]
    assert len(entries(case_dir)) == count  # a rerun adds nothing


def _entries(case_dir: Path) -> list[dict]:
    with Case.open(case_dir) as case:
        return [{"action": e.action, **e.body} for e in case.entries()]


def test_an_sop_step_runs_its_automated_steps_and_pauses_for_the_examiner(tmp_path, image, examiner):
    """With the acquisition hash the SOP's verify and inventory pass and it pauses at its first
    attestation; without one its verify step fails and stops it: that exhibit fails, with the SOP's line."""
    good, bad = tmp_path / "good", tmp_path / "bad"
    hashed = case_entry(good, [("E1", image)], steps=["intake", "process", "sop:malware-triage"])
    hashed["exhibits"][0]["expect"] = [f"sha256:{sha256_file(image)}"]
    plain = case_entry(bad, [("E1", image)], steps=["intake", "process", "sop:malware-triage"], number="2026/0143")
    manifest = write_manifest(tmp_path / "m.yaml", [hashed, plain])
    proc = run_cli("batch", "run", str(manifest), "--workers", "2", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows = json.loads(proc.stdout.splitlines()[-1])["exhibits"]
    assert rows[0]["status"] == "done" and any(w.startswith("SOP malware-triage paused") for w in rows[0]["warnings"]), rows[0]["warnings"]
    assert rows[1]["status"] == "failed" and rows[1]["error"].startswith("SOP malware-triage: step verify failed")
    status = run_cli("sop", "status", str(good), "--exhibit", "E1", "--format", "json")
    assert status.returncode == 0, status.stderr
    checklist = json.loads(status.stdout)["checklists"][0]
    steps = {s["id"]: s["status"] for s in checklist["rows"]}
    assert checklist["status"] == "open"
    assert steps["verify"] == "passed" and steps["inventory"] == "passed" and steps["rule_sets"] == "pending", steps
    with Case.open(good) as case:  # the SOP's inventory step found the batch's inventory: not redone
        assert [e.action for e in case.entries()].count("processed") == 1
    verify_ok(good)
    verify_ok(bad)


def test_a_bad_rules_path_or_sop_id_is_a_manifest_error(tmp_path, image):
    bad = write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", [("E1", image)],
                                                          steps=["intake", "yara", "sop:no-such-sop"],
                                                          yara="missing.yar")])
    proc = run_cli("batch", "validate", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "missing.yar: no such rules file or folder" in proc.stderr, proc.stderr
    order = write_manifest(tmp_path / "o.yaml", [case_entry(tmp_path / "case", [("E1", image)],
                                                            steps=["intake", "process", "yara"])])
    proc = run_cli("batch", "validate", str(order))
    assert proc.returncode == 2 and "needs options.yara" in proc.stderr, proc.stderr
