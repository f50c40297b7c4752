"""Canonical answer forms and their salted hashes: what the grader compares, never plaintext."""

from __future__ import annotations

import hashlib
import re

from evidencekit.models import iso_utc, parse_iso_utc
from evidencekit.training.catalog import Question


class AnswerFormatError(ValueError):
    """The answer cannot be read as the kind the question asks for."""


def canonical(question: Question, value: str) -> str:
    """Normalise an answer so that equal answers give equal strings."""
    value = value.strip()
    if not value:
        raise AnswerFormatError("empty answer")
    kind = question.kind
    if kind == "count":
        if not re.fullmatch(r"[+]?\d+", value):
            raise AnswerFormatError(f"expected a whole number, got '{value}'")
        return str(int(value))
    if kind == "hash":
        value = value.lower()
        if not re.fullmatch(r"[0-9a-f]{32,128}", value):
            raise AnswerFormatError("expected a hexadecimal hash")
        return value
    if kind == "time":
        return _time(value, question.digits)
    if kind == "path":
        path = "/" + re.sub(r"/+", "/", value.replace("\\", "/")).strip("/")
        return path if question.case_sensitive else path.casefold()
    text = " ".join(value.split())
    return text if question.case_sensitive else text.casefold()


def _time(value: str, digits: int) -> str:
    if not re.fullmatch(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?", value):
        raise AnswerFormatError(f"expected an ISO-8601 time like 2021-06-01T08:00:00Z, got '{value}'")
    try:
        ns = parse_iso_utc(value.replace(" ", "T", 1))
    except ValueError as err:
        raise AnswerFormatError(f"not a valid time: '{value}' ({err})") from None
    return iso_utc(ns, digits) or ""


def salt_for(scenario: str, question: Question) -> str:
    """Fixed per question so that rebuilds are byte-identical."""
    return hashlib.sha256(f"evidencekit-training:{scenario}:{question.id}".encode()).hexdigest()[:16]


def digest(salt: str, canonical_answer: str) -> str:
    return hashlib.sha256(f"{salt}:{canonical_answer}".encode()).hexdigest()
