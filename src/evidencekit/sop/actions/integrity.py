"""verify_hash: whole-media verification against the acquisition hashes (evidencekit.verify)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from evidencekit.sop.actions.common import not_available, optional_module
from evidencekit.sop.registry import StepContext, StepResult, action


class VerifyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    require_reference: bool = True  # fail when there is no acquisition hash to compare with


@action("verify_hash", params=VerifyParams)
def verify_hash(ctx: StepContext, params: VerifyParams) -> StepResult:
    """Hash the whole decoded media and compare with the acquisition hashes."""
    verify = optional_module("evidencekit.verify")
    if verify is None:
        return not_available("media verification (evidencekit.verify)")
    return not_available("media verification (evidencekit.verify)")
