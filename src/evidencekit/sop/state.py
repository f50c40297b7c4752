"""The recorded state of SOP runs, rebuilt from the custody ledger alone.

Every SOP event is one signed ledger entry whose ``details`` carry ``sop_event`` and ``run``:
``run_started``, ``step_started``, ``step_result`` (automated and skipped steps), ``attestation``,
``review``, ``deviation`` and ``run_finished``. Nothing else is stored, so the checklist can
never disagree with the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Ledger action of each SOP event (the case layer's fixed vocabulary); readers go by ``sop_event``.
EVENT_ACTIONS = {
    "run_started": "procedure", "step_started": "procedure", "step_result": "procedure", "attestation": "attested",
    "review": "reviewed", "deviation": "deviation", "run_finished": "procedure",
}
RESULT_EVENTS = ("step_result", "attestation", "review")
DONE = ("passed", "skipped", "deviated")


@dataclass
class StepState:
    """One step of one run: its latest status and who did what when (ns UTC)."""

    id: str
    status: str = "pending"  # pending | running | passed | failed | deviated | skipped
    by: str | None = None
    at: int | None = None
    started_by: str | None = None
    started_at: int | None = None
    started_in: tuple[int, str] | None = None  # (pid, host) running an automated step
    summary: str = ""
    message: dict[str, Any] | None = None  # the summary's catalogue key and arguments (sop/messages.py)
    values: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    justification: str | None = None
    deviation_by: str | None = None
    deviation_at: int | None = None
    entries: list[int] = field(default_factory=list)

    @property
    def result(self) -> str:
        """What ``steps.ID.result`` reads in a ``when:`` condition."""
        return self.status if self.status != "running" else "pending"


@dataclass
class RunState:
    """One run of one SOP on one exhibit."""

    run: str
    exhibit: str
    sop_id: str
    version: str
    sha256: str
    file: str
    snapshot: str | None
    exhibit_kind: str
    title: dict[str, str]
    started_by: str
    started_at: int
    status: str = "open"  # open | completed | stopped
    finished_at: int | None = None
    steps: dict[str, StepState] = field(default_factory=dict)
    entries: list[int] = field(default_factory=list)

    def step(self, step_id: str) -> StepState:
        return self.steps.setdefault(step_id, StepState(step_id))

    def performers(self, step_ids: list[str]) -> dict[str, list[str]]:
        """{examiner: [steps]} of everyone who started, recorded or deviated from one of ``step_ids``."""
        out: dict[str, list[str]] = {}
        for sid in step_ids:
            st = self.steps.get(sid)
            if st is None or st.status == "skipped":
                continue
            for who in sorted({w for w in (st.started_by, st.by, st.deviation_by) if w is not None}):
                out.setdefault(str(who), []).append(sid)
        return out

    def env(self) -> dict[str, dict[str, Any]]:
        """``steps`` as ``when:`` conditions see them."""
        return {sid: {"result": st.result, "values": st.values} for sid, st in self.steps.items()}


def sop_entries(entries: list[Any], exhibit: str | None = None) -> list[Any]:
    """The ledger entries that are SOP events (optionally of one exhibit), in sequence order."""
    out = []
    for e in entries:
        details = e.body.get("details") or {}
        if "sop_event" in details and (exhibit is None or e.exhibit == exhibit):
            out.append(e)
    return sorted(out, key=lambda e: e.seq)


def load_runs(entries: list[Any], exhibit: str | None = None, sop_id: str | None = None) -> list[RunState]:
    """Every run rebuilt from ledger ``entries``, oldest first."""
    runs: dict[str, RunState] = {}
    for e in sop_entries(entries, exhibit):
        details = e.body["details"]
        event = details["sop_event"]
        if event == "run_started":
            runs[details["run"]] = new_run(e, details)
            continue
        run = runs.get(details.get("run", ""))
        if run is not None:
            run.entries.append(e.seq)
            apply_event(run, event, e, details)
    out = list(runs.values())
    return [r for r in out if sop_id is None or r.sop_id == sop_id]


def new_run(e: Any, d: dict[str, Any]) -> RunState:
    sop = d["sop"]
    return RunState(d["run"], e.exhibit, sop["id"], sop["version"], sop["sha256"], sop["file"],
                    sop.get("snapshot"), d.get("exhibit_kind", ""), sop.get("title", {}), e.examiner,
                    e.time_ns, entries=[e.seq])


def apply_event(run: RunState, event: str, e: Any, d: dict[str, Any]) -> None:
    if event == "run_finished":
        run.status, run.finished_at = d["status"], e.time_ns
        return
    st = run.step(d["step"])
    st.entries.append(e.seq)
    if event == "step_started":
        st.status, st.started_by, st.started_at = "running", e.examiner, e.time_ns
        st.started_in = (int(d["pid"]), str(d["host"])) if "pid" in d and "host" in d else None
    elif event in RESULT_EVENTS:
        st.status, st.by, st.at = d["result"], e.examiner, e.time_ns
        st.summary, st.values, st.message = d.get("summary", ""), d.get("values", {}), d.get("message")
        st.outputs = e.body.get("outputs", {})
    elif event == "deviation":
        st.status, st.justification = "deviated", d["justification"]
        st.deviation_by, st.deviation_at = e.examiner, e.time_ns
