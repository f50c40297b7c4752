"""The inventory: every entry of a piece of evidence with its content hashes, on one core or many.

``files(ev, hashes)`` lists; ``parallel.segments`` is the multi-core walk the CLI and the pipeline
use for large file systems (same records, same order).
"""

from __future__ import annotations

from evidencekit.inventory.listing import batches, expected_entries, files, hash_entries, hashed_records

__all__ = ["batches", "expected_entries", "files", "hash_entries", "hashed_records"]
