"""Opening a registered exhibit's evidence: always as it was registered.

The code page of its 8-bit names and the zone of its local-time fields are the exhibit's (recorded
at intake), so every step reads the same names and times as the inventory holds. Keys are never
stored in a case: a password or recovery key is given again by whoever runs the step.
"""

from __future__ import annotations

from typing import Any

from evidencekit.sources import Credentials, Evidence, open_evidence


def open_exhibit(exhibit: Any, credentials: Credentials | None = None, locked_ok: bool = False) -> Evidence:
    """The evidence of ``exhibit`` (a ``case.store.Exhibit``), read-only, opened as registered."""
    return open_evidence(exhibit.path, credentials, locked_ok=locked_ok,
                         name_encoding=getattr(exhibit, "name_encoding", None),
                         source_tz=getattr(exhibit, "source_tz", None))
