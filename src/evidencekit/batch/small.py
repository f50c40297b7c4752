"""Small exhibits: intake and processing read in one unit.

A small image (a memory card, a test image, a few megabytes) beside a 2 TB disk would otherwise
send five small units (the intake hash, the plan, its listing, the checks before and after),
each queued behind the large disk's listing parts, and its storing would wait for the end of
the batch. Not for larger exhibits: one unit has no parts to store while the next is walked. Below the manifest's
``whole_below_mb`` the worker reads it all in one unit, in the order ``case add`` and ``case
process`` read it: the media hash of the intake, the check before, the walk, then the check
after (one after the other: for a small exhibit a second thread gains nothing). The
coordinator stores the results step by step as from separate units (the same rows and
entries), so the ledger reads the same.
"""

from __future__ import annotations

import glob
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from evidencekit.batch import steps
from evidencekit.batch.exhibit_run import ExhibitRun
from evidencekit.batch.staging import Staging
from evidencekit.pipeline import intake
from evidencekit.pipeline import processing as process
from evidencekit.sources import Credentials

MB = 1 << 20


SINGLE_FILE = (".raw", ".dd", ".img", ".bin", ".iso", ".dmg", ".zip", ".tar", ".tgz", ".gz")
SEGMENTED = (".e01", ".ex01", ".s01", ".001")


def evidence_bytes(path: str) -> int | None:
    """About the size of an evidence file with its segments (``name.*`` beside an ``.E01``,
    ``.Ex01``, ``.s01`` or ``.001``; a sidecar among them counts too: an estimate). None for a
    folder and for formats whose data may lie in other files (a VMDK's extents, a qcow2's
    backing file...): those are never taken for small."""
    source = Path(path)
    suffix = source.suffix.lower()
    if not source.is_file() or suffix not in SINGLE_FILE + SEGMENTED:
        return None
    if suffix in SEGMENTED:
        return sum(p.stat().st_size for p in source.parent.glob(glob.escape(source.stem) + ".*") if p.is_file())
    return source.stat().st_size


def is_small(path: str, below_mb: float) -> bool:
    size = evidence_bytes(path)
    return size is not None and size < below_mb * MB


def read_whole(path: str, credentials: Credentials, exhibit_id: str, seizure: dict[str, Any],
               acquisition: str | None, hashes: tuple[str, ...], check: Callable[[], None]) -> dict[str, Any]:
    """The compute halves of intake and process, one after the other in this worker."""
    examined = steps.examine(path, credentials, exhibit_id, seizure, acquisition, check)
    algorithms = process.gate_algorithms(cast(Any, intake._RowView(examined["row"])))  # as registered
    before, _ = steps.media(path, credentials, algorithms, check)  # small: no thread beside the walk
    plan = steps.plan_listing(path, credentials, 1, check)
    parts, warnings = [], list(plan.warnings)
    for volume, segments in plan.parts:
        rows, part_warnings = steps.list_part(path, credentials, volume, segments, hashes, check)
        parts.append(rows)
        warnings += part_warnings
    after, _ = steps.media(path, credentials, algorithms, check)
    return {"examined": examined, "plan": plan, "parts": parts, "before": before, "after": after,
            "warnings": warnings}


def unpack(ex: ExhibitRun, whole: dict[str, Any], db: sqlite3.Connection) -> dict[str, Any]:
    """Coordinator side: the process step's results as its own units would have left them (rows
    staged, plan and both checks in), the unit logged for both steps; the intake's result."""
    key = ex.key("process")
    ex.staging = Staging(db, ex.spec.id, len(whole["parts"]))
    for n, rows in enumerate(whole["parts"]):
        ex.staging.add(n, rows)
        ex.files += len(rows)
    for part in ("plan", "before", "after"):
        ex.results[key + part] = whole[part]
        ex.submitted.add(key + part)
    ex.log["process"] = list(ex.log.get("intake", []))
    return dict(whole["examined"])
