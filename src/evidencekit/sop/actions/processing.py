"""inventory, timeline, export_timeline: the case store's processing and the timeline layer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from evidencekit.errors import CaseError
from evidencekit.sop.registry import StepContext, StepResult, action

HashName = Literal["md5", "sha1", "sha256"]
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "bodyfile": "body", "timesketch": "jsonl"}


class InventoryParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hashes: list[HashName] = ["md5", "sha1", "sha256"]


class TimelineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # plaso artefacts: "none" (file system only), a preset (default, windows, linux, browser, android,
    # ios) or a plaso parser expression
    artifacts: str = "none"


class ExportTimelineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "jsonl", "bodyfile", "timesketch"] = "csv"
    zone: str = "UTC"


@action("inventory", params=InventoryParams)
def inventory(ctx: StepContext, params: InventoryParams) -> StepResult:
    """Verify, walk and hash every file of the exhibit into the case (``case process``)."""
    from evidencekit.pipeline.processing import process_exhibit

    exhibit = ctx.exhibit["id"]
    try:
        summary = process_exhibit(ctx.case, exhibit, ctx.examiner, hashes=tuple(params.hashes))
    except CaseError as err:
        return StepResult.said(False, "inventory_refused", error=str(err))
    files = ctx.case.db.execute("SELECT count(*), sum(deleted) FROM files WHERE exhibit = ?", (exhibit,)).fetchone()
    values = {"files": files[0], "deleted": files[1] or 0, "status": str(summary.get("status", "processed"))}
    last = ctx.case.db.execute("SELECT max(seq) FROM ledger WHERE action = 'processed' AND exhibit = ?",
                               (exhibit,)).fetchone()[0]
    return StepResult.said(True, "inventory_done", values=values, entries=[last] if last else [],
                           files=values["files"], deleted=values["deleted"],
                           already=summary.get("status") == "already processed")


@action("timeline", params=TimelineParams)
def timeline(ctx: StepContext, params: TimelineParams) -> StepResult:
    """Derive the exhibit's timeline into the case: file system times, and plaso artefacts when asked."""
    from evidencekit.pipeline.timeline import build

    parts = build(ctx.case, ctx.examiner, exhibits=[ctx.exhibit["id"]], artifacts=params.artifacts)
    events = {part.source: part.events for _, part in parts}
    warnings = [w for _, part in parts for w in part.warnings]
    total = sum(events.values())
    return StepResult.said(True, "timeline_done", values={"events": total, "by_source": events,
                                                          "warnings": len(warnings)},
                           total=total, parts=", ".join(f"{k}: {v}" for k, v in events.items()),
                           warnings=len(warnings), first_warning=warnings[0] if warnings else "")


@action("export_timeline", params=ExportTimelineParams)
def export_timeline(ctx: StepContext, params: ExportTimelineParams) -> StepResult:
    """Write the exhibit's timeline under the case's exports/ and record its hash."""
    from evidencekit.exporters.timeline import export
    from evidencekit.timeline.store import Query

    exhibit = ctx.exhibit["id"]
    name = f"timeline-{exhibit.replace('/', '_')}-{ctx.run_id}.{EXTENSIONS[params.format]}"
    out = ctx.case_dir / "exports" / name
    sha, count = export(ctx.case, ctx.examiner, params.format, out, tz=params.zone, query=Query(exhibit=exhibit))
    rel = f"exports/{name}"
    return StepResult.said(True, "timeline_exported", values={"events": count, "file": rel, "sha256": sha},
                           outputs={rel: sha}, count=count, file=rel, format=params.format, zone=params.zone)
