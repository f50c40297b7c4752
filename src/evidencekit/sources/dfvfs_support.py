"""What the rest of evidencekit needs to know of dfvfs: path specs as JSON dicts, and its shared state.

A locator's ``spec`` is a path spec in dfvfs's own JSON serialisation, so that any dfvfs user can
reopen it. dfvfs keeps a process-wide resolver cache of open file objects; a forked worker must not
read through its parent's (they share file offsets), so workers call :func:`reset_after_fork`.
dfvfs offers no public way to do that: the one private attribute it takes is touched here alone,
and :func:`fork_safe` says whether it is still there (workers are spawned otherwise).
"""

from __future__ import annotations

import json
from typing import Any

from dfvfs.resolver import context as dfvfs_context
from dfvfs.resolver import resolver
from dfvfs.serializer.json_serializer import JsonPathSpecSerializer

_CACHE_ATTRIBUTE = "_resolver_context"


def to_spec_dict(path_spec: Any) -> dict[str, Any]:
    """A dfvfs path spec as the dict of dfvfs's own JSON serialisation."""
    return json.loads(JsonPathSpecSerializer.WriteSerialized(path_spec))  # type: ignore[no-any-return]


def from_spec_dict(data: dict[str, Any]) -> Any:
    """The dfvfs path spec a :func:`to_spec_dict` dict describes."""
    return JsonPathSpecSerializer.ReadSerialized(json.dumps(data))


def fork_safe() -> bool:
    """Whether a forked worker can be given a resolver cache of its own (see :func:`reset_after_fork`)."""
    return hasattr(resolver.Resolver, _CACHE_ATTRIBUTE)


def reset_after_fork() -> None:
    """Give this (forked) process a fresh dfvfs resolver cache: the parent's file objects stay the parent's."""
    setattr(resolver.Resolver, _CACHE_ATTRIBUTE, dfvfs_context.Context())
