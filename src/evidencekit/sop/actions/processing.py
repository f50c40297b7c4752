"""inventory, timeline, export_timeline: the case store's processing and the timeline layer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from evidencekit.sop.actions.common import not_available
from evidencekit.sop.registry import StepContext, StepResult, action

HashName = Literal["md5", "sha1", "sha256"]


class InventoryParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hashes: list[HashName] = ["md5", "sha256"]


class TimelineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plaso: bool = False  # also run plaso's artefact parsers (browser history, SMS, logs, ...)


class ExportTimelineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "jsonl", "bodyfile", "timesketch"] = "csv"
    zone: str = "UTC"


@action("inventory", params=InventoryParams)
def inventory(ctx: StepContext, params: InventoryParams) -> StepResult:
    """Walk every file system of the exhibit into the case, with the hashes asked for."""
    return not_available("inventory processing (evidencekit.case)")


@action("timeline", params=TimelineParams)
def timeline(ctx: StepContext, params: TimelineParams) -> StepResult:
    """Derive the exhibit's timeline events into the case."""
    return not_available("timeline (evidencekit.timeline)")


@action("export_timeline", params=ExportTimelineParams)
def export_timeline(ctx: StepContext, params: ExportTimelineParams) -> StepResult:
    """Write the exhibit's timeline under the case's exports/ and record its hash."""
    return not_available("timeline export (evidencekit.timeline)")
