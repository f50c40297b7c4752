"""CASE/UCO JSON-LD export of a case's chain of custody (in progress)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evidencekit.case.examiners import Examiner
from evidencekit.case.store import Case
from evidencekit.errors import CustodyError


def export_case(case: Case, out: str | Path | None, examiner: Examiner) -> dict[str, Any]:
    raise CustodyError("CASE/UCO export is not available yet")
