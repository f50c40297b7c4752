"""The installed evidencekit version, resolved once on first use (importlib.metadata costs ~25 ms)."""

from __future__ import annotations

import functools


@functools.cache
def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("evidencekit")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+unknown"
