"""The timeline's built-in registrations: its tables, the digest of a build's rows, native readers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidencekit.registry import Registry


def register(registry: Registry) -> None:
    from evidencekit.timeline.schema import MIGRATIONS

    for migration in MIGRATIONS:
        registry.add("schema", f"timeline:{migration.number}", migration)
    registry.add("digest", "timeline_runs", "evidencekit.timeline.store:run_digest")
    registry.add("reader", "ios_calls", "evidencekit.timeline.native:IOS_CALLS")
