"""The checklist of an exhibit: every step of each SOP run with its status, who and when.

Built from the ledger (:mod:`evidencekit.sop.state`) and the SOP copy the run pinned in the case
(``sops/ID@VERSION-SHA.yaml``), so it shows the procedure exactly as it was run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evidencekit.models import iso_utc
from evidencekit.sop import messages
from evidencekit.sop.loader import load_sop
from evidencekit.sop.model import AttestationStep, Sop
from evidencekit.sop.state import RunState, StepState, load_runs
from evidencekit.sop.yamlsrc import SopValidationError

STATUSES = ("passed", "deviated", "failed", "skipped", "running", "pending")


@dataclass
class Row:
    """One step as the checklist shows it; times are ISO-8601 UTC."""

    number: int
    id: str
    kind: str
    title: str
    status: str
    by: str | None
    at: str | None
    summary: str
    values: dict[str, Any]
    justification: str | None
    deviation_by: str | None
    deviation_at: str | None
    references: list[str]
    outputs: dict[str, Any]
    entries: list[int]
    facts: list[tuple[str, str]] = field(default_factory=list)  # attested values with their labels


@dataclass
class Checklist:
    """One run of one SOP on one exhibit, ready to render."""

    case: dict[str, str]
    exhibit: dict[str, Any]
    sop: dict[str, Any]
    run: str
    status: str
    started_by: str
    started_at: str | None
    finished_at: str | None
    rows: list[Row]
    references: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)
    lang: str = "en"
    zone: str = "UTC"
    verdict: str = ""  # by_the_book | with_deviations | stopped | in_progress | abandoned

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def checklists(case: Any, exhibit: str | None = None, lang: str = "en", every_run: bool = False) -> list[Checklist]:
    """The checklists of the case (or of one exhibit): the latest run of each SOP, or every run."""
    if exhibit is not None:
        case.exhibit(exhibit)  # CaseError for an unknown exhibit
    runs = load_runs(case.entries(), exhibit)
    if not every_run:
        latest: dict[tuple[str, str], RunState] = {}
        for run in runs:
            latest[(run.exhibit, run.sop_id)] = run
        runs = list(latest.values())
    meta = {k: case.meta.get(k, "") for k in ("number", "title", "authority", "authority_date")}
    return [_checklist(case, meta, run, lang) for run in runs]


def _pinned(case: Any, run: RunState) -> Sop | None:
    path = Path(case.root) / run.snapshot if run.snapshot else Path(run.file)
    try:
        loaded = load_sop(path)
    except SopValidationError:
        return None
    return loaded.sop if loaded.sha256 == run.sha256 else None


def _checklist(case: Any, meta: dict[str, str], run: RunState, lang: str) -> Checklist:
    sop = _pinned(case, run)
    ex = case.exhibit(run.exhibit)
    exhibit = {"id": ex.id, "kind": run.exhibit_kind, "evidence_kind": ex.kind, "description": ex.description,
               "seal": ex.seal, "path": ex.path, "sha256": ex.sha256}
    rows = _rows(run, sop, lang)
    title = sop.title.get(lang) if sop else run.title.get(lang, run.title.get("en", run.sop_id))
    info = {"id": run.sop_id, "version": run.version, "sha256": run.sha256, "title": title, "file": run.file,
            "snapshot": run.snapshot, "pinned_copy_intact": sop is not None,
            "purpose": sop.purpose.get(lang) if sop else ""}
    refs = [r.model_dump(exclude_none=True) for r in sop.references] if sop else []
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
    return Checklist(meta, exhibit, info, run.run, run.status, run.started_by, iso_utc(run.started_at, 0),
                     iso_utc(run.finished_at, 0), rows, refs, counts, lang, verdict=verdict(run.status, counts))


def verdict(status: str, counts: dict[str, int]) -> str:
    """At a glance: was the exhibit handled by the book?"""
    if status == "completed":
        return "with_deviations" if counts.get("deviated") or counts.get("failed") else "by_the_book"
    return {"open": "in_progress"}.get(status, status)


def _rows(run: RunState, sop: Sop | None, lang: str) -> list[Row]:
    if sop is None:
        return [_row(i, sid, "?", sid, [], st, lang) for i, (sid, st) in enumerate(run.steps.items(), 1)]
    rows = []
    for i, step in enumerate(sop.steps, 1):
        st = run.steps.get(step.id, StepState(step.id))
        row = _row(i, step.id, step.kind, step.title.get(lang), step.references, st, lang)
        if isinstance(step, AttestationStep):
            row.facts = [(f.label.get(lang), _show(st.values[f.id], lang)) for f in step.fields if f.id in st.values]
        rows.append(row)
    return rows


def _show(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return {True: "да", False: "нет"}[value] if lang == "ru" else {True: "yes", False: "no"}[value]
    return str(value)


def _row(n: int, sid: str, kind: str, title: str, refs: list[str], st: StepState, lang: str) -> Row:
    summary = messages.text(st.message, lang) or st.summary  # the recorded English where no translation
    return Row(n, sid, kind, title, st.status, st.by or st.started_by, iso_utc(st.at or st.started_at, 0),
               summary, st.values, st.justification, st.deviation_by, iso_utc(st.deviation_at, 0),
               list(refs), dict(st.outputs), list(st.entries))
