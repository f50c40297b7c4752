"""Exercises and grading: print a briefing with its questions, score an answer sheet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.errors import ValidationError
from evidencekit.i18n import ngettext
from evidencekit.training import answers, catalog
from evidencekit.yamlsafe import YamlError, load_yaml

HINTS = {
    "en": {"text": "text as it appears in the evidence",
           "path": "absolute path from the file system root, e.g. /Folder/file.ext",
           "hash": "hexadecimal digest", "time": "ISO-8601 UTC time, e.g. 2021-06-01T08:00:00Z",
           "count": "a whole number"},
    "ru": {"text": "текст, как он записан в доказательстве",
           "path": "абсолютный путь от корня файловой системы, например /Folder/file.ext",
           "hash": "шестнадцатеричный хеш", "time": "время ISO-8601 в UTC, например 2021-06-01T08:00:00Z",
           "count": "целое число"},
}
FEEDBACK = {
    "en": {"missing": "no answer ({hint})", "malformed": "{error}; expected {hint}", "correct": "correct",
           "incorrect": "incorrect",
           "sensitive": "compared case-sensitively", "insensitive": "compared case-insensitively"},
    "ru": {"missing": "нет ответа ({hint})", "malformed": "ответ не распознан ({error}); ожидается {hint}",
           "correct": "верно", "incorrect": "неверно",
           "sensitive": "сравнение с учётом регистра", "insensitive": "сравнение без учёта регистра"},
}


LABELS = {
    "en": {"questions": "Questions",
           "text": "text", "path": "path", "hash": "hash", "time": "time", "count": "number"},
    "ru": {"questions": "Вопросы",
           "text": "текст", "path": "путь", "hash": "хеш", "time": "время", "count": "число"},
}


@dataclass(frozen=True)
class Feedback:
    id: str
    points: int
    earned: int
    status: str  # correct | incorrect | missing | malformed
    message: str


@dataclass(frozen=True)
class Result:
    scenario: str
    feedback: tuple[Feedback, ...]

    @property
    def score(self) -> int:
        return sum(f.earned for f in self.feedback)

    @property
    def total(self) -> int:
        return sum(f.points for f in self.feedback)


def load_questions(name: str, images: Path | None = None) -> dict[str, Any]:
    path = catalog.scenario_dir(name, images) / "questions.yaml"
    if not path.is_file():
        raise ValidationError("{path}: questions not found (build the scenario or pass --images)",
                              path=path)
    data = load_yaml(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(data, dict) or data.get("scenario") != name:
        raise ValidationError("{path}: not the questions of scenario {name}", path=path, name=name)
    return data


def exercise_text(name: str, lang: str = "en", images: Path | None = None) -> str:
    """Briefing followed by the numbered questions, in English or Russian."""
    if lang not in ("en", "ru"):
        raise ValidationError("unknown language '{lang}' (en or ru)", lang=lang)
    folder = catalog.scenario_dir(name, images)
    briefing = folder / f"briefing.{lang}.md"
    if not briefing.is_file():
        raise ValidationError("{briefing}: briefing not found (build the scenario or pass --images)",
                              briefing=briefing)
    words = LABELS[lang]
    lines = [briefing.read_text(encoding="utf-8").rstrip(), "", f"## {words['questions']}", ""]
    for q in load_questions(name, images)["questions"]:
        digits = ngettext("cli", lang, "{n} fractional digit", "{n} fractional digits", q.get("digits", 0))
        fmt = words[q["kind"]] + (", " + digits.format(n=q["digits"]) if q["kind"] == "time" else "")
        points = ngettext("cli", lang, "{n} pt", "{n} pts", q["points"]).format(n=q["points"])
        lines.append(f"- **{q['id']}** ({fmt}; {points}): {q[lang]}")
    return "\n".join(lines) + "\n"


def read_sheet(path: Path) -> dict[str, str]:
    """An answer sheet: a YAML mapping of question id to a scalar; all values read as text."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8"), str(path), plain_strings=True)
    except OSError as err:
        raise ValidationError("{path}: cannot read answers ({cause})", path=path, cause=err.strerror) from None
    except UnicodeDecodeError:
        raise ValidationError("{path}: answers are not UTF-8 text", path=path) from None
    except YamlError as err:
        raise ValidationError("{path}: answers are not valid YAML at line {line}: {reason}", path=path,
                              line=err.line, reason=err.reason) from None
    if isinstance(data, dict) and isinstance(data.get("answers"), dict):
        data = data["answers"]
    if not isinstance(data, dict):
        raise ValidationError("{path}: answers must be a mapping of question id to answer (q1: ...)",
                              path=path)
    bad = [str(k) for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise ValidationError("{path}: answer to {listing} must be a single value, not a list or mapping",
                              path=path, listing=', '.join(bad))
    return {str(k): v for k, v in data.items()}


def grade(name: str, sheet: Path, images: Path | None = None, lang: str = "en") -> Result:
    """Score ``sheet`` against the salted answer hashes; unknown question ids are an error.

    ``lang`` ("en" or "ru") is the language of the feedback messages.
    """
    if lang not in FEEDBACK:
        raise ValidationError("unknown language '{lang}' (en or ru)", lang=lang)
    questions = load_questions(name, images)["questions"]
    given = read_sheet(sheet)
    unknown = sorted(set(given) - {q["id"] for q in questions} - {"trainee", "name"})
    if unknown:
        raise ValidationError("{sheet}: unknown question id(s) {listing} for scenario {name}",
                              sheet=sheet, listing=', '.join(unknown), name=name)
    return Result(name, tuple(_judge(q, given.get(q["id"]), lang) for q in questions))


def _judge(raw: dict[str, Any], value: str | None, lang: str) -> Feedback:
    q = catalog.Question(id=raw["id"], kind=raw["kind"], text={}, answer="", digits=int(raw.get("digits", 0)),
                         case_sensitive=bool(raw.get("case_sensitive", False)), points=int(raw["points"]))
    words, hint = FEEDBACK[lang], HINTS[lang][q.kind]
    if value is None or not value.strip():
        return Feedback(q.id, q.points, 0, "missing", words["missing"].format(hint=hint))
    try:
        canon = answers.canonical(q, value)
    except answers.AnswerFormatError as err:
        return Feedback(q.id, q.points, 0, "malformed", words["malformed"].format(error=err, hint=hint))
    if answers.digest(raw["salt"], canon) in raw["answer_sha256"]:
        return Feedback(q.id, q.points, q.points, "correct", words["correct"])
    note = ""
    if q.kind == "time":
        note = ngettext("cli", lang, "compared in UTC to {n} fractional digit", "compared in UTC to {n} fractional digits",
                        q.digits).format(n=q.digits)
    elif q.kind == "path":
        note = words["sensitive" if q.case_sensitive else "insensitive"]
    return Feedback(q.id, q.points, 0, "incorrect", words["incorrect"] + (f" ({note})" if note else ""))
