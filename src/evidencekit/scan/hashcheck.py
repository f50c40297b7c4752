"""Hash-set look-up of inventoried files (known-good, known-bad); stored by ``pipeline/scan.py``.

Uses the hashes the inventory already holds (no evidence is read). A file is in a set when any
of its digests of an algorithm the set holds is in it; the strongest such algorithm is recorded.
Re-checking against a set replaces that set's earlier hits; one ledger entry per exhibit names
every set by its manifest and source hashes.
"""

from __future__ import annotations

from evidencekit.hashing import STRONGEST_FIRST
from evidencekit.scan.hashsets import HashSet

ALGORITHMS = STRONGEST_FIRST  # the one recorded for a hit is the strongest found
COLUMN = {"md5": 1, "sha1": 2, "sha256": 3}  # of the rows _hashes returns
Rows = list[tuple[int, str | None, str | None, str | None]]


def hits_of(hashset: HashSet, files: Rows) -> dict[int, str]:
    """file id -> algorithm of the first (strongest) digest found in ``hashset``."""
    found: dict[int, str] = {}
    for alg in reversed(ALGORITHMS):  # weakest first, so stronger algorithms overwrite
        if not hashset.counts.get(alg):
            continue
        col = COLUMN[alg]
        have = [(row[col], row[0]) for row in files if row[col]]  # contains() probes in key order itself
        flags = hashset.contains_hex(alg, [d for d, _ in have])  # type: ignore[misc]
        for index in flags.nonzero()[0]:
            found[have[index][1]] = alg
    return found


def unhashed(hashset: HashSet, files: Rows) -> int:
    cols = [COLUMN[a] for a in ALGORITHMS if hashset.counts.get(a)]
    return sum(1 for row in files if not any(row[c] for c in cols))


