"""Findings, questions and answers: signed ledger entries; a retraction adds, never deletes."""

from __future__ import annotations

from pathlib import Path

import pytest

from case.util import run_cli
from evidencekit.case import Case
from evidencekit.case.custody import verify_case
from evidencekit.errors import ValidationError
from evidencekit.findings import (
    add_finding,
    add_question,
    answer_question,
    findings_from_scan,
    list_findings,
    questions,
    retract_finding,
)
from evidencekit.findings.items import resolve_event, resolve_file
from findings.conftest import DROPPER, ZONE

ROOT = Path(__file__).resolve().parents[2]


def test_finding_cites_the_stored_row_and_a_retraction_adds_an_entry(ws_case: Case, examiner) -> None:
    item = resolve_file(ws_case.db, ws_case.root, "E1", path=DROPPER)
    row = ws_case.db.execute("SELECT sha256, md5, inode, deleted, mtime, locator FROM files WHERE path = ? AND stream = ''",
                             (DROPPER,)).fetchone()
    assert (item["sha256"], item["md5"], item["inode"], item["deleted"], item["times"]["mtime"]) == \
        (row[0], row[1], row[2], True, row[4])
    f1 = add_finding(ws_case, examiner, "E1", item, "Deleted dropper", ("malware",))
    f2 = add_finding(ws_case, examiner, "E1", resolve_file(ws_case.db, ws_case.root, "E1", path=ZONE), "Mark of the web")
    assert (f1.id, f2.id) == ("F1", "F2") and f2.item["stream"] == "Zone.Identifier"
    n = len(ws_case.entries())
    retract_finding(ws_case, examiner, "F2", "duplicate of the archive's own entry")
    entries = ws_case.entries()
    assert len(entries) == n + 1 and entries[-1].action == "retracted"
    assert [e.action for e in entries].count("finding") == 2  # nothing deleted
    listed = {f.id: f for f in list_findings(ws_case)}
    assert listed["F1"].active and not listed["F2"].active and listed["F2"].retracted["reason"].startswith("duplicate")
    with pytest.raises(ValidationError, match="already retracted"):
        retract_finding(ws_case, examiner, "F2", "again")
    assert verify_case(ws_case).ok


def test_by_inode_and_by_event(ws_case: Case, examiner) -> None:
    from evidencekit.pipeline.timeline import build

    assert resolve_file(ws_case.db, ws_case.root, "E1", inode=81)["path"] == DROPPER
    build(ws_case, examiner, ["E1"], artifacts="none")
    event_id = ws_case.db.execute("SELECT e.id FROM timeline_events e JOIN files f ON f.id = e.entry "
                                  "WHERE f.path = ? LIMIT 1", (DROPPER,)).fetchone()[0]
    item = resolve_event(ws_case.db, ws_case.root, "E1", event_id)
    assert item["path"] == DROPPER and item["sha256"].startswith("0f774eec")
    with pytest.raises(ValidationError, match="no timeline event"):
        resolve_event(ws_case.db, ws_case.root, "E1", 10**9)


def test_findings_from_a_yara_scan(tmp_path: Path, examiner) -> None:
    from evidencekit.pipeline.intake import add_exhibit
    from evidencekit.pipeline.processing import process_exhibit

    server = ROOT / "training_images" / "linux-server"
    case = Case.init(tmp_path / "c", number="1", title="t", authority="a", examiner=examiner)
    add_exhibit(case, server / "server.img.gz", "E4", examiner)
    process_exhibit(case, "E4", examiner)
    run_cli("scan", "yara", str(case.root), "--rules", str(server / "webshell.yar"), "--exhibit", "E4",
            env={"EVIDENCEKIT_EXAMINER": "alice"}, check=True)
    made = findings_from_scan(case, examiner, "E4", "yara", None, None)
    assert [f.item["path"] for f in made] == ["/var/www/html/uploads/avatar_5512.php"]
    assert made[0].source == {"kind": "scan", "scan": "yara", "hit": "php_webshell_request_exec"}
    assert findings_from_scan(case, examiner, "E4", "yara", None, None) == []  # already cited


def test_questions_and_answers(ws_case: Case, examiner) -> None:
    add_question(ws_case, examiner, "Was a program deleted?")
    add_question(ws_case, examiner, "From where was it downloaded?")
    f1 = add_finding(ws_case, examiner, "E1", resolve_file(ws_case.db, ws_case.root, "E1", path=DROPPER), "dropper")
    answer_question(ws_case, examiner, 1, "Yes, at first glance", (f1.id,))
    answer_question(ws_case, examiner, 1, "Yes: Invoice_7731.pdf.exe", ("f1",))
    qs = questions(ws_case)
    assert [q.number for q in qs] == [1, 2]
    assert qs[0].answer["text"] == "Yes: Invoice_7731.pdf.exe" and len(qs[0].history) == 2 and qs[1].answer is None
    with pytest.raises(ValidationError, match="no question 3"):
        answer_question(ws_case, examiner, 3, "x")
    with pytest.raises(ValidationError, match="F9"):
        answer_question(ws_case, examiner, 2, "x", ("F9",))


def test_cli(ws_case: Case) -> None:
    env = {"EVIDENCEKIT_EXAMINER": "alice"}
    c = str(ws_case.root)
    proc = run_cli("finding", "add", c, "--exhibit", "E1", "--path", "/nope.txt", "--note", "x", env=env)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "/nope.txt" in proc.stderr and not proc.stdout
    run_cli("finding", "add", c, "--exhibit", "E1", "--path", DROPPER, "--note", "Deleted dropper", "--tag", "malware",
            env=env, check=True)
    csv_out = run_cli("finding", "list", c, "--format", "csv", check=True).stdout
    assert "F1,active,E1,file," + DROPPER in csv_out and "0f774eec" in csv_out
    run_cli("finding", "retract", c, "F1", "--reason", "wrong exhibit", env=env, check=True)
    assert "F1\tretracted" in run_cli("finding", "list", c, check=True).stdout
    run_cli("case", "question", "add", c, "Was malware present?", env=env, check=True)
    run_cli("case", "answer", c, "1", "No finding stands.", env=env, check=True)
    assert "-> No finding stands." in run_cli("case", "question", "list", c, check=True).stdout


def test_findings_from_known_bad_hits(ws_case: Case, tmp_path: Path) -> None:
    env = {"EVIDENCEKIT_EXAMINER": "alice"}
    sha = ws_case.db.execute("SELECT sha256 FROM files WHERE path = ? AND stream = ''", (DROPPER,)).fetchone()[0]
    (tmp_path / "bad.txt").write_text(sha + "\n")
    run_cli("hashset", "import", "lab-bad", str(tmp_path / "bad.txt"), "--kind", "known-bad", env=env, check=True)
    run_cli("scan", "hashsets", str(ws_case.root), "--set", "lab-bad", env=env, check=True)
    proc = run_cli("finding", "add", str(ws_case.root), "--exhibit", "E1", "--from-scan", "known-bad", env=env, check=True)
    assert proc.stdout.startswith("F1\t" + DROPPER) and "known-bad hash set lab-bad matched" in proc.stdout
    (f1,) = list_findings(ws_case)
    assert f1.item["sha256"] == sha and f1.source == {"kind": "scan", "scan": "known-bad", "hit": "lab-bad"}
    again = run_cli("finding", "add", str(ws_case.root), "--exhibit", "E1", "--from-scan", "known-bad", env=env, check=True)
    assert "no new findings" in again.stdout
