"""Grading: a correct sheet scores full marks, a wrong one does not, a malformed one is a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from evidencekit.cli import main
from evidencekit.errors import ValidationError
from evidencekit.training import catalog, grader


def _sheet(tmp_path: Path, answers: dict[str, Any], name: str = "answers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({k: str(v) for k, v in answers.items()}, allow_unicode=True))
    return path


@pytest.mark.parametrize("name", catalog.names())
def test_correct_sheet_scores_full_marks(name: str, keys: dict[str, dict[str, Any]], images: Path,
                                         tmp_path: Path) -> None:
    result = grader.grade(name, _sheet(tmp_path, keys[name]), images)
    assert result.total == len(catalog.texts(name).questions)
    assert result.score == result.total, [f for f in result.feedback if f.status != "correct"]


@pytest.mark.parametrize("name", catalog.names())
def test_wrong_sheet_loses_marks(name: str, keys: dict[str, dict[str, Any]], images: Path, tmp_path: Path) -> None:
    wrong = {qid: ("1999" if str(v).isdigit() else f"{v}x") for qid, v in keys[name].items()}
    result = grader.grade(name, _sheet(tmp_path, wrong), images)
    assert result.score == 0
    assert {f.status for f in result.feedback} <= {"incorrect", "malformed"}


def test_equivalent_forms_are_accepted(keys: dict[str, dict[str, Any]], images: Path, tmp_path: Path) -> None:
    usb = keys["usb-data-theft"]
    sheet = {"q3": usb["q3"].upper(), "q7": "2021-06-14T21:02:33.47+03:00", "q4": usb["q4"].upper(),
             "q9": "  contoso   FREIGHT "}
    result = {f.id: f.status for f in grader.grade("usb-data-theft", _sheet(tmp_path, sheet), images).feedback}
    assert result["q3"] == result["q7"] == result["q4"] == result["q9"] == "correct"  # FAT ignores case
    office = keys["office-workstation"]
    sheet = {"q8": "\\" + office["q8"].strip("/").replace("/", "\\"), "q9": office["q9"].replace(".0000000", "")}
    result = {f.id: f.status for f in grader.grade("office-workstation", _sheet(tmp_path, sheet), images).feedback}
    assert result == {**result, "q8": "correct", "q9": "correct"}


def test_precision_and_case_rules(keys: dict[str, dict[str, Any]], images: Path, tmp_path: Path) -> None:
    usb = keys["usb-data-theft"]
    linux = keys["linux-server"]
    # 10 ms are stored for FAT creation: whole seconds are not enough; ext4 paths are case-sensitive
    usb_fb = {f.id: f for f in grader.grade("usb-data-theft", _sheet(tmp_path, {"q7": usb["q7"][:19] + "Z"}),
                                            images).feedback}
    assert usb_fb["q7"].status == "incorrect" and "2 fractional" in usb_fb["q7"].message
    sheet = _sheet(tmp_path, {"q1": linux["q1"].upper(), "q3": linux["q3"][:-5] + "99Z"})
    fb = {f.id: f for f in grader.grade("linux-server", sheet, images).feedback}
    assert fb["q1"].status == "incorrect" and "case-sensitively" in fb["q1"].message
    assert fb["q3"].status == "incorrect"
    assert fb["q2"].status == "missing"


@pytest.mark.parametrize(("content", "fragment"), [
    ("q1: [unclosed", "not valid YAML"),
    ("- q1\n- q2\n", "must be a mapping"),
    ("q1:\n  nested: 1\n", "single value"),
    ("q99: 1\n", "unknown question id"),
])
def test_malformed_sheet_is_a_clear_error(content: str, fragment: str, images: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ValidationError, match=fragment) as err:
        grader.grade("usb-data-theft", path, images)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_malformed_values_get_feedback(images: Path, tmp_path: Path) -> None:
    sheet = _sheet(tmp_path, {"q2": "three", "q4": "not-a-hash", "q7": "yesterday"})
    fb = {f.id: f for f in grader.grade("usb-data-theft", sheet, images).feedback}
    assert fb["q2"].status == fb["q4"].status == fb["q7"].status == "malformed"
    assert "whole number" in fb["q2"].message and "ISO-8601" in fb["q7"].message


def test_feedback_in_russian(images: Path, tmp_path: Path) -> None:
    sheet = _sheet(tmp_path, {"q2": "three", "q7": "2021-06-14T18:02:33Z"})
    fb = {f.id: f for f in grader.grade("usb-data-theft", sheet, images, lang="ru").feedback}
    assert "целое число" in fb["q2"].message and "2 знаков дробной части" in fb["q7"].message
    assert fb["q1"].status == "missing" and fb["q1"].message.startswith("нет ответа")


def test_cli_exercise_and_grade(keys: dict[str, dict[str, Any]], images: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"EVIDENCEKIT_TRAINING_IMAGES": str(images)}
    ru = runner.invoke(main, ["training", "exercise", "mobile", "--lang", "ru"], env=env)
    assert ru.exit_code == 0 and "Вопросы" in ru.output
    assert all(f"**{q.id}**" in ru.output for q in catalog.texts("mobile").questions)
    assert not any(str(v) in ru.output for v in keys["mobile"].values() if len(str(v)) >= 6)
    good = runner.invoke(main, ["training", "grade", "mobile", str(_sheet(tmp_path, keys["mobile"]))], env=env)
    assert good.exit_code == 0 and "score: 9/9" in good.output
    half = dict(list(keys["mobile"].items())[:4])
    partial = runner.invoke(main, ["training", "grade", "mobile", str(_sheet(tmp_path, half, "h.yaml"))], env=env)
    assert partial.exit_code == 1 and "score: 4/9" in partial.output and "missing" in partial.output
    assert "expected:" not in partial.output
    reveal = runner.invoke(main, ["training", "grade", "mobile", str(tmp_path / "h.yaml"), "--show-expected"], env=env)
    assert f"(expected: {keys['mobile']['q9']})" in reveal.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("q1: [")
    err = runner.invoke(main, ["training", "grade", "mobile", str(bad)], env=env)
    assert err.exit_code == 2 and "evidencekit: error:" in err.output and "Traceback" not in err.output
    listing = runner.invoke(main, ["training", "list"], env=env)
    assert listing.exit_code == 0 and all(n in listing.output for n in catalog.names())
