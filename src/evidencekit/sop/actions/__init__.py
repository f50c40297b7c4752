"""Built-in SOP step actions, one module per layer they drive.

Each module registers its actions with ``@action`` and is declared in the entry-point group
``evidencekit.sop_actions`` in ``pyproject.toml``, exactly as a plugin would be. Importing this
package imports them all (for a source tree whose package metadata is stale).
"""

from __future__ import annotations

from evidencekit.sop.actions import custody, integrity, processing, report, scan

__all__ = ["custody", "integrity", "processing", "report", "scan"]
