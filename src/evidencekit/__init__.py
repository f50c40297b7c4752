"""evidencekit: forensically sound ingest, inventory, timelines, custody and SOP checklists.

The public API is small: :func:`open_evidence` (an evidence: volumes, entries, ``entry(path)``,
``open(path)``, ``files()``), :class:`Case` (a case directory: exhibits, ledger, ``timeline()``)
and ``__version__``. Everything the CLI does is reachable from here; see docs/library.md.
"""

from __future__ import annotations

from evidencekit.sources import open_evidence

__all__ = ["Case", "open_evidence", "__version__"]


def __getattr__(name: str):  # lazy: each costs start-up time a short command need not pay
    if name == "Case":  # the case store pulls in cryptography and SQLite set-up
        from evidencekit.case import Case

        return Case
    if name == "__version__":  # importlib.metadata costs about 25 ms
        from evidencekit._version import version

        globals()["__version__"] = value = version()
        return value
    raise AttributeError(name)
