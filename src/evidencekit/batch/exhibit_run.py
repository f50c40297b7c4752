"""One exhibit's run through its steps: what the coordinator tracks, the progress table and the summary show."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidencekit.batch.manifest import ExhibitSpec
from evidencekit.batch.staging import Staging
from evidencekit.case.store import Case
from evidencekit.errors import ValidationError
from evidencekit.sources import Credentials


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
    log: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # step -> its units: where, with what
    results: dict[str, Any] = field(default_factory=dict)  # unit key -> payload, until stored
    submitted: set[str] = field(default_factory=set)  # unit keys sent (a unit is sent once)
    deferred: dict[str, Any] = field(default_factory=dict)  # step -> the failed result of a unit sent ahead for it
    sent_ns: dict[str, int] = field(default_factory=dict)
    staging: Staging | None = None  # the process step's rows as they come back

    def key(self, step: str, part: str = "") -> str:
        """A unit's key, ``<case dir>|<exhibit>|<step>|<part>`` (unique in a batch); without ``part``
        the prefix of the step's keys."""
        return f"{self.case_dir}|{self.spec.id}|{step}|{part}"

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


def check_readable(executor: Any, todo: list[ExhibitRun], fail: Callable[[ExhibitRun, str], None]) -> None:
    """Every worker must read every evidence path (shared storage at the same path): an exhibit
    no worker can read fails alone; one that only some workers can read stops the batch."""
    paths = sorted({ex.evidence for ex in todo})
    if not paths:
        return
    bad = executor.unreadable(paths)
    for ex in todo:
        missing_on = sorted(worker for worker, unread in bad.items() if ex.evidence in unread)
        if missing_on and len(missing_on) == len(bad):
            why = "no such file or directory" if not os.path.exists(ex.evidence) else "not readable by the workers"
            fail(ex, f"{ex.evidence}: {why}")
        elif missing_on:
            raise ValidationError("{evidence}: not readable on worker {missing_on} (mount the shared "
                                  "storage at the same path on every worker)", evidence=ex.evidence,
                                  missing_on=missing_on[0])


def open_case(spec: Any, case_dir: Path, examiner: Any) -> Case:
    """The manifest's case: created when its directory is absent or empty, else opened if it holds this case."""
    if not (case_dir / "case.db").exists() and not (case_dir.is_dir() and any(case_dir.iterdir())):
        return Case.init(case_dir, number=spec.number, title=spec.title, authority=spec.authority,
                         authority_date=spec.authority_date, examiner=examiner)
    case = Case.open(case_dir)
    if case.meta.get("number") != spec.number:
        case.close()
        raise ValidationError("{case_dir}: holds case {number!r}, not {expected!r}; its exhibits are "
                              "not run", case_dir=case_dir, number=case.meta.get('number'),
                              expected=spec.number)
    return case


def new_run(spec: Any, case_dir: Path, exhibit: Any, evidence: str, problem: Any, environ: Mapping[str, str],
            fail: Callable[[ExhibitRun, str], None]) -> ExhibitRun:
    """One exhibit's run, failed at once for a problem of its manifest entry or an unset ``password_env``."""
    ex = ExhibitRun(str(case_dir), exhibit, list(spec.steps), spec.options, evidence)
    ex.remaining = list(ex.steps)
    if problem is not None:
        fail(ex, str(problem))
    elif exhibit.password_env:
        password = environ.get(exhibit.password_env)
        if password is None:
            fail(ex, f"exhibit {exhibit.id}: environment variable {exhibit.password_env} (password_env) is not set")
        ex.credentials = Credentials(password=password)
    return ex
