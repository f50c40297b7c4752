"""Hashed super-timelines: file system times, NTFS anomaly flags and plaso artefacts.

This package derives and stores events; it never opens a case. The case-level entry points are
``evidencekit.pipeline.timeline`` (``build(case, examiner, ...)``, ``timeline(case, ...)``) and
``evidencekit.exporters.timeline.export(case, examiner, fmt, out)``. See docs/timeline.md.
"""

from __future__ import annotations

from evidencekit.timeline.events import TimelineEvent, derive_events, group_macb
from evidencekit.timeline.store import Query

__all__ = ["Query", "TimelineEvent", "derive_events", "group_macb"]
