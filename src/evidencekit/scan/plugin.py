"""The scan layer's built-in registrations: its tables and the digest of a scan run's rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidencekit.registry import Registry


def register(registry: Registry) -> None:
    from evidencekit.scan.schema import MIGRATIONS

    registry.add_migrations("scan", MIGRATIONS)
    registry.add("digest", "scan_runs", "evidencekit.scan.store:run_digest")
    registry.add("digest", "scan_runs@legacy", "evidencekit.scan.store:legacy_run_digest")
