"""Load and validate SOP files: structure (the model), then every cross-reference, with lines.

``load_sop(path)`` returns a :class:`LoadedSop` or raises :class:`SopValidationError` listing
every problem as ``file:line:column: where: what``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticError

from evidencekit.sop.expr import ExprError, Expression
from evidencekit.sop.model import AttestationStep, AutomatedStep, FieldType, ReviewStep, Sop
from evidencekit.sop.registry import load_actions
from evidencekit.sop.yamlsrc import Problem, SopValidationError, Source, parse_yaml, pydantic_problems

EXHIBIT_ATTRS = ("id", "kind", "evidence_kind", "description", "path")


@dataclass(frozen=True)
class LoadedSop:
    """A validated SOP with the file it came from and that file's SHA-256 (recorded with each run)."""

    sop: Sop
    path: Path
    sha256: str


def load_sop(path: Path | str) -> LoadedSop:
    """Read, parse and validate one SOP file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SopValidationError([Problem(str(path), 1, 1, "", f"cannot read: {err.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SopValidationError([Problem(str(path), 1, 1, "", f"not UTF-8 text ({err.reason})")]) from None
    return LoadedSop(validate_text(text, str(path)), path, hashlib.sha256(raw).hexdigest())


def validate_text(text: str, name: str) -> Sop:
    """Validate SOP YAML ``text`` (``name`` is used in messages)."""
    src = parse_yaml(text, name)
    if not isinstance(src.data, dict):
        raise SopValidationError([src.problem([], "an SOP must be a mapping (schema, id, version, ...)")])
    try:
        sop = Sop.model_validate(src.data)
    except PydanticError as err:
        raise SopValidationError(pydantic_problems(src, err)) from None
    problems = cross_check(sop, src)
    if problems:
        raise SopValidationError(sorted(problems, key=lambda p: (p.line, p.column)))
    return sop


def cross_check(sop: Sop, src: Source) -> list[Problem]:
    """Everything the model cannot see alone: ids, actions, params, conditions, references."""
    problems: list[Problem] = []
    ref_ids = [r.id for r in sop.references]
    problems += _duplicates(src, ["references"], ref_ids, "reference id")
    problems += _duplicates(src, ["steps"], [s.id for s in sop.steps], "step id")
    earlier: dict[str, AutomatedStep | AttestationStep | ReviewStep] = {}
    for index, step in enumerate(sop.steps):
        loc: list[str | int] = ["steps", index]
        for j, ref in enumerate(step.references):
            if ref not in ref_ids:
                problems.append(src.problem([*loc, "references", j], f"unknown reference {ref!r} "
                                            f"(defined: {', '.join(ref_ids) or 'none'})"))
        if step.when is not None:
            problems += _check_when(src, [*loc, "when"], step.when, earlier)
        if isinstance(step, AutomatedStep):
            problems += _check_action(src, loc, step)
        elif isinstance(step, AttestationStep):
            problems += _check_fields(src, loc, step)
        else:
            problems += _check_covers(src, loc, step, earlier)
        earlier[step.id] = step
    return problems


def _duplicates(src: Source, loc: list[str | int], ids: list[str], what: str) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for index, item in enumerate(ids):
        if item in seen:
            out.append(src.problem([*loc, index, "id"], f"duplicate {what} {item!r}"))
        seen.add(item)
    return out


def _check_action(src: Source, loc: list[str | int], step: AutomatedStep) -> list[Problem]:
    actions = load_actions()
    spec = actions.get(step.action)
    if spec is None:
        return [src.problem([*loc, "action"], f"unknown action {step.action!r} "
                            f"(known: {', '.join(sorted(actions))})")]
    try:
        spec.params.model_validate(step.params)
    except PydanticError as err:
        return [src.problem([*loc, "params", *e["loc"]], _param_message(step.action, e)) for e in err.errors()]
    return []


def _param_message(action: str, item: Any) -> str:
    name = ".".join(str(p) for p in item["loc"]) or "params"
    if item["type"] == "extra_forbidden":
        return f"unknown parameter {name!r} for action {action!r}"
    if item["type"] == "missing":
        return f"missing parameter {name!r} for action {action!r}"
    return f"parameter {name!r} of action {action!r}: {item['msg']} (got {item.get('input')!r})"


def _check_fields(src: Source, loc: list[str | int], step: AttestationStep) -> list[Problem]:
    out = _duplicates(src, [*loc, "fields"], [f.id for f in step.fields], "field id")
    for j, fld in enumerate(step.fields):
        here: list[str | int] = [*loc, "fields", j]
        if fld.type is FieldType.CHOICE and not fld.choices:
            out.append(src.problem(here, f"field {fld.id!r} of type choice needs 'choices'"))
        if fld.type is not FieldType.CHOICE and fld.choices is not None:
            out.append(src.problem([*here, "choices"], f"'choices' only applies to type choice, not {fld.type}"))
        if fld.expect is not None and not _expect_fits(fld.type, fld.expect, fld.choices):
            out.append(src.problem([*here, "expect"], f"expect {fld.expect!r} does not fit field type {fld.type}"
                                   + (f" with choices {fld.choices}" if fld.choices else "")))
    return out


def _expect_fits(ftype: FieldType, expect: object, choices: list[str] | None) -> bool:
    if ftype is FieldType.BOOL:
        return isinstance(expect, bool)
    if ftype is FieldType.INT:
        return isinstance(expect, int) and not isinstance(expect, bool)
    if ftype is FieldType.CHOICE:
        return isinstance(expect, str) and expect in (choices or [])
    return False  # text and date values are facts, not checks


def _check_covers(src: Source, loc: list[str | int], step: ReviewStep, earlier: dict) -> list[Problem]:
    out = []
    for j, covered in enumerate(step.covers):
        if covered not in earlier:
            why = "is this review itself" if covered == step.id else "is not an earlier step"
            out.append(src.problem([*loc, "covers", j], f"covered step {covered!r} {why}"))
    if not step.covers and not earlier:
        out.append(src.problem(loc, "a review needs earlier steps to cover"))
    return out


def _check_when(src: Source, loc: list[str | int], text: str, earlier: dict) -> list[Problem]:
    try:
        expr = Expression(text)
    except ExprError as err:
        return [src.problem(loc, f"bad condition {text!r}: {err} at character {err.pos + 1}")]
    out = []
    for path, pos in expr.variables():
        message = _variable_problem(path, earlier)
        if message:
            out.append(src.problem(loc, f"bad condition {text!r}: {message} at character {pos + 1}"))
    return out


def _variable_problem(path: tuple[str, ...], earlier: dict) -> str | None:
    name = ".".join(path)
    if path[0] == "exhibit":
        if len(path) != 2 or path[1] not in EXHIBIT_ATTRS:
            return f"unknown {name!r} (exhibit has: {', '.join(EXHIBIT_ATTRS)})"
        return None
    step = earlier.get(path[1])
    if step is None:
        return f"{name!r} refers to {path[1]!r}, which is not an earlier step"
    if len(path) == 3 and path[2] == "result":
        return None
    if len(path) == 4 and path[2] == "values":
        if isinstance(step, AttestationStep) and path[3] not in {f.id for f in step.fields}:
            return f"step {path[1]!r} has no field {path[3]!r}"
        return None
    return f"unknown {name!r} (use steps.ID.result or steps.ID.values.NAME)"
