"""Answers to manual steps: typed attestation values, review decisions, deviation justifications.

An answers file (``--answers FILE.yaml``) is checked against the SOP before anything is recorded::

    steps:
      receipt: {seal_intact: true, seal_number: "S-0412", photographs_taken: true}
      intake_review: {decision: approve, comment: "Checked against the photographs"}
    deviations:
      receipt: "Seal torn in transit; photographed; officer in charge informed"
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidencekit.sop.model import AttestationField, AttestationStep, FieldType, ReviewStep, Sop
from evidencekit.sop.yamlsrc import Problem, SopValidationError, Source, parse_yaml

DECISIONS = ("approve", "reject")
TOP_KEYS = ("sop", "steps", "deviations")


class AnswerError(ValueError):
    """An answer that does not fit its step; ``field`` names the offending key (None: the whole answer)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class Answers:
    """Answers given in advance; what is missing is asked for on a terminal (or pauses the run)."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    deviations: dict[str, str] = field(default_factory=dict)
    source: str | None = None


def coerce(fld: AttestationField, raw: Any) -> Any:
    """The value of ``raw`` as the field's type; ValueError with a plain message otherwise."""
    if fld.type is FieldType.BOOL:
        if isinstance(raw, bool):
            return raw
        raise AnswerError(f"field {fld.id!r} must be true or false (got {raw!r})", fld.id)
    if fld.type is FieldType.INT:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        raise AnswerError(f"field {fld.id!r} must be a whole number (got {raw!r})", fld.id)
    if fld.type is FieldType.DATE:
        return _date(fld, raw)
    text = str(raw).strip() if isinstance(raw, str | int | float) and not isinstance(raw, bool) else ""
    if fld.type is FieldType.CHOICE and text not in (fld.choices or []):
        raise AnswerError(f"field {fld.id!r} must be one of {', '.join(fld.choices or [])} (got {raw!r})", fld.id)
    if not text:
        raise AnswerError(f"field {fld.id!r} must be non-empty text (got {raw!r})", fld.id)
    return text


def _date(fld: AttestationField, raw: Any) -> str:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw.isoformat()
    try:
        return dt.date.fromisoformat(str(raw).strip()).isoformat()
    except ValueError:
        raise AnswerError(f"field {fld.id!r} must be a date YYYY-MM-DD (got {raw!r})", fld.id) from None


def attestation_values(step: AttestationStep, given: dict[str, Any]) -> dict[str, Any]:
    """Check a complete attestation; ValueError naming the first problem."""
    known = {f.id: f for f in step.fields}
    for name in given:
        if name not in known:
            raise AnswerError(f"step {step.id!r} has no field {name!r} (fields: {', '.join(known)})", name)
    out: dict[str, Any] = {}
    for fld in step.fields:
        raw = given.get(fld.id)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if fld.required:
                raise AnswerError(f"step {step.id!r}: required field {fld.id!r} missing")
            continue
        out[fld.id] = coerce(fld, raw)
    return out


def attestation_outcome(step: AttestationStep, values: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """(passed, message): a field with ``expect`` fails the step when its value differs. The
    message is an :mod:`evidencekit.sop.messages` ``{"key", "args"}``."""
    wrong = [{"field": f.id, "value": values.get(f.id), "expected": f.expect} for f in step.fields
             if f.expect is not None and f.id in values and values[f.id] != f.expect]
    if wrong:
        return False, {"key": "attested_wrong", "args": {"wrong": wrong}}
    return True, {"key": "attested", "args": {"given": len(values), "fields": len(step.fields)}}


def review_values(step: ReviewStep, given: dict[str, Any]) -> dict[str, Any]:
    """Check a review answer {decision: approve|reject, comment}; ValueError otherwise."""
    extra = sorted(set(given) - {"decision", "comment"})
    if extra:
        raise AnswerError(f"review {step.id!r} takes decision and comment, not {', '.join(extra)}", extra[0])
    decision = given.get("decision")
    if decision not in DECISIONS:
        raise AnswerError(f"review {step.id!r}: decision must be approve or reject (got {decision!r})",
                          "decision" if "decision" in given else None)
    comment = str(given.get("comment") or "").strip()
    if decision == "reject" and not comment:
        raise AnswerError(f"review {step.id!r}: a rejection needs a comment saying why")
    return {"decision": decision, "comment": comment}


def load_answers(path: Path | str, sop: Sop) -> Answers:
    """Read and check an answers file against ``sop``; every problem with its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SopValidationError([Problem(str(path), 1, 1, "", f"cannot read answers: {err}")]) from None
    src = parse_yaml(text, str(path))
    problems: list[Problem] = []
    data = src.data if isinstance(src.data, dict) else None
    if data is None:
        raise SopValidationError([src.problem([], "answers must be a mapping with 'steps' and 'deviations'")])
    for key in data:
        if key not in TOP_KEYS:
            problems.append(src.problem([key], f"unknown key {key!r} (expected: {', '.join(TOP_KEYS)})"))
    if "sop" in data and data["sop"] != sop.id:
        problems.append(src.problem(["sop"], f"answers are for SOP {data['sop']!r}, not {sop.id!r}"))
    answers = Answers(source=str(path))
    problems += _check_steps(src, sop, data.get("steps") or {}, answers)
    problems += _check_deviations(src, sop, data.get("deviations") or {}, answers)
    if problems:
        raise SopValidationError(sorted(problems, key=lambda p: (p.line, p.column)))
    return answers


def _check_steps(src: Source, sop: Sop, steps: Any, answers: Answers) -> list[Problem]:
    if not isinstance(steps, dict):
        return [src.problem(["steps"], "'steps' must map step ids to answers")]
    problems = []
    for step_id, given in steps.items():
        loc: list[str | int] = ["steps", step_id]
        try:
            step = sop.step(str(step_id))
        except KeyError:
            problems.append(src.problem(loc, f"unknown step {step_id!r} in SOP {sop.id}"))
            continue
        if not isinstance(given, dict):
            problems.append(src.problem(loc, f"answers of step {step_id!r} must be a mapping"))
            continue
        try:
            if isinstance(step, AttestationStep):
                answers.steps[step.id] = attestation_values(step, given)
            elif isinstance(step, ReviewStep):
                answers.steps[step.id] = review_values(step, given)
            else:
                raise AnswerError(f"step {step_id!r} is automated and takes no answers")
        except AnswerError as err:
            problems.append(src.problem([*loc, err.field] if err.field is not None else loc, str(err)))
    return problems


def _check_deviations(src: Source, sop: Sop, deviations: Any, answers: Answers) -> list[Problem]:
    if not isinstance(deviations, dict):
        return [src.problem(["deviations"], "'deviations' must map step ids to justifications")]
    problems = []
    for step_id, text in deviations.items():
        loc: list[str | int] = ["deviations", step_id]
        try:
            step = sop.step(str(step_id))
        except KeyError:
            problems.append(src.problem(loc, f"unknown step {step_id!r} in SOP {sop.id}"))
            continue
        if step.on_fail.value != "deviate":
            problems.append(src.problem(loc, f"step {step_id!r} has on_fail: stop; it cannot be deviated from"))
        elif not isinstance(text, str) or len(text.strip()) < 10:
            problems.append(src.problem(loc, "a deviation needs a written justification (at least 10 characters)"))
        else:
            answers.deviations[step.id] = text.strip()
    return problems
