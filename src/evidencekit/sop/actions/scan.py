"""yara_scan, hashset_match: the scan layer (evidencekit.scan)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from evidencekit.sop.actions.common import not_available
from evidencekit.sop.registry import StepContext, StepResult, action


class YaraParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: str  # file or folder of rules; relative paths are relative to the SOP file
    fail_on_match: bool = False  # a match is a finding; make it a failed check only if asked


class HashsetParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hashset: str  # hash list file; relative paths are relative to the SOP file
    set_kind: Literal["known_bad", "known_good"] = "known_bad"
    fail_on_match: bool = False


@action("yara_scan", params=YaraParams)
def yara_scan(ctx: StepContext, params: YaraParams) -> StepResult:
    """Scan the exhibit's files with YARA rules; matches are recorded findings."""
    return not_available("YARA scanning (evidencekit.scan)")


@action("hashset_match", params=HashsetParams)
def hashset_match(ctx: StepContext, params: HashsetParams) -> StepResult:
    """Match the exhibit's file hashes against a hash set (known bad or known good)."""
    return not_available("hash set matching (evidencekit.scan)")
