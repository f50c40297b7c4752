"""The sop commands: validate, list, show, actions, run (exit codes, answers files), status formats."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from evidencekit.case import Case
from evidencekit.cli import main
from evidencekit.cli.sop import sop_group
from evidencekit.sop.library import SHIPPED, find_sop
from sop.answers import author_answers, reviewer_answers


def _ek(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_every_command_and_option_has_help() -> None:
    for name, cmd in sop_group.commands.items():
        assert cmd.help, name
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.name}"


def test_validate_reports_each_problem_with_its_line(tmp_path: Path) -> None:
    good = str(SHIPPED / "disk-image-intake.yaml")
    text = (SHIPPED / "disk-image-intake.yaml").read_text()
    structure = tmp_path / "structure.yaml"
    structure.write_text(text.replace("    on_fail: deviate\n", "    on_fail: carry_on\n", 1))
    refs = tmp_path / "refs.yaml"
    refs.write_text(text.replace("action: verify_hash", "action: verify_hsh").replace("[iso27037-6.1,", "[iso-6.1,", 1))
    code, out, err = _ek("sop", "validate", good, str(structure), str(refs))
    assert code == 2 and f"{good}: ok (disk-image-intake 1.0, 6 steps)" in out
    lines = err.splitlines()
    line_of = {needle: text[: text.index(needle)].count("\n") + 1
               for needle in ("    on_fail: deviate", "action: verify_hash", "[iso27037-6.1,")}
    assert lines[0].startswith(f"{structure}:{line_of['    on_fail: deviate']}:14: steps[0].on_fail: ")
    assert "carry_on" in lines[0]
    assert lines[1].startswith(f"{refs}:{line_of['[iso27037-6.1,']}:") and "unknown reference 'iso-6.1'" in lines[1]
    assert lines[2].startswith(f"{refs}:{line_of['action: verify_hash']}:13: steps[2].action: unknown action 'verify_hsh'")
    assert lines[-1] == "evidencekit: error: 2 of 3 SOP file(s) invalid"


def test_malformed_yaml_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("id: x\nsteps: [\n  - a\n")
    code, _, err = _ek("sop", "validate", str(bad))
    assert code == 2 and f"{bad}:" in err and "malformed YAML" in err and "Traceback" not in err


def test_list_show_actions() -> None:
    code, out, _ = _ek("sop", "list", "--lang", "ru")
    assert code == 0 and "Приём и проверка криминалистического образа диска" in out
    code, out, _ = _ek("sop", "show", "malware-triage", "--lang", "ru")
    assert code == 0 and "[yara] Проверка правилами YARA (action yara_scan; on_fail: stop)" in out
    assert "when: steps.hashset.values.matches > 0 or steps.yara.values.matches > 0" in out
    code, out, _ = _ek("sop", "show", "disk-image-intake", "--format", "json")
    data = json.loads(out)
    assert data["id"] == "disk-image-intake" and data["sha256"] == find_sop("disk-image-intake").sha256
    code, out, _ = _ek("sop", "actions")
    for name in ("verify_hash", "inventory", "timeline", "export_timeline", "yara_scan", "hashset_match",
                 "custody_export"):
        assert name in out


def test_run_pause_review_and_status(case_e1: Case, alice, bob, tmp_path: Path) -> None:
    root = str(case_e1.root)
    first = tmp_path / "author.yaml"
    first.write_text(yaml.safe_dump(author_answers(find_sop("disk-image-intake").sop)))
    code, out, _err = _ek("sop", "run", root, "disk-image-intake", "--exhibit", "E1", "--answers", str(first),
                       "--examiner", "alice")
    assert code == 3 and "paused: review intake_review needs an examiner other than alice" in out, (out, _err)
    loaded = find_sop("disk-image-intake")
    second = tmp_path / "review.yaml"
    second.write_text(yaml.safe_dump({"sop": "disk-image-intake",
                                      "steps": {"intake_review": reviewer_answers(loaded.sop)["steps"]["intake_review"]}}))
    code, _, err = _ek("sop", "run", root, "disk-image-intake", "--exhibit", "E1", "--answers", str(second),
                       "--examiner", "alice")
    assert code == 2 and "a review by the same examiner is refused" in err
    code, out, _ = _ek("sop", "run", root, "disk-image-intake", "--exhibit", "E1", "--answers", str(second),
                       "--examiner", "bob")
    assert code == 0 and "completed: disk-image-intake completed on E1" in out

    code, out, _ = _ek("sop", "status", root, "--exhibit", "E1", "--format", "json")
    doc = json.loads(out)
    (checklist,) = doc["checklists"]
    assert doc["zone"] == "UTC" and checklist["status"] == "completed" and checklist["verdict"] == "by_the_book"
    assert [r["status"] for r in checklist["rows"]] == ["passed"] * 6
    assert checklist["rows"][-1]["by"] == "bob" and checklist["sop"]["pinned_copy_intact"] is True
    code, out, _ = _ek("sop", "status", root, "--format", "md", "--lang", "ru")
    assert "| 6 | Проверка приёмки вторым экспертом | выполнено | bob |" in out
    # step summaries in Russian too (the ledger keeps the English one and the message it came from)
    assert "проверено: эталонных хешей совпало: 1 (sha256); без изменений с момента приёма" in out
    assert "журнал из " in out and "записей проверен; пакет exports/custody-E1-" in out
    assert "утверждено, проверяющий bob" in out and "verified: 1 reference hash(es) match" not in out
    assert [r["summary"] for r in checklist["rows"]][2] == "verified: 1 reference hash(es) match (sha256); " \
        "unchanged since intake"
    html = tmp_path / "checklist.html"
    code, _, _ = _ek("sop", "status", root, "--format", "html", "-o", str(html))
    text = html.read_text()
    assert code == 0 and "Four-eyes check of the intake" in text and "ISO/IEC 27037:2012" in text
    code, out, _ = _ek("sop", "status", root)
    assert code == 0 and "Receipt and" in out and "intake" in out


def test_run_with_bad_answers_names_the_line(case_e1: Case, alice, tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text("steps:\n  receipt:\n    seal_intact: true\n    photographs: true\n")
    code, _, err = _ek("sop", "run", str(case_e1.root), "disk-image-intake", "--exhibit", "E1",
                       "--answers", str(answers), "--examiner", "alice")
    assert code == 2 and f"{answers}:4:" in err and "has no field 'photographs'" in err
    assert not any("sop_event" in (e.body.get("details") or {}) for e in case_e1.entries())


@pytest.mark.parametrize("args,fragment", [
    (["nosuch-sop"], "SOP 'nosuch-sop' not found"),
    (["disk-image-intake", "--exhibit-kind", "floppy"], "exhibit kind 'floppy'"),
])
def test_run_errors(case_e1: Case, alice, args: list[str], fragment: str) -> None:
    code, _, err = _ek("sop", "run", str(case_e1.root), args[0], "--exhibit", "E1", *args[1:], "--examiner", "alice")
    assert code == 2 and fragment in err
