"""Hashed super-timelines: file system times, NTFS anomaly flags and plaso artefacts.

``build(case, examiner, ...)`` derives events, ``timeline(case, ...)`` queries them and
``export(case, examiner, fmt, out)`` writes a hashed export. See docs/timeline.md.
"""

from __future__ import annotations

from evidencekit.timeline.api import build, export, timeline
from evidencekit.timeline.events import TimelineEvent, derive_events, group_macb
from evidencekit.timeline.store import Query

__all__ = ["Query", "TimelineEvent", "build", "derive_events", "export", "group_macb", "timeline"]
