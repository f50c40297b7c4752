"""The examination report (expert's conclusion): gathered from the case, rendered through the
``report`` message catalogue as HTML or PDF/A, and recorded in the custody ledger."""

from __future__ import annotations

from evidencekit.report.build import BuiltReport, build_report, languages

__all__ = ["BuiltReport", "build_report", "languages"]
