"""verify_hash: whole-media verification (evidencekit.verify) against the acquisition and intake hashes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from evidencekit.sop.registry import StepContext, StepResult, action


class VerifyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    require_reference: bool = True  # fail when there is no acquisition hash to compare with


@action("verify_hash", params=VerifyParams)
def verify_hash(ctx: StepContext, params: VerifyParams) -> StepResult:
    """Hash the whole decoded media; compare with acquisition, container, sidecar and intake hashes."""
    from evidencekit.sources import open_evidence
    from evidencekit.verify import verify_evidence

    exhibit = ctx.case.exhibit(ctx.exhibit["id"])
    expect = [f"{exhibit.acquisition_alg}:{exhibit.acquisition_hash}"] if exhibit.acquisition_hash else []
    with open_evidence(exhibit.path) as ev:
        result = verify_evidence(ev, expect=expect)
    intake = {alg: ("match" if result.digests.get(alg) == value else "mismatch")
              for alg, value in exhibit.hashes.items() if alg in result.digests}
    checks = [{"algorithm": c.reference.algorithm, "expected": c.reference.value, "source": _source(c.reference),
               "status": c.status} for c in result.checks]
    details: dict[str, Any] = {"status": result.status, "subject": result.subject, "checks": checks,
                               "intake_check": intake, "notes": list(result.notes)}
    inputs = {f"media_{alg}": value for alg, value in result.digests.items()}
    with ctx.case.run("verified", examiner=ctx.examiner, exhibit=exhibit.id, details=details,
                         inputs=inputs) as act:
        pass
    values = {"status": result.status, "references": len(checks), **result.digests}
    return _judge(checks, intake, params.require_reference, values, [act.entry.seq])


def _source(ref: Any) -> str:
    """Where a reference hash came from, in the words of the case (``--expect`` is how we pass it)."""
    return ACQUISITION if ref.origin == "expect" else ref.source


ACQUISITION = "the acquisition hash registered with the exhibit"


def _judge(checks: list[dict[str, Any]], intake: dict[str, str], need_ref: bool, values: dict[str, Any],
           entries: list[Any]) -> StepResult:
    bad = [{"algorithm": c["algorithm"], "kind": "acquisition" if c["source"] == ACQUISITION else "other",
            "source": c["source"]} for c in checks if c["status"] == "mismatch"]
    bad += [{"algorithm": alg, "kind": "intake"} for alg, s in intake.items() if s == "mismatch"]
    if bad:
        return StepResult.said(False, "verify_mismatch", values=values, entries=entries, items=bad)
    if not checks and need_ref:
        return StepResult.said(False, "verify_no_reference", values=values, entries=entries)
    done = ", ".join(sorted({c["algorithm"] for c in checks})) or "none"
    return StepResult.said(True, "verify_ok", values=values, entries=entries, count=len(checks), algorithms=done)
