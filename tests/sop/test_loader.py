"""SOP loading and validation: every shipped SOP is valid; every kind of bad input is named with its line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from evidencekit.sop import SopValidationError, json_schema, load_sop, validate_text
from evidencekit.sop.library import SHIPPED, find_sop, list_sops

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_FILES = sorted(SHIPPED.glob("*.yaml"))

GOOD = """\
schema: evidencekit-sop/1
id: tiny
version: "1.0"
title: {en: Tiny, ru: Малая}
purpose: {en: Test, ru: Тест}
scope: [disk_image]
references:
  - {id: acpo-p1, title: ACPO, section: Principle 1}
steps:
  - id: seal
    kind: attestation
    title: {en: Seal, ru: Пломба}
    instructions: {en: Look, ru: Смотреть}
    references: [acpo-p1]
    fields:
      - {id: intact, type: bool, expect: true, label: {en: Intact, ru: Цела}}
      - {id: colour, type: choice, choices: [red, blue], label: {en: Colour, ru: Цвет}}
  - id: verify
    kind: automated
    title: {en: Verify, ru: Проверка}
    instructions: {en: Hash, ru: Хеш}
    action: verify_hash
    params: {require_reference: true}
    when: steps.seal.values.intact == true and exhibit.kind in [disk_image, storage_media]
  - id: check
    kind: review
    title: {en: Check, ru: Проверка}
    instructions: {en: Sign, ru: Подписать}
    covers: [seal, verify]
"""


def _problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(SopValidationError) as info:
        validate_text(text, "x.yaml")
    return [(p.line, p.message) for p in info.value.problems]


def _line(text: str, fragment: str) -> int:
    """1-based line of the first occurrence of ``fragment`` (what the error must point at)."""
    return text[: text.index(fragment)].count("\n") + 1


def _replace(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def test_good_sop_loads() -> None:
    sop = validate_text(GOOD, "x.yaml")
    assert [s.id for s in sop.steps] == ["seal", "verify", "check"]
    assert sop.title.get("ru") == "Малая" and sop.title.get("de") == "Tiny"


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.stem)
def test_shipped_sop_validates(path: Path) -> None:
    loaded = load_sop(path)
    assert loaded.sop.id == path.stem
    data = yaml.safe_load(path.read_text())
    data["effective"] = str(data.get("effective")) if "effective" in data else None
    if data["effective"] is None:
        del data["effective"]
    jsonschema.validate(data, json_schema())  # the published schema accepts what the model accepts


def test_library_has_the_required_procedures() -> None:
    ids = {loaded.sop.id for loaded in list_sops([SHIPPED])[0]}
    assert {"disk-image-intake", "storage-media-examination", "mobile-extraction-processing",
            "malware-triage", "report-peer-review"} <= ids
    for loaded in list_sops([SHIPPED])[0]:
        cited = {ref for step in loaded.sop.steps for ref in step.references}
        assert cited, f"{loaded.sop.id} cites no references"
        titles = " ".join(r.title for r in loaded.sop.references)
        assert "ACPO" in titles, loaded.sop.id


def test_published_schema_is_up_to_date() -> None:
    published = json.loads((ROOT / "docs" / "sop-schema.json").read_text())
    assert published == json_schema(), "regenerate: python -m evidencekit.sop.schema > docs/sop-schema.json"


def test_find_sop_by_id_and_path(tmp_path: Path) -> None:
    assert find_sop("malware-triage", [SHIPPED]).sop.id == "malware-triage"
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD)
    assert find_sop(str(path)).sop.id == "tiny"
    with pytest.raises(Exception, match="'nope' not found"):
        find_sop("nope", [SHIPPED])


def test_malformed_yaml_names_line() -> None:
    assert _problems(GOOD.replace("scope: [disk_image]", "scope: [disk_image")) [0][0] in (6, 7)
    (line, msg), = _problems("id: a\n  b: [\n")
    assert "malformed YAML" in msg and line == 2


def test_missing_field() -> None:
    assert _problems(_replace("purpose: {en: Test, ru: Тест}\n", "")) == [(1, "missing required field 'purpose'")]


def test_missing_language() -> None:
    assert _problems(_replace("title: {en: Tiny, ru: Малая}", "title: {en: Tiny}")) == [
        (4, "missing required field 'ru'")]


def test_wrong_type() -> None:
    (line, msg), = _problems(_replace('version: "1.0"', "version: 1.0"))
    assert line == 3 and "valid string" in msg and "1.0" in msg


def test_unknown_field() -> None:
    text = _replace("    action: verify_hash\n", "    action: verify_hash\n    colour: red\n")
    assert _problems(text) == [(_line(text, "colour: red"), "unknown field 'colour'")]


def test_unknown_step_kind() -> None:
    text = _replace("kind: review", "kind: reveiw")
    (line, msg), = _problems(text)
    assert line == _line(text, "reveiw") and "unknown step kind 'reveiw'" in msg


def test_unknown_action() -> None:
    (line, msg), = _problems(_replace("action: verify_hash", "action: verfy_hash"))
    assert line == 22 and "unknown action 'verfy_hash'" in msg and "verify_hash" in msg


def test_unknown_action_parameter() -> None:
    (line, msg), = _problems(_replace("{require_reference: true}", "{require_refrence: true}"))
    assert line == 23 and "unknown parameter 'require_refrence'" in msg


def test_bad_when_expression() -> None:
    (line, msg), = _problems(_replace("when: steps.seal.values.intact == true", "when: steps.seal.values.intact = true"))
    assert line == 24 and "unexpected character '='" in msg


def test_when_on_a_later_step_or_unknown_field() -> None:
    (_, msg), = _problems(_replace("steps.seal.values.intact == true", "steps.check.result == passed"))
    assert "'check', which is not an earlier step" in msg
    (_, msg), = _problems(_replace("steps.seal.values.intact == true", "steps.seal.values.intakt == true"))
    assert "no field 'intakt'" in msg


def test_cross_reference_problems_all_reported() -> None:
    text = _replace("references: [acpo-p1]", "references: [iso27037]")
    text = text.replace("covers: [seal, verify]", "covers: [seal, later]")
    text = text.replace("choices: [red, blue], ", "")
    problems = _problems(text)
    assert [p[0] for p in problems] == [_line(text, "iso27037"), _line(text, "- {id: colour"), _line(text, "later")]
    assert "unknown reference 'iso27037'" in problems[0][1]
    assert "needs 'choices'" in problems[1][1]
    assert "'later' is not an earlier step" in problems[2][1]


def test_expect_must_fit_type() -> None:
    (line, msg), = _problems(_replace("expect: true", 'expect: "yes"'))
    assert line == 16 and "does not fit field type bool" in msg


def test_duplicate_keys_and_ids() -> None:
    (line, msg), = _problems(_replace('id: tiny\n', 'id: tiny\nid: tiny2\n'))
    assert (line, msg) == (3, "duplicate key 'id'")
    text = _replace("- id: check", "- id: seal")
    (line, msg), = _problems(text)
    assert line == _line(text, "- id: seal\n    kind: review") and "duplicate step id 'seal'" in msg


def test_error_message_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(_replace("action: verify_hash", "action: nope"))
    with pytest.raises(SopValidationError, match=r"bad\.yaml:22:13: steps\[1\]\.action: unknown action 'nope'"):
        load_sop(path)


def test_not_a_mapping_and_empty() -> None:
    assert _problems("- a\n- b\n")[0][1].startswith("an SOP must be a mapping")
    assert _problems("")[0][1] == "empty file"
