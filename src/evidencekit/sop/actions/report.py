"""report_check: the latest examination report of the case exists, is unaltered and is not a draft.

Reads the ledger only (the ``reported`` entries that ``evidencekit report build`` writes), so the
SOP layer does not depend on the report renderer. The step's outputs restate the report file and
its SHA-256: a review that covers this step cites the hash it approved.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from evidencekit.hashing import sha256_file
from evidencekit.sop.registry import StepContext, StepResult, action


class ReportCheckParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow_draft: bool = False


@action("report_check", params=ReportCheckParams)
def report_check(ctx: StepContext, params: ReportCheckParams) -> StepResult:
    """The newest report recorded in the ledger: present, hashing as recorded, final unless allowed."""
    latest = None
    for e in ctx.case.entries():
        details = e.body.get("details") or {}
        if e.action == "reported" and details.get("report") == "examination":
            latest = e
    if latest is None:
        return StepResult.said(False, "report_missing", values={"ok": False})
    details = latest.body["details"]
    rel = f"reports/{details['file']}"
    expected = latest.body.get("outputs", {}).get(rel)
    path = ctx.case_dir / rel
    got = sha256_file(path) if path.is_file() else None
    values = {"ok": got == expected, "report": rel, "sha256": expected, "entry": latest.seq,
              "draft": bool(details.get("draft")), "lang": details.get("lang")}
    if got != expected:
        return StepResult.said(False, "report_altered", values=values, report=rel, entry=latest.seq)
    if details.get("draft") and not params.allow_draft:
        return StepResult.said(False, "report_draft", values=values, report=rel,
                               missing="; ".join(details.get("missing", [])))
    return StepResult.said(True, "report_ok", values=values, outputs={rel: expected}, report=rel,
                           sha256=expected, entry=latest.seq)
