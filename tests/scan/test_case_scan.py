"""Scans of real images: deleted files, a case with stored results, ledger entries, filters, CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from evidencekit import open_evidence
from evidencekit.case import Case
from evidencekit.case.examiners import Examiner
from evidencekit.pipeline.scan import check_exhibit, scan_exhibit
from evidencekit.scan.engine import ContentPass
from evidencekit.scan.filters import file_filter_sql, scan_flags
from evidencekit.scan.hashsets import import_hash_set, open_hash_set
from evidencekit.scan.store import run_digest
from evidencekit.scan.yara import YaraScanner, compile_rules
from scan.conftest import RULES, TREE, WEBSHELL


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from evidencekit.cli import main; main()", *args],
                          capture_output=True, text=True, env=dict(os.environ))


def test_deleted_fat_file_is_scanned_and_typed(fat_image: Path) -> None:
    content = ContentPass(YaraScanner(compile_rules(RULES)), types=True)
    with open_evidence(str(fat_image)) as ev:
        results = {r.record.path.lower(): r for r in content.run(ev.entries())}
    deleted = [r for p, r in results.items() if p.startswith("/tools/") and r.record.deleted]  # "_otes.txt"
    assert deleted, sorted(results)
    assert [m.rule for m in deleted[0].yara.matches] == ["mimikatz_strings"]
    assert results["/photo.txt"].type.mismatch is True
    assert [m.rule for m in results["/www/upload.php"].yara.matches] == ["php_eval_base64_webshell"]


def _paths(case: Case, **flt: object) -> set[str]:
    sql, params = file_filter_sql(**flt)  # type: ignore[arg-type]
    return {r[0] for r in case.db.execute(f"SELECT f.path FROM files f WHERE {sql}", params)}


def test_case_scan_stores_results_with_one_ledger_entry(processed_case: Case, examiner: Examiner) -> None:
    ruleset = compile_rules(RULES)
    content = ContentPass(YaraScanner(ruleset), types=True)
    before = len(processed_case.entries())
    out = scan_exhibit(processed_case, "E1", examiner, content)
    entries = processed_case.entries()
    assert len(entries) == before + 1
    assert out["files_scanned"] == len(TREE)
    assert _paths(processed_case, mismatch=True) == {"/photo.txt", "/invoice.pdf"}
    assert _paths(processed_case, type="image/jpeg") == {"/photo.txt"}
    assert _paths(processed_case, type="image/*") == {"/photo.txt", "/logo.png"}
    assert _paths(processed_case, yara=("mimikatz_strings",)) == {"/tools/notes.txt"}
    assert _paths(processed_case, yara=("malware/eicar:eicar_test_file", "php_eval_base64_webshell")) == {
        "/eicar.com", "/www/upload.php"}
    row = processed_case.db.execute(
        "SELECT y.strings FROM yara_matches y JOIN files f ON f.id = y.file_id WHERE f.path = '/www/upload.php'").fetchone()
    offsets: dict[str, int] = {}
    for hit in json.loads(row[0]):
        offsets.setdefault(hit["identifier"], hit["offset"])  # hits come in offset order
    assert offsets["$php"] == WEBSHELL.index(b"<?php") and offsets["$req1"] == WEBSHELL.index(b"$_POST")
    last = entries[-1]
    assert (last.action, last.exhibit) == ("analysed", "E1")
    assert last.body["details"]["analysis"] == "yara"
    assert last.body["inputs"]["rules_sha256"] == ruleset.sha256
    assert last.body["details"]["rules"]["files"][0]["sha256"] in {h for _, h in ruleset.files}
    run_key = f"db:scan_runs/{out['run_id']}"
    assert last.body["outputs"][run_key] == run_digest(processed_case.db, out["run_id"])
    processed_case.db.execute("UPDATE yara_matches SET strings = '[]' WHERE rowid = (SELECT min(rowid) FROM yara_matches)")
    assert last.body["outputs"][run_key] != run_digest(processed_case.db, out["run_id"])  # an edit shows
    processed_case.db.execute("DELETE FROM yara_matches")
    scan_exhibit(processed_case, "E1", examiner, content)
    before += 1
    # a second scan with the same rules replaces the results (the ledger keeps both entries)
    count = processed_case.db.execute("SELECT count(*) FROM yara_matches").fetchone()[0]
    scan_exhibit(processed_case, "E1", examiner, content)
    assert processed_case.db.execute("SELECT count(*) FROM yara_matches").fetchone()[0] == count == 3
    assert len(processed_case.entries()) == before + 2
    flags = scan_flags(processed_case.db)
    by_path = {r[1]: flags[r[0]] for r in processed_case.db.execute("SELECT id, path FROM files") if r[0] in flags}
    assert by_path["/tools/notes.txt"]["yara_rules"] == ["mimikatz_strings"]
    assert by_path["/photo.txt"]["mismatch"] is True and by_path["/photo.txt"]["mime"] == "image/jpeg"
    assert len(by_path) == len(TREE)


def test_hash_sets_flag_known_bad_and_hide_known_good(processed_case: Case, examiner: Examiner,
                                                       tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(hashlib.sha256(WEBSHELL).hexdigest() + "\n")
    good = tmp_path / "good.txt"
    good.write_text("".join(hashlib.md5(TREE[n]).hexdigest() + "\n" for n in ("readme.txt", "logo.png", "www/upload.php")))
    import_hash_set("bad", bad, "known-bad")
    import_hash_set("good", good, "known-good")
    out = check_exhibit(processed_case, "E1", examiner, [open_hash_set("bad"), open_hash_set("good")])
    assert out["results"]["bad"]["hits"] == 1 and out["results"]["good"]["hits"] == 3
    assert _paths(processed_case, known_bad=True) == {"/www/upload.php"}
    all_files = {r[0] for r in processed_case.db.execute("SELECT path FROM files WHERE type = 'file'")}
    hidden = all_files - _paths(processed_case, hide_known=True)
    assert hidden == {"/readme.txt", "/logo.png"}  # upload.php is also known-bad: never hidden
    assert {"/photo.txt", "/www/upload.php"} <= _paths(processed_case, hide_known=True)
    flags = {processed_case.db.execute("SELECT path FROM files WHERE id = ?", (fid,)).fetchone()[0]: v
             for fid, v in scan_flags(processed_case.db, "E1").items()}
    assert flags["/www/upload.php"]["known_bad"] and flags["/www/upload.php"]["known_good"]
    assert flags["/readme.txt"] == {"mime": None, "description": None, "mismatch": None, "yara_rules": [],
                                    "known_bad": False, "known_good": True}
    view = dict(processed_case.db.execute(
        "SELECT f.path, s.known_bad FROM file_scan s JOIN files f ON f.id = s.file_id WHERE f.type = 'file'"))
    assert view["/www/upload.php"] == 1 and view["/readme.txt"] == 0


def test_cli_evidence_mode_prints_matches(ext4_image: Path) -> None:
    proc = _cli("scan", "yara", str(ext4_image), "--rules", str(RULES))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {(r["path"], r["rule"]) for r in rows} == {
        ("/www/upload.php", "php_eval_base64_webshell"), ("/tools/notes.txt", "mimikatz_strings"),
        ("/eicar.com", "eicar_test_file")}
    table = _cli("scan", "yara", str(ext4_image), "--rules", str(RULES / "webshells.yar"), "--format", "table")
    assert "webshells" not in table.stdout and "default:php_eval_base64_webshell" in table.stdout


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    bad_rules = tmp_path / "bad.yar"
    bad_rules.write_text("rule x { condition: nonsense_identifier }\n")
    proc = _cli("scan", "yara", str(tmp_path), "--rules", str(bad_rules))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and f"{bad_rules} line 1" in proc.stderr
    bad_list = tmp_path / "list.txt"
    bad_list.write_text("d41d8cd98f00b204e9800998ecf8427e\nxyz\n")
    proc = _cli("hashset", "import", "x", str(bad_list), "--kind", "known-bad")
    assert proc.returncode == 2 and "line 2" in proc.stderr and "Traceback" not in proc.stderr
    ok = _cli("hashset", "import", "x", str(bad_list), "--kind", "known-bad", "--skip-malformed")
    assert ok.returncode == 0 and "1 md5" in ok.stdout and "line 2" in ok.stderr
    listed = _cli("hashset", "list")
    assert listed.stdout.startswith("x ") and "known-bad" in listed.stdout


def test_cli_case_mode_types_yara_hashsets(processed_case: Case, tmp_path: Path) -> None:
    case_dir = str(processed_case.root)
    proc = _cli("scan", "yara", case_dir, "--rules", str(RULES), "--examiner", "scanner", "--max-size", "100")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("E1: 7 files, ") and "2 extension mismatches" in proc.stdout
    small = {"/" + p for p in ("www/upload.php", "eicar.com", "tools/notes.txt") if len(TREE[p]) <= 100}
    assert _paths(processed_case, yara=("php_eval_base64_webshell", "eicar_test_file", "mimikatz_strings")) == small
    warnings = [r[0] for r in processed_case.db.execute("SELECT message FROM scan_warnings")]
    assert sum("size limit 100" in w for w in warnings) == sum(len(v) > 100 for v in TREE.values())
    types = _cli("scan", "types", case_dir, "--examiner", "scanner", "--exhibit", "E1")
    assert types.returncode == 0 and "2 extension mismatches" in types.stdout
    none = _cli("scan", "hashsets", case_dir, "--examiner", "scanner")
    assert none.returncode == 2 and "no hash sets imported" in none.stderr
    good = tmp_path / "good.txt"
    good.write_text(hashlib.md5(TREE["readme.txt"]).hexdigest() + "\n")
    assert _cli("hashset", "import", "office", str(good), "--kind", "known-good").returncode == 0
    checked = _cli("scan", "hashsets", case_dir, "--examiner", "scanner")
    assert checked.returncode == 0 and "1 in office (known-good)" in checked.stdout, checked.stderr
    analyses = [e.body["details"]["analysis"] for e in processed_case.entries() if e.action == "analysed"]
    assert analyses == ["yara", "types", "hashsets"]


def test_ntfs_streams_are_scanned(corpus: Path, answers: dict) -> None:
    """Every entry with content is scanned, NTFS alternate data streams as their own entries."""
    image = corpus / "sleuthkit/sleuthkit/test/data/imageformat_mmls_1.E01"
    rules = Path(__file__).parent / "data" / "everything.yar"
    content = ContentPass(YaraScanner(compile_rules(rules)), types=False)
    with open_evidence(str(image)) as ev:
        entries = [e for e in ev.entries() if e.record.type == "file" and e.has_content]
        results = list(content.run(iter(entries)))
    assert len(results) == len(entries)
    streams = [r for r in results if r.record.stream]
    assert streams, "no NTFS alternate data stream among the scanned entries"
    for r in results:
        assert [m.rule for m in r.yara.matches] == ["any_content"], (r.record.path, r.record.stream, r.all_warnings)
        complete = r.yara.scanned_bytes == r.record.size
        assert complete or any("incomplete" in w for w in r.all_warnings), (r.record.path, r.record.stream)
