"""What the report says, gathered from the case: plain dicts for the template, in no language.

Everything comes from the case store and its signed ledger (findings, questions and answers,
verifications, SOP runs, extractions): the report states nothing the ledger does not hold.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from evidencekit.case import custody
from evidencekit.case.ledger import LedgerEntry as Entry
from evidencekit.case.store import Case, Exhibit
from evidencekit.findings import list_findings, questions
from evidencekit.findings.items import item_time
from evidencekit.report import methods
from evidencekit.sop.state import DONE, load_runs
from evidencekit.timeline import store as timeline_store

EXCERPT_WINDOW_NS = 3600 * 10**9  # events within an hour either side of a finding
EXCERPT_LIMIT = 10
REVIEW_SOP = "report-peer-review"  # runs on the report itself: an open run does not make it a draft


def gather(case: Case) -> dict[str, Any]:
    """The report's content as of now (the ledger head it cites is the current one)."""
    entries = case.entries()
    exhibits = case.exhibits()
    people = _examiners(case, entries)
    runs = load_runs(entries)
    found = list_findings(case)
    asked = questions(case)
    verification = custody.verify_case(case)
    data: dict[str, Any] = {
        "case": dict(case.meta),
        "examiners": people,
        "questions": [{"number": q.number, "text": q.text, "answer": q.answer} for q in asked],
        "exhibits": [_exhibit(ex, entries) for ex in exhibits],
        "steps": methods.steps(entries),
        "tools": methods.tools(entries),
        "sops": [_run(r) for r in runs],
        "deviations": methods.deviations(entries),
        "findings": [_finding(case, f) for f in found if f.active],
        "retracted": [_finding(case, f, excerpt=False) for f in found if not f.active],
        "extractions": _extractions(entries),
        "custody": _custody(case, entries, people, verification),
    }
    data["missing"] = missing(exhibits, runs, asked, verification.ok)
    return data


def missing(exhibits: list[Exhibit], runs: list[Any], asked: list[Any], custody_ok: bool) -> list[dict[str, Any]]:
    """Why the report is a draft (empty: final), as catalogue keys with arguments."""
    out: list[dict[str, Any]] = []
    for ex in exhibits:
        if ex.status != "processed":
            out.append({"key": "exhibit_unprocessed", "exhibit": ex.id, "status": ex.status})
    for run in runs:
        if run.sop_id == REVIEW_SOP or run.status == "completed":
            continue
        open_steps = [s.id for s in run.steps.values() if s.status not in DONE]
        out.append({"key": "sop_open" if run.status == "open" else "sop_stopped", "sop": run.sop_id,
                    "version": run.version, "exhibit": run.exhibit, "steps": ", ".join(open_steps) or "-"})
    for q in asked:
        if q.answer is None:
            out.append({"key": "question_unanswered", "number": q.number})
    if not custody_ok:
        out.append({"key": "custody_broken"})
    return out


def _examiners(case: Case, entries: list[Entry]) -> list[dict[str, Any]]:
    signed: dict[str, int] = {}
    for e in entries:
        signed[e.examiner] = signed.get(e.examiner, 0) + 1
        for other in e.cosignatures:
            signed[other] = signed.get(other, 0) + 1
    rows = case.db.execute("SELECT id, name, fingerprint FROM examiners ORDER BY added_ns, id").fetchall()
    return [{"id": i, "name": n, "fingerprint": fp, "entries": signed.get(i, 0)} for i, n, fp in rows]


def _exhibit(ex: Exhibit, entries: list[Entry]) -> dict[str, Any]:
    mine = [e for e in entries if e.exhibit == ex.id]
    received = next((e for e in mine if e.action == "received"), None)
    checks = []
    for e in mine:
        d = e.body.get("details", {})
        if e.action == "received":
            checks.append({"seq": e.seq, "time": e.time_ns, "phase": "intake", "result": d.get("acquisition_check")})
        elif e.action == "verified":
            checks.append({"seq": e.seq, "time": e.time_ns, "phase": d.get("phase", "sop"),
                           "result": d.get("result") or d.get("status")})
        elif e.action == "processed":
            after = (d.get("integrity") or {}).get("after")
            checks.append({"seq": e.seq, "time": e.time_ns, "phase": "after", "result": after})
    return {
        "id": ex.id, "description": ex.description, "seal": ex.seal, "seized_from": ex.seized_from,
        "seized_at": ex.seized_at, "seized_on": ex.seized_on, "received_from": ex.received_from,
        "path": ex.path, "kind": ex.kind, "format_chain": " → ".join(ex.format_chain), "media_size": ex.media_size,
        "hashes": ex.hashes, "acquisition": f"{ex.acquisition_alg}:{ex.acquisition_hash}" if ex.acquisition_hash else None,
        "segment_files": ex.segment_files, "status": ex.status, "received_seq": received.seq if received else None,
        "received_time": received.time_ns if received else ex.added_ns, "checks": checks,
    }


def _run(run: Any) -> dict[str, Any]:
    return {"sop": run.sop_id, "version": run.version, "sha256": run.sha256, "exhibit": run.exhibit,
            "status": run.status, "started_by": run.started_by, "started": run.started_at, "finished": run.finished_at,
            "title": run.title, "steps": [{"id": s.id, "status": s.status, "by": s.by, "summary": s.summary,
                                           "justification": s.justification} for s in run.steps.values()]}


def _finding(case: Case, f: Any, excerpt: bool = True) -> dict[str, Any]:
    when = item_time(f.item)
    return {"id": f.id, "seq": f.seq, "time": f.time_ns, "examiner": f.examiner, "exhibit": f.exhibit,
            "note": f.note, "tags": f.tags, "item": f.item, "source": f.source, "retracted": f.retracted,
            "item_time": when, "excerpt": _excerpt(case, f.exhibit, when, f.item) if excerpt and when else []}


def _excerpt(case: Case, exhibit: str, when: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of other entries of the same exhibit nearest in time to ``when``, and the finding's own place."""
    q = timeline_store.Query(start=when - EXCERPT_WINDOW_NS, end=when + EXCERPT_WINDOW_NS + 1, exhibit=exhibit)
    try:
        events = [ev for ev in timeline_store.query(case.db, q) if ev.path != item.get("path")]
    except sqlite3.Error:  # no timeline tables: no excerpt
        return []
    events.sort(key=lambda ev: abs(ev.time - when))
    near = sorted(events[:EXCERPT_LIMIT], key=lambda ev: (ev.time, ev.id or 0))
    rows: list[dict[str, Any]] = [{"time": ev.time, "digits": ev.time_digits, "desc": ev.timestamp_desc, "attribute": _attr(ev.attribute),
             "source": ev.parser if ev.source != "fs" else "fs", "path": ev.path, "message": ev.message,
             "finding": False} for ev in near]
    mark = {"time": when, "digits": item.get("time_digits", 9), "path": item.get("path"), "finding": True}
    place = next((i for i, ev in enumerate(near) if ev.time > when), len(near))
    return rows[:place] + [mark] + rows[place:] if rows else []


def _attr(attribute: str | None) -> str | None:
    return {"$STANDARD_INFORMATION": "$SI", "$FILE_NAME": "$FN"}.get(attribute or "", attribute)


def _extractions(entries: list[Entry]) -> list[dict[str, Any]]:
    return methods.entry_rows(entries, "extracted", lambda d: {
        "out": d.get("out"), "manifest": d.get("manifest"), "manifest_sha256": d.get("manifest_sha256"),
        "files": d.get("written", [])})


def _custody(case: Case, entries: list[Entry], people: list[dict[str, Any]], verification: Any) -> dict[str, Any]:
    row = case.db.execute("SELECT seq, entry_hash, examiner FROM ledger_head WHERE id = 1").fetchone()
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.action] = counts.get(e.action, 0) + 1
    return {"entries": len(entries), "first": entries[0].time_ns if entries else None,
            "last": entries[-1].time_ns if entries else None,
            "head_seq": row[0] if row else 0, "head_hash": row[1] if row else "", "head_examiner": row[2] if row else "",
            "head_name": next((f"{p['name']} ({p['id']})" for p in people if row and p["id"] == row[2]), ""),
            "ok": verification.ok, "problems": [f.message for f in verification.findings][:20],
            "by_action": sorted(counts.items()), "signers": [p for p in people if p["entries"]],
            "case_id": case.id}


def item_json(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)
