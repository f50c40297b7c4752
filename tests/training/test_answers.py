"""Every question of every scenario: evidencekit finds the answer in the shipped evidence itself,
the grader accepts what it found, and it equals the trainer's key."""

from __future__ import annotations

from typing import Any

import pytest

from evidencekit.training import answers, catalog, grader

CASES = [(name, q) for name in catalog.names() for q in catalog.texts(name).questions]


@pytest.mark.parametrize(("name", "question"), CASES, ids=[f"{n}-{q.id}" for n, q in CASES])
def test_evidencekit_finds_the_answer(name: str, question: catalog.Question, found: dict[str, dict[str, Any]],
                                      keys: dict[str, dict[str, Any]], images) -> None:
    value = found[name][question.answer]
    assert value is not None, f"evidencekit found nothing for {name} {question.id}"
    stored = {q["id"]: q for q in grader.load_questions(name, images)["questions"]}[question.id]
    canon = answers.canonical(question, str(value))
    assert answers.digest(stored["salt"], canon) in stored["answer_sha256"], \
        f"{name} {question.id}: the grader rejects what evidencekit found: {value!r}"
    key = keys[name][question.id]
    assert canon == answers.canonical(question, str(key)) or str(key) in str(value), (value, key)


def test_deleted_sms_also_on_the_other_phone(found: dict[str, dict[str, Any]]) -> None:
    """The message carved on Android is live in the iPhone backup: both ends agree."""
    assert found["mobile"]["deleted_sms"] in found["mobile"]["_ios_texts"]


def test_trainee_folders_hold_no_plaintext_answers(keys: dict[str, dict[str, Any]], images) -> None:
    for name, key in keys.items():
        texts = [p.read_text(encoding="utf-8") for p in (images / name).glob("*.md")]
        texts.append((images / name / "questions.yaml").read_text(encoding="utf-8"))
        for qid, answer in key.items():
            if len(str(answer)) >= 6:
                assert not any(str(answer) in t for t in texts), f"{name} {qid}: answer readable by trainees"
