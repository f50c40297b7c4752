"""Run an SOP on one exhibit of a case: every step start, result, attestation, deviation and review
is a signed custody entry; the run resumes where it stopped; a failed check is a recorded result.

Manual input comes from an :class:`~evidencekit.sop.answers.Answers` file and, where that has
nothing, from a :class:`Prompter` (the CLI's terminal prompts). With neither, the run *pauses*
before the step: nothing is recorded for it, and running again continues there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from evidencekit.errors import CaseError, EvidenceKitError, ValidationError
from evidencekit.pipeline.processing import process_alive
from evidencekit.sop import answers as ans
from evidencekit.sop import messages
from evidencekit.sop.expr import Expression
from evidencekit.sop.loader import LoadedSop
from evidencekit.sop.model import AttestationStep, AutomatedStep, ExhibitKind, OnFail, ReviewStep
from evidencekit.sop.registry import StepContext, StepResult, get_action
from evidencekit.sop.state import DONE, EVENT_ACTIONS, RunState, apply_event, load_runs, new_run

# What the case store's evidence kinds are as SOP exhibit kinds, unless the examiner declares one.
EVIDENCE_KINDS = {"disk_image": "disk_image", "zip": "logical_extraction", "tar": "logical_extraction",
                  "directory": "logical_extraction"}
SNAPSHOT_DIR = "sops"


class SopChangedError(ValidationError):
    """The SOP file differs from the one the open run started with."""


class SopBusyError(CaseError):
    """Another process is running, or has just advanced, the same SOP run."""


class Prompter(Protocol):
    """Asks an examiner for what the answers file does not give (None: cannot ask)."""

    def attest(self, step: AttestationStep) -> dict[str, Any] | None: ...
    def review(self, step: ReviewStep) -> dict[str, Any] | None: ...
    def justify(self, step: AutomatedStep | AttestationStep | ReviewStep, summary: str) -> str | None: ...


@dataclass
class RunOutcome:
    """How a call to :func:`run_sop` ended: completed, stopped (a failed step) or paused (needs input)."""

    run: RunState
    status: str
    message: str

    @property
    def exit_code(self) -> int:
        return {"completed": 0, "stopped": 1}.get(self.status, 3)


class _Pause(Exception):
    pass


class _Stop(Exception):
    pass


def exhibit_kind(exhibit: Any, declared: str | None) -> str:
    """The SOP kind of an exhibit: declared by the examiner, else derived from its evidence kind."""
    if declared:
        allowed = [k.value for k in ExhibitKind if k is not ExhibitKind.ANY]
        if declared not in allowed:
            raise ValidationError("exhibit kind {declared!r}: one of {listing}", declared=declared,
                                  listing=', '.join(allowed))
        return declared
    return EVIDENCE_KINDS.get(exhibit.kind, exhibit.kind)


def run_sop(case: Any, exhibit_id: str, loaded: LoadedSop, examiner: Any, *,
            answers: ans.Answers | None = None, prompter: Prompter | None = None,
            declared_kind: str | None = None, restart: bool = False) -> RunOutcome:
    """Start or resume the run of ``loaded`` on ``exhibit_id`` and carry it as far as it can go."""
    runner = _Runner(case, exhibit_id, loaded, examiner, answers or ans.Answers(), prompter)
    return runner.run(declared_kind, restart)


class _Runner:
    def __init__(self, case: Any, exhibit_id: str, loaded: LoadedSop, examiner: Any,
                 answers: ans.Answers, prompter: Prompter | None):
        self.case, self.loaded, self.sop, self.examiner = case, loaded, loaded.sop, examiner
        self.exhibit = case.exhibit(exhibit_id)
        self.answers, self.prompter = answers, prompter
        self.state: RunState | None = None
        self.known_seq = 0  # the ledger as far as this process has read it

    @property
    def run_state(self) -> RunState:
        assert self.state is not None
        return self.state

    def run(self, declared_kind: str | None, restart: bool) -> RunOutcome:
        self._check_answers()
        entries = self.case.entries()
        self.known_seq = max((e.seq for e in entries), default=0)
        runs = load_runs(entries, self.exhibit.id, self.sop.id)
        last = runs[-1] if runs else None
        if last is not None and not restart:
            if last.status != "open":
                why = "completed" if last.status == "completed" else f"{last.status}; use --restart to run it again"
                return RunOutcome(last, last.status, f"run {last.run} of {self.sop.id} on {self.exhibit.id} {why}")
            self._check_same_sop(last)
            self.state = last
        else:
            if last is not None and last.status == "open":
                self.state = last
                self._record("run_finished", status="abandoned", reason="restarted")
            self._start(declared_kind)
        return self._steps()

    def _check_answers(self) -> None:
        """Every answer given in advance fits its step, before anything is recorded."""
        for step_id, given in self.answers.steps.items():
            try:
                step = self.sop.step(step_id)
                if isinstance(step, AttestationStep):
                    ans.attestation_values(step, given)
                elif isinstance(step, ReviewStep):
                    ans.review_values(step, given)
                else:
                    raise ValueError(f"step {step_id!r} is automated and takes no answers")
            except KeyError:
                raise ValidationError("answers name step {step_id!r}, which SOP {sop} does not have",
                                      step_id=step_id, sop=self.sop.id) from None
            except ValueError as err:
                raise ValidationError("answers for step {step_id}: {cause}", step_id=step_id, cause=err) from None

    def _check_same_sop(self, run: RunState) -> None:
        current = hashlib.sha256(self.loaded.path.read_bytes()).hexdigest()
        if current != run.sha256:
            raise SopChangedError(
                "{path}: SOP {sop} changed since run {run} started (sha256 {was} now {now}); restore it "
                "(copy in the case: {snapshot}) or start a new run with --restart", path=self.loaded.path,
                sop=self.sop.id, run=run.run, was=run.sha256[:12], now=current[:12], snapshot=run.snapshot)

    def _start(self, declared_kind: str | None) -> None:
        kind = exhibit_kind(self.exhibit, declared_kind)
        if not self.sop.applies_to(kind):
            scope = ", ".join(k.value for k in self.sop.scope)
            raise ValidationError("SOP {sop} applies to {scope}; exhibit {exhibit} is {kind} (declare its kind "
                                  "with --exhibit-kind if that is wrong)", sop=self.sop.id, scope=scope,
                                  exhibit=self.exhibit.id, kind=kind)
        snapshot, digest = self._snapshot()
        info = {"id": self.sop.id, "version": self.sop.version, "sha256": digest, "file": str(self.loaded.path),
                "snapshot": snapshot, "title": self.sop.title.model_dump()}
        run_id = uuid.uuid4().hex[:12]
        entry = self._append("run_started", {"sop_event": "run_started", "run": run_id, "sop": info,
                                             "exhibit_kind": kind}, self.examiner, {snapshot: digest})
        self.state = new_run(entry, entry.body["details"])

    def _snapshot(self) -> tuple[str, str]:
        """Keep the exact SOP file in the case (``sops/ID@VERSION-SHA.yaml``), named in the ledger."""
        digest = self.loaded.sha256
        name = f"{SNAPSHOT_DIR}/{self.sop.id}@{self.sop.version}-{digest[:12]}.yaml"
        target = self.case.root / name
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(self.loaded.path, target)
        if hashlib.sha256(target.read_bytes()).hexdigest() != digest:
            raise SopChangedError("{path}: changed while the run was starting", path=self.loaded.path)
        return name, digest

    # -- the step loop -----------------------------------------------------------------------------
    def _steps(self) -> RunOutcome:
        try:
            for step in self.sop.steps:
                self._step(step)
        except _Pause as pause:
            return RunOutcome(self.run_state, "paused", str(pause))
        except _Stop as stop:
            return RunOutcome(self.run_state, "stopped", str(stop))
        self._record("run_finished", status="completed")
        return RunOutcome(self.run_state, "completed", f"{self.sop.id} completed on {self.exhibit.id}")

    def _step(self, step: AutomatedStep | AttestationStep | ReviewStep) -> None:
        st = self.run_state.steps.get(step.id)
        if st is not None and st.status in DONE:
            return
        if st is not None and st.status == "failed":
            self._after_failure(step, st.summary)
            return
        if st is not None and st.status == "running" and st.started_in and process_alive(*st.started_in):
            pid, host = st.started_in
            raise SopBusyError("step {step} of {sop} run {run} on {exhibit} is running in process {pid} on "
                               "{host} (started by {started_by}); run again when it has finished (a "
                               "process on another host cannot be checked: if it is gone, continue on that "
                               "host or start a new run with --restart)", step=step.id, sop=self.sop.id,
                               run=self.run_state.run, exhibit=self.exhibit.id, pid=pid, host=host,
                               started_by=st.started_by)
        self._check_same_sop(self.run_state)
        if step.when and not Expression(step.when).evaluate(self._env()):
            self._record("step_result", step.id, result="skipped",
                         **_said({"key": "condition_false", "args": {"condition": step.when}}))
            return
        if isinstance(step, AutomatedStep):
            passed, summary = self._automated(step)
        elif isinstance(step, AttestationStep):
            passed, summary = self._attest(step)
        else:
            passed, summary = self._review(step)
        if not passed:
            self._after_failure(step, summary)

    def _after_failure(self, step: AutomatedStep | AttestationStep | ReviewStep, summary: str) -> None:
        if step.on_fail is OnFail.STOP:
            self._record("run_finished", status="stopped", reason=f"step {step.id} failed: {summary}")
            raise _Stop(f"step {step.id} failed: {summary}; the procedure stops here (on_fail: stop)")
        text = self.answers.deviations.get(step.id)
        if text is None and self.prompter is not None:
            text = self.prompter.justify(step, summary)
        if not text or len(text.strip()) < 10:
            raise _Pause(f"step {step.id} failed: {summary}; continuing is a deviation and needs a written "
                         f"justification (answers file 'deviations: {{{step.id}: ...}}' or a terminal)")
        self._record("deviation", step.id, justification=text.strip(), failure=summary)

    def _env(self) -> dict[str, Any]:
        ex = self.exhibit
        exhibit = {"id": ex.id, "kind": self.run_state.exhibit_kind, "evidence_kind": ex.kind,
                   "description": ex.description, "path": ex.path}
        return {"exhibit": exhibit, "steps": self.run_state.env()}

    # -- the three kinds ---------------------------------------------------------------------------
    def _automated(self, step: AutomatedStep) -> tuple[bool, str]:
        spec = get_action(step.action)
        params = spec.params.model_validate(step.params)
        # pid and host: a second process finding the step running can tell whether it still is
        self._record("step_started", step.id, kind="automated", action=step.action, params=step.params,
                     pid=os.getpid(), host=socket.gethostname())
        if self.prompter is not None and hasattr(self.prompter, "starting"):
            self.prompter.starting(step)
        ctx = StepContext(self.case, self._env()["exhibit"], self.examiner, self.sop, step,
                          self.run_state.run, self.loaded.path.parent, self.run_state.env())
        result = _call(spec.func, ctx, params, step.action)
        said = {"summary": result.summary, "message": result.message} if result.message else {"summary": result.summary}
        self._record("step_result", step.id, outputs=result.outputs, result="passed" if result.passed else "failed",
                     values=result.values, action=step.action, entries=result.entries, **said)
        return result.passed, result.summary

    def _attest(self, step: AttestationStep) -> tuple[bool, str]:
        given = self.answers.steps.get(step.id)
        if given is None and self.prompter is not None:
            given = self.prompter.attest(step)
        if given is None:
            raise _Pause(f"step {step.id} needs the examiner's attestation: give it in --answers or run on a terminal")
        try:
            values = ans.attestation_values(step, given)
        except ValueError as err:
            raise ValidationError("attestation for step {step}: {cause}", step=step.id, cause=err) from None
        passed, message = ans.attestation_outcome(step, values)
        said = _said(message)
        self._record("step_started", step.id, kind="attestation")
        self._record("attestation", step.id, result="passed" if passed else "failed", values=values, **said)
        return passed, said["summary"]

    def _review(self, step: ReviewStep) -> tuple[bool, str]:
        covered = step.covers or [s.id for s in self.sop.steps[: self.sop.steps.index(step)]]
        performers = self.run_state.performers(covered)
        mine = performers.get(self.examiner.id)
        given = self.answers.steps.get(step.id)
        if mine:
            msg = (f"review {step.id} needs an examiner other than {self.examiner.id}, who performed "
                   f"{', '.join(mine)} (four-eyes)")
            if given is not None:
                raise ValidationError("review {step} needs an examiner other than {examiner}, who performed "
                                      "{performed} (four-eyes): a review by the same examiner is refused",
                                      step=step.id, examiner=self.examiner.id, performed=", ".join(mine))
            raise _Pause(f"{msg}: the reviewer continues the run with --examiner THEIR_ID")
        if given is None and self.prompter is not None:
            given = self.prompter.review(step)
        if given is None:
            raise _Pause(f"review {step.id} needs the reviewer's decision: give it in --answers or run on a terminal")
        try:
            values = ans.review_values(step, given)
        except ValueError as err:
            raise ValidationError(str(err)) from None
        passed = values["decision"] == "approve"
        # the approval cites what it approved: every file the covered steps recorded, with its hash
        cites = {k: v for sid in covered if (st := self.run_state.steps.get(sid)) for k, v in st.outputs.items()
                 if isinstance(v, str)}
        values.update(covers=covered, performers=sorted(performers), cites=cites)
        said = _said({"key": "review", "args": {"approved": passed, "reviewer": self.examiner.id,
                                                 "comment": values["comment"]}})
        self._record("step_started", step.id, kind="review")
        self._record("review", step.id, result="passed" if passed else "failed", values=values, **said)
        return passed, said["summary"]

    # -- recording ---------------------------------------------------------------------------------
    def _record(self, event: str, step: str | None = None, outputs: dict[str, Any] | None = None,
                **details: Any) -> None:
        body: dict[str, Any] = {"sop_event": event, "run": self.run_state.run}
        if step is not None:
            body["step"] = step
        body.update(details)
        entry = self._append(event, body, self.examiner, outputs or {})
        self.run_state.entries.append(entry.seq)
        apply_event(self.run_state, event, entry, body)

    def _append(self, event: str, details: dict[str, Any], examiner: Any, outputs: dict[str, Any]) -> Any:
        inputs = {"sop_sha256": self.loaded.sha256}
        with self.case.run(EVENT_ACTIONS[event], examiner=examiner, exhibit=self.exhibit.id,
                              details=details, inputs=inputs) as act:
            self._refuse_if_advanced(act.db, details["run"])
            act.outputs.update(outputs)
        assert act.entry is not None
        self.known_seq = act.entry.seq
        return act.entry

    def _refuse_if_advanced(self, db: Any, run: str) -> None:
        """Inside the append's write transaction: no other process may have recorded an event of
        this run, or started another run of this SOP on this exhibit, since this one read the ledger."""
        for seq, examiner, body in db.execute("SELECT seq, examiner, body FROM ledger WHERE seq > ? AND exhibit = ?",
                                              (self.known_seq, self.exhibit.id)):
            details = json.loads(body).get("details") or {}
            event = details.get("sop_event")
            if event is None:
                continue
            if details.get("run") == run or (event == "run_started" and details.get("sop", {}).get("id") == self.sop.id):
                raise SopBusyError("{sop} run {run} on {exhibit} was advanced by another process meanwhile "
                                   "(entry {seq}: {event} by {examiner}); nothing recorded here: run again "
                                   "to continue from the ledger", sop=self.sop.id, run=details.get('run'),
                                   exhibit=self.exhibit.id, seq=seq, event=event, examiner=examiner)


def _said(message: dict[str, Any]) -> dict[str, Any]:
    """The ledger fields of a catalogue message: its English summary and the message itself."""
    return {"summary": messages.render(message["key"], message["args"]), "message": message}


def _call(func: Any, ctx: StepContext, params: Any, name: str) -> StepResult:
    """Run an action; an error it raises is a failed result with the message, not a crash."""
    try:
        result = func(ctx, params)
    except EvidenceKitError as err:
        return StepResult.said(False, "action_error", error=str(err))
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # a defect in an action must not leave the step unrecorded
        return StepResult.said(False, "action_internal_error", action=name, error=f"{type(err).__name__}: {err}")
    if not isinstance(result, StepResult):
        return StepResult.said(False, "action_internal_error", action=name,
                               error=f"returned {type(result).__name__}, not a StepResult")
    return result
