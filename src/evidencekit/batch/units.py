"""Work units: what a worker is sent and what it returns.

A unit is one piece of one step of one exhibit (``examine`` for intake; ``plan``, ``list`` and
``media`` for process; ``whole`` for both of a small exhibit; ``plaso`` for the timeline;
``scan`` for types and yara) or a ``probe`` of the evidence paths. ``Unit.timeout`` is enforced inside the unit: the compute halves call a check
as they read (per file, per hashed block), which stops the unit with :class:`UnitTimeout` (plaso:
its own time-out on the subprocesses). Its key
names it uniquely within a batch; the coordinator keeps at most one result per key, so a unit
retried after a lost worker, or run twice, stores nothing twice. Units only read evidence (and a
plaso unit writes its storage into the batch's work folder); they never open a case nor hold a key.

``run_unit`` is the one function a worker runs, on any back-end: it must stay importable by
name (Dask and the process pool pickle it by reference).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evidencekit.errors import EvidenceKitError
from evidencekit.sources import Credentials

KINDS = ("examine", "whole", "plan", "media", "list", "scan", "plaso", "probe")
# dfvfs and pytsk3 objects are not thread-safe: one unit at a time per process. Dask workers
# are started with --nthreads 1 (docs/batch.md); this lock keeps a multi-threaded one correct.
_ONE_AT_A_TIME = threading.Lock()
_VERSIONS: dict[str, str] = {}


@dataclass(frozen=True)
class Unit:
    """One piece of work. ``key``: ``<case dir>|<exhibit>|<step>|<part>``, unique in a batch."""

    key: str
    kind: str
    evidence: str = ""
    credentials: Credentials = field(default_factory=Credentials, repr=False)
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    timeout: float | None = None  # seconds (the manifest's unit_timeout)


class UnitTimeout(EvidenceKitError):
    """A unit ran longer than its time-out and stopped itself."""


def deadline_check(unit: Unit) -> Callable[[], None]:
    """The check the compute halves call as they go: raises UnitTimeout once the time is up."""
    if unit.timeout is None:
        return lambda: None
    limit = time.monotonic() + unit.timeout

    def check() -> None:
        if time.monotonic() > limit:
            raise UnitTimeout(f"{unit.evidence}: unit {unit.key.rsplit('|', 2)[-2]}/{unit.key.rsplit('|', 1)[-1]} "
                              f"stopped at its time-out ({unit.timeout:g} s, unit_timeout)")

    return check


@dataclass
class UnitResult:
    """What a unit returned (``payload``) or why it failed (``error``, one line), and where it ran."""

    key: str
    payload: Any = None
    error: str | None = None
    host: str = ""
    worker: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of this worker process: what the unit costs on an idle core
    versions: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timed_out: bool = False
    attempts: int = 1  # set by the executor: more than 1 when a lost worker made it run again
    details: dict[str, Any] = field(default_factory=dict)  # how the unit did its work, for its ledger record


def run_unit(unit: Unit) -> UnitResult:
    """Run one unit in this worker; an evidencekit error becomes ``error`` (the exhibit fails), not a crash."""
    started, cpu = time.monotonic(), time.process_time()
    result = UnitResult(unit.key, host=socket.gethostname(), worker=_worker_name())
    with _ONE_AT_A_TIME:
        try:
            result.payload, result.warnings, result.details = _dispatch(unit)
        except UnitTimeout as err:
            result.error, result.timed_out = str(err), True
        except EvidenceKitError as err:
            result.error = str(err)
        except Exception as err:  # a bug or a library failure: still one line for this exhibit
            where = traceback.extract_tb(err.__traceback__)[-1]
            result.error = f"{unit.evidence}: {type(err).__name__}: {err} (at {where.name}:{where.lineno})"
    result.seconds = round(time.monotonic() - started, 4)
    result.cpu_seconds = round(time.process_time() - cpu, 4)
    result.versions = versions(with_plaso=unit.kind == "plaso")
    return result


def _dispatch(unit: Unit) -> tuple[Any, list[str], dict[str, Any]]:
    from evidencekit.batch import steps

    p, path, cred, check = unit.params, unit.evidence, unit.credentials, deadline_check(unit)
    if unit.kind == "examine":
        return steps.examine(path, cred, p["exhibit"], p["seizure"], p.get("acquisition"), check), [], {}
    if unit.kind == "whole":
        from evidencekit.batch.small import read_whole

        whole = read_whole(path, cred, p["exhibit"], p["seizure"], p.get("acquisition"), tuple(p["hashes"]), check)
        return whole, whole["warnings"], {}
    if unit.kind == "plan":
        plan = steps.plan_listing(path, cred, p["units_per_volume"], check, p.get("trees_per_unit", 8))
        return plan, plan.warnings, {}
    if unit.kind == "list":
        beside = p.get("media_before")  # the check before, hashed beside the walk, keeps its own time-out
        before_check = deadline_check(Unit(beside["key"], "media", path, timeout=unit.timeout)) if beside else check
        rows, warnings = steps.list_part(path, cred, p["volume"], p["segments"], tuple(p["hashes"]), check,
                                         beside, before_check)
        return rows, warnings, {"started_the_check_before": True} if beside else {}
    if unit.kind == "media":
        digests, beside = steps.media(path, cred, p["algorithms"], check, p.get("token"))
        return digests, [], {"hashed_beside_the_walk": True} if beside else {}
    if unit.kind == "scan":
        return steps.content_scan(path, cred, p["registered"], p["rules"], p["file_timeout"], check), [], {}
    if unit.kind == "plaso":
        run = steps.plaso_run(path, p["exhibit_kind"], p["workdir"], p["artifacts"], unit.timeout)
        return run, [f"plaso: {run.reason}"] if run.reason else [], {}
    if unit.kind == "probe":
        return unreadable(p["paths"]), [], {}
    raise ValueError(f"unknown unit kind {unit.kind!r}")


def unreadable(paths: list[str]) -> list[str]:
    """The paths this worker cannot read (what `batch run` checks on every worker first)."""
    out = []
    for path in paths:
        ok = os.path.isdir(path) and os.access(path, os.R_OK | os.X_OK) or os.access(path, os.R_OK)
        if not ok:
            out.append(path)
    return out


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def versions(with_plaso: bool = False) -> dict[str, str]:
    """The library versions a unit ran with (recorded per unit in the case's ledger)."""
    if not _VERSIONS:
        from importlib.metadata import PackageNotFoundError, version

        _VERSIONS["python"] = sys.version.split()[0]
        for name in ("evidencekit", "dfvfs", "pytsk3", "libewf-python", "distributed"):
            try:
                _VERSIONS[name] = version(name)
            except PackageNotFoundError:
                continue
    out = dict(_VERSIONS)
    if with_plaso and "plaso" not in _VERSIONS:
        from evidencekit.timeline.plaso import plaso_version

        _VERSIONS["plaso"] = plaso_version() or "absent"
    if with_plaso:
        out["plaso"] = _VERSIONS["plaso"]
    return out
