"""custody_export: verify the custody ledger, then export it as a signed bundle (evidencekit.case)."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict

from evidencekit.hashing import sha256_file
from evidencekit.sop.registry import StepContext, StepResult, action


class CustodyExportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


@action("custody_export", params=CustodyExportParams)
def custody_export(ctx: StepContext, params: CustodyExportParams) -> StepResult:
    """Verify every hash link and signature of the ledger and export it as a zip bundle under exports/."""
    from evidencekit.case.custody import verify_case
    from evidencekit.exporters.bundle import export_bundle

    report = verify_case(ctx.case)
    if not report.ok:
        first = report.findings[0]
        return StepResult.said(False, "custody_failed", values={"ok": False}, count=len(report.findings),
                               kind=first.kind, message=first.message)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = f"custody-{ctx.exhibit['id'].replace('/', '_')}-{ctx.run_id}-{stamp}"
    name, n = f"{base}.zip", 1
    while (ctx.case_dir / "exports" / name).exists():
        n += 1
        name = f"{base}-{n}.zip"
    out = ctx.case_dir / "exports" / name
    got = export_bundle(ctx.case, out, ctx.examiner)
    rel = f"exports/{name}"
    digest = sha256_file(out)
    values = {"ok": True, "entries_verified": report.entries, "bundle": rel, "sha256": digest}
    return StepResult.said(True, "custody_exported", values=values, outputs={rel: digest}, entries=[got["entries"]],
                           entries_verified=report.entries, bundle=rel)
