"""The case store's built-in registrations: its own tables and the digests of its stored rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidencekit.registry import Registry


def register(registry: Registry) -> None:
    from evidencekit.case.schema import CASE_MIGRATIONS

    registry.add_migrations("case", CASE_MIGRATIONS)
    registry.add("digest", "files", "evidencekit.case.rows:files_digest")
    registry.add("digest", "files@legacy", "evidencekit.case.rows:legacy_files_digest")
    registry.add("digest", "volumes", "evidencekit.case.rows:volumes_digest")
