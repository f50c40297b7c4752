"""``batch status``: what the cases say about each exhibit's steps (read only; no worker needed)."""

from __future__ import annotations

from typing import Any

from evidencekit.batch import analysis
from evidencekit.batch.manifest import LoadedManifest
from evidencekit.case.store import DB_NAME, Case
from evidencekit.errors import EvidenceKitError


def batch_status(loaded: LoadedManifest) -> list[dict[str, Any]]:
    """Per exhibit: each step 'done' or 'pending', and the overall state (done, partial, not started, error)."""
    rows = []
    for i, spec in enumerate(loaded.manifest.cases):
        case_dir = loaded.case_dir(spec)
        case, error = None, None
        if (case_dir / DB_NAME).is_file():
            try:
                case = Case.open(case_dir)
                if case.meta.get("number") != spec.number:
                    error = f"{case_dir}: holds case {case.meta.get('number')!r}, not {spec.number!r}"
            except EvidenceKitError as err:
                error = str(err)
        try:
            for j, exhibit in enumerate(spec.exhibits):
                problem = loaded.exhibit_problems.get((i, j))
                state = {step: "pending" for step in spec.steps}
                if case is not None and error is None and problem is None:
                    tools = analysis.CaseTools(spec.options, loaded.relative)
                    state = {step: "done" if analysis.step_finished(case, exhibit.id, step, tools) else "pending"
                             for step in spec.steps}
                done = sum(v == "done" for v in state.values())
                overall = ("error" if error or problem else "done" if done == len(state)
                           else "partial" if done else "not started")
                rows.append({"case": str(case_dir), "exhibit": exhibit.id, "status": overall, "steps": state,
                             "error": error or (str(problem) if problem else None)})
        finally:
            if case is not None:
                case.close()
    return rows
