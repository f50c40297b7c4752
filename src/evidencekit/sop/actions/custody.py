"""custody_export: verify the custody ledger and export it (evidencekit.case)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from evidencekit.sop.actions.common import not_available
from evidencekit.sop.registry import StepContext, StepResult, action


class CustodyExportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


@action("custody_export", params=CustodyExportParams)
def custody_export(ctx: StepContext, params: CustodyExportParams) -> StepResult:
    """Verify the whole custody ledger and export it with its signatures under exports/."""
    return not_available("custody export (evidencekit.case)")
