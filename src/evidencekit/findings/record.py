"""Findings, the case's questions and the examiner's answers: each a signed custody entry.

Nothing here has a table of its own: the ledger *is* the record. A finding is a ``finding``
entry citing its item; a retraction is a later ``retracted`` entry naming it (the finding stays
in the ledger, marked retracted); a question is a ``question`` entry, an answer an ``answered``
entry (a later answer to the same question replaces the earlier one in the report, and both stay
in the ledger). Numbers (F1, F2, ...; questions 1, 2, ...) are given inside the write
transaction, so two examiners adding at once get different numbers.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from evidencekit.case.examiners import Examiner
from evidencekit.case.store import Case
from evidencekit.errors import ValidationError
from evidencekit.findings import items


@dataclass
class Finding:
    id: str
    seq: int
    time_ns: int
    examiner: str
    exhibit: str
    note: str
    tags: list[str]
    item: dict[str, Any]
    source: dict[str, Any]
    retracted: dict[str, Any] | None = None  # {"seq", "examiner", "reason", "time_ns"} once retracted

    @property
    def active(self) -> bool:
        return self.retracted is None


@dataclass
class Question:
    number: int
    text: str
    seq: int
    answer: dict[str, Any] | None = None  # the latest {"text", "seq", "examiner", "time_ns", "findings"}
    history: list[dict[str, Any]] = field(default_factory=list)


def _details(db: sqlite3.Connection, action: str) -> list[tuple[int, int, str, str | None, dict[str, Any]]]:
    rows = db.execute("SELECT seq, time_ns, examiner, exhibit, body FROM ledger WHERE action = ? ORDER BY seq",
                      (action,)).fetchall()
    return [(seq, t, who, ex, json.loads(body).get("details") or {}) for seq, t, who, ex, body in rows]


def _text(value: str, what: str) -> str:
    if not value or not value.strip():
        raise ValidationError("{what} must not be empty", what=what)
    return value.strip()


def add_finding(case: Case, examiner: Examiner, exhibit: str, item: dict[str, Any], note: str,
                tags: tuple[str, ...] = (), source: dict[str, Any] | None = None) -> Finding:
    """Record one finding on ``item`` (from :mod:`evidencekit.findings.items`)."""
    details = {"note": _text(note, "a finding's --note"), "tags": sorted({t.strip() for t in tags if t.strip()}),
               "item": item, "source": source or {"kind": "manual"}}
    with case.run("finding", examiner=examiner, exhibit=exhibit, details=details) as act:
        n = act.db.execute("SELECT count(*) FROM ledger WHERE action = 'finding'").fetchone()[0]
        act.details = {"finding": f"F{n + 1}", **details}
    assert act.entry is not None
    return next(f for f in list_findings(case) if f.seq == act.entry.seq)


def findings_from_scan(case: Case, examiner: Examiner, exhibit: str, kind: str, rule: str | None,
                       note: str | None, tags: tuple[str, ...] = ()) -> list[Finding]:
    """One finding per file a stored scan flagged; files an active finding of the same hit cites are skipped."""
    case.exhibit(exhibit)
    cited = {(f.item.get("sha256"), json.dumps(f.item.get("locator"), sort_keys=True), f.source.get("hit"))
             for f in list_findings(case) if f.active and f.exhibit == exhibit}
    out = []
    for row, hit in items.scan_hits(case.db, exhibit, kind, rule):
        item = items.file_item(row, exhibit)
        if (item.get("sha256"), json.dumps(item["locator"], sort_keys=True), hit) in cited:
            continue
        label = "YARA rule" if kind == "yara" else "known-bad hash set"
        text = note or f"{label} {hit} matched"
        out.append(add_finding(case, examiner, exhibit, item, text, (*tags, kind),
                               {"kind": "scan", "scan": kind, "hit": hit}))
    if not out and not items.scan_hits(case.db, exhibit, kind, rule):
        raise ValidationError(f"{case.root}: exhibit {exhibit}: no stored {kind} hits"
                              + (f" for rule {rule}" if rule else "") + " (run 'evidencekit scan' first)")
    return out


def retract_finding(case: Case, examiner: Examiner, finding_id: str, reason: str) -> Finding:
    """Mark a finding retracted by a new entry; the finding's own entry stays."""
    reason = _text(reason, "a retraction's --reason")
    found = {f.id: f for f in list_findings(case)}
    target = found.get(finding_id.upper())
    if target is None:
        raise ValidationError("{root}: no finding {finding_id!r} (see 'evidencekit finding list')",
                              root=case.root, finding_id=finding_id)
    if target.retracted is not None:
        raise ValidationError("{root}: finding {finding} was already retracted (entry {seq})", root=case.root,
                              finding=target.id, seq=target.retracted["seq"])
    with case.run("retracted", examiner=examiner, exhibit=target.exhibit,
                     details={"finding": target.id, "reason": reason}, inputs={"finding_entry": target.seq}):
        pass
    return {f.id: f for f in list_findings(case)}[target.id]


def list_findings(case: Case, include_retracted: bool = True) -> list[Finding]:
    """Every finding in the order recorded, with its retraction if any."""
    out: dict[str, Finding] = {}
    for seq, t, who, exhibit, d in _details(case.db, "finding"):
        out[d["finding"]] = Finding(d["finding"], seq, t, who, exhibit or "", d.get("note", ""),
                                    list(d.get("tags", [])), d.get("item", {}), d.get("source", {}))
    for seq, t, who, _ex, d in _details(case.db, "retracted"):
        target = out.get(d.get("finding", ""))
        if target is not None and target.retracted is None:
            target.retracted = {"seq": seq, "examiner": who, "reason": d.get("reason", ""), "time_ns": t}
    return [f for f in out.values() if include_retracted or f.active]


def add_question(case: Case, examiner: Examiner, text: str) -> Question:
    """A question the ordering authority put, numbered in the order added."""
    text = _text(text, "a question")
    with case.run("question", examiner=examiner, details={"text": text}) as act:
        n = act.db.execute("SELECT count(*) FROM ledger WHERE action = 'question'").fetchone()[0]
        act.details = {"question": n + 1, "text": text}
    return questions(case)[-1]


def answer_question(case: Case, examiner: Examiner, number: int, text: str,
                    finding_ids: tuple[str, ...] = ()) -> Question:
    """The examiner's answer to question ``number``; cited findings must exist and be active."""
    text = _text(text, "an answer")
    known = {q.number: q for q in questions(case)}
    if number not in known:
        raise ValidationError("{root}: no question {number} (add it with 'evidencekit case question add')",
                              root=case.root, number=number)
    active = {f.id for f in list_findings(case, include_retracted=False)}
    cited = [f.upper() for f in finding_ids]
    for fid in cited:
        if fid not in active:
            raise ValidationError("{root}: answer cites finding {fid}, which does not exist or was "
                                  "retracted", root=case.root, fid=fid)
    with case.run("answered", examiner=examiner, details={"question": number, "text": text, "findings": cited}):
        pass
    return {q.number: q for q in questions(case)}[number]


def questions(case: Case) -> list[Question]:
    """The questions in order, each with its latest answer and every earlier one."""
    out: dict[int, Question] = {}
    for seq, _t, _who, _ex, d in _details(case.db, "question"):
        out[int(d["question"])] = Question(int(d["question"]), d.get("text", ""), seq)
    for seq, t, who, _ex, d in _details(case.db, "answered"):
        q = out.get(int(d.get("question", 0)))
        if q is not None:
            q.answer = {"text": d.get("text", ""), "seq": seq, "examiner": who, "time_ns": t,
                        "findings": list(d.get("findings", []))}
            q.history.append(q.answer)
    return list(out.values())
