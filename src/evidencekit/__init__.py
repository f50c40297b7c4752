"""evidencekit: forensically sound ingest, inventory, timelines, custody and SOP checklists.

The public API is small: :func:`open_evidence`, :class:`Case` (once the case store is present),
and ``__version__``. Everything the CLI does is reachable from here.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("evidencekit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from evidencekit.sources import open_evidence  # noqa: E402

__all__ = ["open_evidence", "__version__"]


def __getattr__(name: str):  # lazy: the case store pulls in cryptography and SQLite set-up
    if name == "Case":
        from evidencekit.case import Case

        return Case
    raise AttributeError(name)
