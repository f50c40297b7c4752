"""The coordinator: the one process that writes the case databases and signs ledger entries.

It opens (or creates) each case, checks that the workers can read the evidence, then drives each
exhibit through its steps: it sends units to the executor and, when all the units of a step are
back, stores their results in one transaction (``batch.steps``). What is stored decides what is
done: a rerun of the same manifest (after a crash, or to add exhibits) skips finished steps and
redoes unfinished ones from the start, so nothing is stored twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from evidencekit.batch import analysis, small, steps
from evidencekit.batch.executors import Executor
from evidencekit.batch.exhibit_run import ExhibitRun, check_readable, new_run, open_case
from evidencekit.batch.manifest import SOP_PREFIX, LoadedManifest
from evidencekit.batch.staging import Staging
from evidencekit.batch.units import Unit, UnitResult
from evidencekit.case.examiners import Examiner
from evidencekit.case.store import Case
from evidencekit.errors import CaseError, EvidenceKitError, ValidationError

POLL_S = 0.25
ONE_WORKER_PARTS = 4
SEIZURE = ("description", "seal", "seized_from", "seized_at", "seized_on", "received_from")


class Coordinator:
    """Runs a loaded manifest on an executor as ``examiner``; ``on_event`` sees each change."""

    def __init__(self, loaded: LoadedManifest, executor: Executor, examiner: Examiner,
                 on_event: Callable[[dict[str, Any]], None] | None = None, environ: Mapping[str, str] | None = None):
        self.loaded, self.executor, self.examiner = loaded, executor, examiner
        self.environ = environ if environ is not None else {}  # where password_env names are looked up
        self.on_event = on_event or (lambda event: None)
        self.cases: dict[str, Case] = {}
        self.prepared: dict[str, analysis.CaseTools] = {}
        self.exhibits: list[ExhibitRun] = []
        self._owner: dict[str, ExhibitRun] = {}
        self._timing = False

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        """Every exhibit to the end of its steps or to its failure; the summary rows."""
        try:
            self._prepare()
            for ex in self.exhibits:
                if ex.status == "pending":
                    self._advance(ex)
            while self.executor.pending():
                got = self.executor.wait_one(POLL_S)
                if got is not None:
                    self._handle(*got)
                self.on_event({"event": "tick", "retries": self.executor.retries})
            for ex in [ex for ex in self.exhibits if ex.status == "running"]:  # nothing left to wait for: a defect
                self._fail(ex, f"exhibit {ex.spec.id}: step {ex.step} stopped with no unit left to wait for "
                               "(an evidencekit defect: please report it); run the batch again to redo the step")
            self._tidy_failed()
        finally:
            for case in self.cases.values():
                case.close()
        return [ex.view() for ex in self.exhibits]

    def _prepare(self) -> None:
        runs = {}
        for i, spec in enumerate(self.loaded.manifest.cases):
            case_dir = self.loaded.case_dir(spec)
            runs[i] = [new_run(spec, case_dir, ex, self.loaded.evidence_path(ex), self.loaded.exhibit_problems.get((i, j)),
                               self.environ, self._fail) for j, ex in enumerate(spec.exhibits)]
            self.prepared[str(case_dir)] = analysis.CaseTools(spec.options, self.loaded.relative)
            self.exhibits += runs[i]
        # before any case is created or written: a refused batch leaves nothing
        check_readable(self.executor, [ex for ex in self.exhibits if ex.status == "pending"], self._fail)
        for i, spec in enumerate(self.loaded.manifest.cases):
            case_dir = self.loaded.case_dir(spec)
            try:
                self.cases[str(case_dir)] = open_case(spec, case_dir, self.examiner)
            except EvidenceKitError as err:
                for ex in runs[i]:
                    self._fail(ex, str(err))
        hosts = self.executor.hosts()
        for root, case in self.cases.items():
            ids = [ex.spec.id for ex in self.exhibits if ex.case_dir == root and ex.status == "pending"
                   and not all(self._done(case, ex, step) for step in ex.steps)]
            if ids:  # a rerun with nothing left to do adds nothing to the ledger
                steps.record_batch(case, self.examiner, {
                    "manifest": str(self.loaded.path), "manifest_sha256": self.loaded.sha256,
                    "executor": self.executor.kind, "workers": self.executor.size(), "worker_hosts": hosts,
                    "exhibits": ids})

    # -- steps -----------------------------------------------------------------------------
    def _advance(self, ex: ExhibitRun) -> None:
        """Start the exhibit's next unfinished step (skipping finished ones), or finish it."""
        case = self.cases[ex.case_dir]
        if not ex.started:
            ex.started = time.monotonic()
        while ex.remaining:
            step = ex.remaining.pop(0)
            try:
                if self._skip(case, ex, step):
                    ex.skipped.append(step)
                    continue
                ex.status, ex.step, ex.step_started = "running", step, time.monotonic()
                if step in ex.deferred:
                    self._fail_step(ex, step, ex.deferred[step])
                    return
                if self._timed(ex, self._start, case, ex, step):
                    self._emit(ex)
                    return
            except EvidenceKitError as err:
                self._fail(ex, str(err))
                return
        ex.status, ex.step, ex.finished = "done", "", time.monotonic()
        self._emit(ex)

    def _skip(self, case: Case, ex: ExhibitRun, step: str) -> bool:
        registered = steps.registered_path(case, ex.spec.id)
        if registered is not None and registered != ex.evidence:
            raise ValidationError("{root}: exhibit {id} is registered with another path ({registered}), "
                                  "not {evidence}", root=case.root, id=ex.spec.id, registered=registered,
                                  evidence=ex.evidence)
        if registered is None and step != "intake":
            raise ValidationError("{root}: exhibit {id} is not registered; add 'intake' to its steps",
                                  root=case.root, id=ex.spec.id)
        return self._done(case, ex, step)

    def _done(self, case: Case, ex: ExhibitRun, step: str) -> bool:
        return analysis.step_finished(case, ex.spec.id, step, self.prepared[ex.case_dir])

    def _start(self, case: Case, ex: ExhibitRun, step: str) -> bool:
        """Submit the step's units (those not sent ahead already); False when it finished here.
        Sent ahead, so that one exhibit's reads overlap: the listing with the intake hash (stored
        after both checks), plaso and the content scans with processing (stored in their steps)."""
        if step == "intake":
            self._submit_intake(ex, "process" in ex.remaining and small.is_small(ex.evidence, ex.options.whole_below_mb))
            return True
        if step == "process":
            self._submit_plan(ex)
            if self.executor.size() > 1 or ex.key("process", "list-0") in ex.submitted:
                self._submit(ex, "process", "media", "before", algorithms=steps.gate_algorithms(case, ex.spec.id))
            # else the check before goes with the walk (_submit_lists)
            for later in ex.remaining:  # after a new inventory, every later step runs again
                self._send_ahead(case, ex, later)
            return not self._store_process(case, ex)
        if step == "timeline":
            return self._start_timeline(case, ex)
        if step in analysis.CONTENT_STEPS:
            self._send_ahead(case, ex, step)
            return not self._store_content(case, ex, step)
        if step == "hashsets":
            self._store_hashsets(case, ex)
        else:
            self._run_sop(case, ex, step[len(SOP_PREFIX):])
        return False

    def _submit_intake(self, ex: ExhibitRun, whole: bool) -> None:
        """The intake hash (and the listing plan, sent ahead), or for a small exhibit both steps' reads in one unit."""
        seizure = {k: getattr(ex.spec, k) for k in SEIZURE}
        kind = "whole" if whole else "examine"
        self._submit(ex, "intake", kind, kind, exhibit=ex.spec.id, seizure=seizure,
                     acquisition=ex.spec.expect[0] if ex.spec.expect else None,
                     **({"hashes": list(ex.options.hashes)} if whole else {}))
        if "process" in ex.remaining and not whole:
            self._submit_plan(ex)

    def _submit_plan(self, ex: ExhibitRun) -> None:
        size = self.executor.size()
        # one worker: a few coarse parts from a shallow plan (the top directories), so that the
        # coordinator stores each part while the worker walks the next
        self._submit(ex, "process", "plan", "plan", units_per_volume=ONE_WORKER_PARTS if size <= 1 else 2 * size,
                     trees_per_unit=1 if size <= 1 else 8)

    def _send_ahead(self, case: Case, ex: ExhibitRun, step: str) -> None:
        if step == "timeline" and ex.options.artifacts.lower() != "none":
            exhibit = case.exhibit(ex.spec.id)
            self._submit(ex, "timeline", "plaso", "plaso", exhibit_kind=exhibit.kind, artifacts=ex.options.artifacts,
                         workdir=steps.plaso_workdir(self.loaded.work_dir(), case, ex.spec.id))
        elif step in analysis.CONTENT_STEPS:
            exhibit = case.exhibit(ex.spec.id)
            rules = str(self.loaded.relative(ex.options.yara)) if step == "yara" and ex.options.yara else None
            self._submit(ex, step, "scan", "scan", rules=rules, file_timeout=ex.options.yara_timeout,
                         registered={"name_encoding": exhibit.name_encoding, "source_tz": exhibit.source_tz})

    def _submit(self, ex: ExhibitRun, step: str, kind: str, part: str, **params: Any) -> None:
        key = ex.key(step, part)
        if key in ex.submitted:
            return  # sent ahead already
        unit = Unit(key, kind, ex.evidence, ex.credentials, params, timeout=ex.options.unit_timeout)
        self._owner[unit.key] = ex
        ex.submitted.add(key)
        ex.sent_ns[key] = time.time_ns()
        ex.units_total += 1
        self.executor.submit(unit)

    def _handle(self, unit: Unit, result: UnitResult) -> None:
        ex = self._owner.get(unit.key)
        if ex is None or ex.status != "running" or unit.key in ex.results:
            return  # a failed exhibit's leftovers, or a unit returned twice: stored once at most
        step = unit.key.rsplit("|", 2)[-2]
        if result.error and unit.kind == "whole":
            self._submit_intake(ex, whole=False)  # read again as separate units: what can be stored is
        elif result.error and step != ex.step and step in ex.remaining:
            ex.deferred.setdefault(step, result)  # sent ahead: the steps before it are still stored, then it fails
        elif result.error:
            self._fail_step(ex, step, result)
        if result.error:
            return
        ex.results[unit.key] = result.payload
        ex.units_done += 1
        ex.warnings += result.warnings
        ex.unit_seconds += result.seconds
        ex.unit_cpu_seconds += result.cpu_seconds
        ex.log.setdefault(step, []).append({
            "unit": unit.key.rsplit("|", 1)[-1], "host": result.host, "worker": result.worker,
            "seconds": result.seconds, "cpu_seconds": result.cpu_seconds, "attempts": result.attempts,
            "versions": result.versions, **result.details})
        try:
            self._timed(ex, self._continue, ex, unit, step)
        except EvidenceKitError as err:
            self._fail(ex, str(err))
            return
        self._emit(ex)

    def _timed(self, ex: ExhibitRun, work: Callable[..., Any], *args: Any) -> Any:
        """Run ``work``, adding its time to the exhibit's coordinator time (once when nested)."""
        if self._timing:
            return work(*args)
        self._timing, began, cpu = True, time.monotonic(), time.process_time()
        try:
            return work(*args)
        finally:
            self._timing = False
            ex.store_seconds += time.monotonic() - began
            ex.store_cpu_seconds += time.process_time() - cpu

    def _continue(self, ex: ExhibitRun, unit: Unit, step: str) -> None:
        case = self.cases[ex.case_dir]
        payload = ex.results[unit.key]
        if unit.kind == "examine":
            steps.store_intake(case, self.examiner, payload, self._note(ex, "intake"))
            self._advance(ex)
        elif unit.kind == "whole":  # a small exhibit's intake and process reads: stored as from their units
            steps.store_intake(case, self.examiner, small.unpack(ex, payload, case.db), self._note(ex, "intake"))
            self._advance(ex)
        elif unit.kind == "plan":
            self._submit_lists(case, ex, payload)
        elif unit.kind == "list":
            assert ex.staging is not None
            part = int(unit.key.rsplit("-", 1)[-1])
            if ex.staging.last_missing(part) and ex.step == "process":  # registered: its algorithms are known
                # the check after reads the media while the last rows are stored (and the check before may still run)
                self._submit(ex, "process", "media", "after", algorithms=steps.gate_algorithms(case, ex.spec.id))
            ex.staging.add(part, payload)
            ex.results[unit.key] = None  # stored: free the rows
            ex.files += len(payload)
        elif unit.kind == "plaso" and ex.step == "timeline":
            self._store_plaso(case, ex)
            self._advance(ex)
        elif unit.kind == "scan" and ex.step == step:  # sent ahead, or sent by its own step
            self._store_content(case, ex, step)
            self._advance(ex)
        if ex.step == "process" and unit.kind not in ("whole", "examine") and self._store_process(case, ex):
            self._advance(ex)

    def _submit_lists(self, case: Case, ex: ExhibitRun, plan: steps.ListingPlan) -> None:
        """The plan's listing units. With one worker (and the exhibit registered) the first starts
        the check before's media hash beside the walk, the ``before`` unit after them collects it
        (``batch.media_hash``): the overlap of ``case process``'s two threads."""
        ex.staging = Staging(case.db, ex.spec.id, len(plan.parts))
        beside = None
        if self.executor.size() <= 1 and ex.step == "process" and ex.key("process", "before") not in ex.submitted:
            beside = {"token": uuid.uuid4().hex, "algorithms": steps.gate_algorithms(case, ex.spec.id),
                      "key": ex.key("process", "before")}
        for n, (volume, segments) in enumerate(plan.parts):
            self._submit(ex, "process", "list", f"list-{n}", volume=volume, segments=segments,
                         hashes=list(ex.options.hashes), media_before=beside if n == 0 else None)
        if beside is not None:
            self._submit(ex, "process", "media", "before", **beside)

    def _store_process(self, case: Case, ex: ExhibitRun) -> bool:
        """After the walk, the media is hashed again; with both checks back, everything is stored
        at once (True: stored)."""
        key = ex.key("process")
        staging = ex.staging
        if staging is None or not staging.complete:
            return False
        algorithms = steps.gate_algorithms(case, ex.spec.id)
        self._submit(ex, "process", "media", "after", algorithms=algorithms)  # each once
        self._submit(ex, "process", "media", "before", algorithms=algorithms)  # unless sent already, beside or alone
        if key + "after" not in ex.results or key + "before" not in ex.results:
            return False
        try:
            summary = steps.store_processed(case, self.examiner, ex.spec.id, ex.results[key + "plan"], staging,
                                            ex.results[key + "before"], ex.results[key + "after"],
                                            tuple(ex.options.hashes), self._note(ex, "process"))
        finally:
            staging.drop()
            ex.staging = None
        ex.files = int(summary.get("files", ex.files))
        for done in [k for k in ex.results if k.startswith(key)]:
            del ex.results[done]
        return True

    def _start_timeline(self, case: Case, ex: ExhibitRun) -> bool:
        part = steps.timeline_fs(case, self.examiner, ex.spec.id, steps.now_ns())
        ex.events, ex.warnings = part["events"], ex.warnings + part["warnings"]
        if ex.options.artifacts.lower() == "none":
            self._finish_timeline(case, ex)
            return False
        self._send_ahead(case, ex, "timeline")
        return not self._store_plaso(case, ex)

    def _store_plaso(self, case: Case, ex: ExhibitRun) -> bool:
        """The plaso run, if back: placed into the case and imported, then the step's end."""
        key = ex.key("timeline", "plaso")
        if key not in ex.results:
            return False
        run = steps.place_plaso(case, ex.spec.id, ex.results.pop(key))
        part = steps.timeline_plaso(case, self.examiner, ex.spec.id, run, ex.options.artifacts, steps.now_ns())
        steps.tidy_work(run.jsonl.parent, self.loaded.work_dir())
        ex.events += part["events"]
        ex.warnings += part["warnings"]
        self._finish_timeline(case, ex)
        return True

    def _finish_timeline(self, case: Case, ex: ExhibitRun) -> None:
        native = steps.timeline_native(case, self.examiner, ex.spec.id, steps.now_ns(), self._note(ex, "timeline"),
                                        ex.credentials)
        if native is not None:
            ex.events += native["events"]
            ex.warnings += native["warnings"]

    def _store_content(self, case: Case, ex: ExhibitRun, step: str) -> bool:
        key = ex.key(step, "scan")
        if key not in ex.results:
            return False
        content = self.prepared[ex.case_dir].content(step)
        out = analysis.store_content(case, self.examiner, ex.spec.id, content, ex.results.pop(key), ex.sent_ns[key])
        ex.warnings += [f"{step}: {out['warnings']} files with warnings"] if out.get("warnings") else []
        steps.record_note(case, self.examiner, ex.spec.id, self._note(ex, step))
        return True

    def _store_hashsets(self, case: Case, ex: ExhibitRun) -> None:
        out = analysis.store_hashsets(case, self.examiner, ex.spec.id, self.prepared[ex.case_dir].hashsets())
        ex.warnings += [f"hashsets: {name}: {r['files_without_usable_hash']} files without a usable hash"
                        for name, r in out["results"].items() if r["files_without_usable_hash"]]
        steps.record_note(case, self.examiner, ex.spec.id, self._note(ex, "hashsets"))

    def _run_sop(self, case: Case, ex: ExhibitRun, sop_id: str) -> None:
        status, message = analysis.run_sop_step(case, self.examiner, ex.spec.id, sop_id)
        if status == "stopped":
            raise CaseError("SOP {sop_id}: {message}", sop_id=sop_id, message=message)
        if status != "completed":
            ex.warnings.append(f"SOP {sop_id} {status}: {message} (continue with 'evidencekit sop run')")

    def _fail_step(self, ex: ExhibitRun, step: str, result: UnitResult) -> None:
        if result.timed_out:
            self._record_timeout(ex, step, result)
        self._fail(ex, result.error or "")

    def _record_timeout(self, ex: ExhibitRun, step: str, result: UnitResult) -> None:
        """A unit that stopped at its time-out: a warning in the case's ledger, then the exhibit fails."""
        case = self.cases[ex.case_dir]
        exhibit = ex.spec.id if steps.registered_path(case, ex.spec.id) is not None else None
        steps.record_note(case, self.examiner, exhibit, {
            "manifest_sha256": self.loaded.sha256, "step": step, "executor": self.executor.kind,
            "unit": result.key.rsplit("|", 1)[-1], "unit_timeout": ex.options.unit_timeout,
            "warning": result.error, "host": result.host, "worker": result.worker})

    def _tidy_failed(self) -> None:
        """Every unit is back: a failed exhibit's plaso leftovers leave the work folder (a rerun makes them again)."""
        for ex in self.exhibits:
            if ex.status == "failed" and ex.case_dir in self.cases:
                steps.remove_work(self.loaded.work_dir(), self.cases[ex.case_dir], ex.spec.id)

    def _note(self, ex: ExhibitRun, step: str) -> dict[str, Any]:
        """The batch's record of a step: which manifest, which executor, and each unit's host and versions."""
        return {"manifest_sha256": self.loaded.sha256, "step": step, "executor": self.executor.kind,
                "units": list(ex.log.pop(step, []))}

    def _fail(self, ex: ExhibitRun, message: str) -> None:
        ex.status, ex.error = "failed", message
        ex.finished = time.monotonic()
        ex.results.clear()
        if ex.staging is not None:
            ex.staging.drop()
            ex.staging = None
        self._emit(ex)

    def _emit(self, ex: ExhibitRun) -> None:
        self.on_event({"event": "exhibit", **ex.view()})
