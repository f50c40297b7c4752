"""The coordinator: the one process that writes the case databases and signs ledger entries.

It opens (or creates) each case, checks that the workers can read the evidence, then drives each
exhibit through its steps: it sends units to the executor and, when all the units of a step are
back, stores their results in one transaction (``batch.steps``). What is stored decides what is
done: a rerun of the same manifest (after a crash, or to add exhibits) skips finished steps and
redoes unfinished ones from the start, so nothing is stored twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidencekit.batch import steps
from evidencekit.batch.executors import Executor
from evidencekit.batch.manifest import CaseSpec, ExhibitSpec, LoadedManifest
from evidencekit.batch.units import Unit, UnitResult
from evidencekit.case.examiners import Examiner
from evidencekit.case.store import Case
from evidencekit.errors import EvidenceKitError, ValidationError
from evidencekit.sources import Credentials

POLL_S = 0.25
SEIZURE = ("description", "seal", "seized_from", "seized_at", "seized_on", "received_from")


@dataclass
class ExhibitRun:
    """One exhibit's progress through its steps; what the progress table and the summary show."""

    case_dir: str
    spec: ExhibitSpec
    steps: list[str]
    options: Any
    evidence: str
    credentials: Credentials = field(default_factory=Credentials, repr=False)
    status: str = "pending"  # pending | running | done | failed
    step: str = ""
    remaining: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    files: int = 0
    events: int = 0
    units_done: int = 0
    units_total: int = 0
    unit_seconds: float = 0.0  # summed over the units (worker time)
    unit_cpu_seconds: float = 0.0
    store_seconds: float = 0.0  # the coordinator's own time: stores, signatures, fs timeline
    store_cpu_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    started: float = 0.0
    finished: float = 0.0
    step_started: float = 0.0
    log: list[dict[str, Any]] = field(default_factory=list)  # per unit of the current step: where, with what
    results: dict[str, Any] = field(default_factory=dict)  # unit key -> payload, for the current step

    @property
    def seconds(self) -> float:
        return round((self.finished or time.monotonic()) - self.started, 3) if self.started else 0.0

    def view(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.step_started if self.step_started else 0.0
        rate = self.files / elapsed if self.step == "process" and elapsed > 0 else None
        eta = (elapsed / self.units_done * (self.units_total - self.units_done)
               if self.status == "running" and self.units_done and self.units_total else None)
        return {"case": self.case_dir, "exhibit": self.spec.id, "status": self.status, "step": self.step,
                "files": self.files, "events": self.events, "units_done": self.units_done,
                "units_total": self.units_total, "rate_files_s": round(rate, 1) if rate else None,
                "eta_s": round(eta, 1) if eta is not None else None, "seconds": self.seconds,
                "unit_seconds": round(self.unit_seconds, 3), "unit_cpu_seconds": round(self.unit_cpu_seconds, 3),
                "store_seconds": round(self.store_seconds, 3), "store_cpu_seconds": round(self.store_cpu_seconds, 3),
                "skipped": self.skipped, "warnings": self.warnings, "error": self.error}


class Coordinator:
    """Runs a loaded manifest on an executor as ``examiner``; ``on_event`` sees each change."""

    def __init__(self, loaded: LoadedManifest, executor: Executor, examiner: Examiner,
                 on_event: Callable[[dict[str, Any]], None] | None = None, environ: Mapping[str, str] | None = None):
        self.loaded, self.executor, self.examiner = loaded, executor, examiner
        self.environ = environ if environ is not None else {}  # where password_env names are looked up
        self.on_event = on_event or (lambda event: None)
        self.cases: dict[str, Case] = {}
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
        finally:
            for case in self.cases.values():
                case.close()
        return [ex.view() for ex in self.exhibits]

    def _prepare(self) -> None:
        for i, spec in enumerate(self.loaded.manifest.cases):
            case_dir = self.loaded.case_dir(spec)
            runs = [self._exhibit_run(spec, case_dir, i, j, ex) for j, ex in enumerate(spec.exhibits)]
            self.exhibits += runs
            try:
                self.cases[str(case_dir)] = self._open_case(spec, case_dir)
            except EvidenceKitError as err:
                for ex in runs:
                    self._fail(ex, str(err))
        self._check_readable()
        hosts = self.executor.hosts()
        for root, case in self.cases.items():
            ids = [ex.spec.id for ex in self.exhibits if ex.case_dir == root and ex.status == "pending"
                   and not all(steps.step_done(case, ex.spec.id, step) for step in ex.steps)]
            if ids:  # a rerun with nothing left to do adds nothing to the ledger
                steps.record_batch(case, self.examiner, {
                    "manifest": str(self.loaded.path), "manifest_sha256": self.loaded.sha256,
                    "executor": self.executor.kind, "workers": self.executor.size(), "worker_hosts": hosts,
                    "exhibits": ids})

    def _exhibit_run(self, spec: CaseSpec, case_dir: Path, i: int, j: int, exhibit: ExhibitSpec) -> ExhibitRun:
        ex = ExhibitRun(str(case_dir), exhibit, list(spec.steps), spec.options, self.loaded.evidence_path(exhibit))
        ex.remaining = list(ex.steps)
        problem = self.loaded.exhibit_problems.get((i, j))
        if problem is not None:
            self._fail(ex, str(problem))
        elif exhibit.password_env:
            password = self.environ.get(exhibit.password_env)
            if password is None:
                self._fail(ex, f"exhibit {exhibit.id}: environment variable {exhibit.password_env} (password_env) "
                               "is not set")
            ex.credentials = Credentials(password=password)
        return ex

    def _open_case(self, spec: CaseSpec, case_dir: Path) -> Case:
        if not (case_dir / "case.db").exists() and not (case_dir.is_dir() and any(case_dir.iterdir())):
            return Case.init(case_dir, number=spec.number, title=spec.title, authority=spec.authority,
                             authority_date=spec.authority_date, examiner=self.examiner)
        case = Case.open(case_dir)
        if case.meta.get("number") != spec.number:
            case.close()
            raise ValidationError(f"{case_dir}: holds case {case.meta.get('number')!r}, not {spec.number!r}; "
                                  "its exhibits are not run")
        return case

    def _check_readable(self) -> None:
        """Every worker must read every evidence path (shared storage at the same path)."""
        todo = [ex for ex in self.exhibits if ex.status == "pending"]
        paths = sorted({ex.evidence for ex in todo})
        if not paths:
            return
        bad = self.executor.unreadable(paths)
        for ex in todo:
            missing_on = sorted(worker for worker, unread in bad.items() if ex.evidence in unread)
            if missing_on and len(missing_on) == len(bad):
                why = "no such file or directory" if not os.path.exists(ex.evidence) else "not readable by the workers"
                self._fail(ex, f"{ex.evidence}: {why}")
            elif missing_on:
                raise ValidationError(f"{ex.evidence}: not readable on worker {missing_on[0]} (mount the shared "
                                      "storage at the same path on every worker)")

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
                ex.units_done = ex.units_total = 0
                ex.log, ex.results = [], {}
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
            raise ValidationError(f"{case.root}: exhibit {ex.spec.id} is registered with another path "
                                  f"({registered}), not {ex.evidence}")
        if registered is None and step != "intake":
            raise ValidationError(f"{case.root}: exhibit {ex.spec.id} is not registered; add 'intake' to its steps")
        return steps.step_done(case, ex.spec.id, step)

    def _start(self, case: Case, ex: ExhibitRun, step: str) -> bool:
        """Submit the step's first units; False when the step finished here without units."""
        if step == "intake":
            seizure = {k: getattr(ex.spec, k) for k in SEIZURE}
            self._submit(ex, "examine", "examine", exhibit=ex.spec.id, seizure=seizure,
                         acquisition=ex.spec.expect[0] if ex.spec.expect else None)
        elif step == "process":
            self._submit(ex, "plan", "plan", units_per_volume=2 * max(1, self.executor.size()))
            self._submit(ex, "media", "before", algorithms=steps.gate_algorithms(case, ex.spec.id))
        else:
            part = steps.timeline_fs(case, self.examiner, ex.spec.id, steps.now_ns())
            ex.events, ex.warnings = part["events"], ex.warnings + part["warnings"]
            if ex.options.artifacts.lower() == "none":
                self._finish_timeline(case, ex, None)
                return False
            exhibit = case.exhibit(ex.spec.id)
            self._submit(ex, "plaso", "plaso", exhibit_kind=exhibit.kind, artifacts=ex.options.artifacts,
                         workdir=steps.plaso_workdir(case, ex.spec.id), timeout=ex.options.unit_timeout)
        return True

    def _submit(self, ex: ExhibitRun, kind: str, part: str, **params: Any) -> None:
        unit = Unit(f"{ex.case_dir}|{ex.spec.id}|{ex.step}|{part}", kind, ex.evidence, ex.credentials, params)
        self._owner[unit.key] = ex
        ex.units_total += 1
        self.executor.submit(unit)

    def _handle(self, unit: Unit, result: UnitResult) -> None:
        ex = self._owner.get(unit.key)
        if ex is None or ex.status != "running" or unit.key in ex.results:
            return  # a failed exhibit's leftovers, or a unit returned twice: stored once at most
        if result.error:
            self._fail(ex, result.error)
            return
        ex.results[unit.key] = result.payload
        ex.units_done += 1
        ex.warnings += result.warnings
        ex.unit_seconds += result.seconds
        ex.unit_cpu_seconds += result.cpu_seconds
        ex.log.append({"unit": unit.key.rsplit("|", 1)[-1], "host": result.host, "worker": result.worker,
                       "seconds": result.seconds, "cpu_seconds": result.cpu_seconds, "versions": result.versions})
        try:
            self._timed(ex, self._continue, ex, unit, result)
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

    def _continue(self, ex: ExhibitRun, unit: Unit, result: UnitResult) -> None:
        case = self.cases[ex.case_dir]
        if unit.kind == "examine":
            steps.store_intake(case, self.examiner, result.payload, self._note(ex))
            self._advance(ex)
        elif unit.kind == "plan":
            for n, (volume, segments) in enumerate(result.payload.parts):
                self._submit(ex, "list", f"list-{n}", volume=volume, segments=segments,
                             hashes=list(ex.options.hashes))
        elif unit.kind == "list":
            ex.files += len(result.payload)
        elif unit.kind == "plaso":
            part = steps.timeline_plaso(case, self.examiner, ex.spec.id, result.payload, ex.options.artifacts,
                                        steps.now_ns())
            ex.events += part["events"]
            ex.warnings += part["warnings"]
            self._finish_timeline(case, ex, part)
        if ex.step == "process":
            self._process_progress(case, ex)

    def _process_progress(self, case: Case, ex: ExhibitRun) -> None:
        """After the walk, the media is hashed again; with that back, everything is stored at once."""
        key = f"{ex.case_dir}|{ex.spec.id}|process|"
        plan = ex.results.get(key + "plan")
        if plan is None or len(ex.results) < len(plan.parts) + 2:  # plan, before, the parts
            return
        if key + "after" not in ex.results:
            if ex.units_total == len(plan.parts) + 2:
                self._submit(ex, "media", "after", algorithms=steps.gate_algorithms(case, ex.spec.id))
            return
        parts = (ex.results[f"{key}list-{n}"] for n in range(len(plan.parts)))
        summary = steps.store_processed(case, self.examiner, ex.spec.id, plan, parts, ex.results[key + "before"],
                                        ex.results[key + "after"], tuple(ex.options.hashes), self._note(ex))
        ex.files = int(summary.get("files", ex.files))
        ex.results.clear()  # the rows are stored; free them
        self._advance(ex)

    def _finish_timeline(self, case: Case, ex: ExhibitRun, plaso: dict[str, Any] | None) -> None:
        native = steps.timeline_native(case, self.examiner, ex.spec.id, steps.now_ns(), self._note(ex))
        if native is not None:
            ex.events += native["events"]
            ex.warnings += native["warnings"]
        if plaso is not None:
            self._advance(ex)

    def _note(self, ex: ExhibitRun) -> dict[str, Any]:
        """The batch's record of a step: which manifest, which executor, and each unit's host and versions."""
        return {"manifest_sha256": self.loaded.sha256, "step": ex.step, "executor": self.executor.kind,
                "units": list(ex.log)}

    def _fail(self, ex: ExhibitRun, message: str) -> None:
        ex.status, ex.error = "failed", message
        ex.finished = time.monotonic()
        ex.results.clear()
        self._emit(ex)

    def _emit(self, ex: ExhibitRun) -> None:
        self.on_event({"event": "exhibit", **ex.view()})
