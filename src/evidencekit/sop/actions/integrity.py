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
    from evidencekit import open_evidence
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
    with ctx.case.action("verified", examiner=ctx.examiner, exhibit=exhibit.id, details=details,
                         inputs=inputs) as act:
        pass
    values = {"status": result.status, "references": len(checks), **result.digests}
    return StepResult(*_judge(result.status, checks, intake, params.require_reference), values=values,
                      entries=[act.entry.seq])


def _source(ref: Any) -> str:
    """Where a reference hash came from, in the words of the case (``--expect`` is how we pass it)."""
    return "the acquisition hash registered with the exhibit" if ref.origin == "expect" else ref.source


def _judge(status: str, checks: list[dict[str, Any]], intake: dict[str, str], need_ref: bool) -> tuple[bool, str]:
    bad = [f"{c['algorithm']} from {c['source']}" for c in checks if c["status"] == "mismatch"]
    bad += [f"{alg} registered at intake" for alg, s in intake.items() if s == "mismatch"]
    if bad:
        return False, "MISMATCH: " + ", ".join(bad)
    if not checks and need_ref:
        return False, "no acquisition hash to verify against (container, --acquisition-hash or sidecar)"
    done = ", ".join(sorted({c["algorithm"] for c in checks})) or "none"
    return True, f"verified: {len(checks)} reference hash(es) match ({done}); unchanged since intake"
