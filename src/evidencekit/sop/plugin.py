"""The built-in SOP step actions: modules whose ``@action`` functions the SOP runner may call."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidencekit.registry import Registry


def register(registry: Registry) -> None:
    for name in ("integrity", "processing", "scan", "custody"):
        registry.add("sop_action", name, f"evidencekit.sop.actions.{name}")
