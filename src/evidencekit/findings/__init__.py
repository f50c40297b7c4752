"""The end of an examination: findings, the case's questions and answers, and files extracted
from exhibits. Everything is recorded through the case store's custody ledger; the case store
never imports this package."""

from __future__ import annotations

from evidencekit.findings.record import (
    Finding,
    Question,
    add_finding,
    add_question,
    answer_question,
    findings_from_scan,
    list_findings,
    questions,
    retract_finding,
)

__all__ = ["Finding", "Question", "add_finding", "add_question", "answer_question", "findings_from_scan",
           "list_findings", "questions", "retract_finding"]
