"""Streaming hashes: several algorithms in one read pass."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import BinaryIO

CHUNK = 1 << 20


class MultiHasher:
    """Feeds each chunk to every algorithm. ``hexdigests()`` returns {"md5": hex, ...}."""

    def __init__(self, algorithms: Iterable[str]):
        self._hashes = {name: hashlib.new(name) for name in algorithms}

    def update(self, data: bytes | memoryview) -> None:
        for h in self._hashes.values():
            h.update(data)

    def hexdigests(self) -> dict[str, str]:
        return {name: h.hexdigest() for name, h in self._hashes.items()}


def hash_stream(
    stream: BinaryIO, algorithms: Iterable[str], progress: Callable[[int], None] | None = None
) -> dict[str, str]:
    """Hash ``stream`` from its current position to its end."""
    hasher = MultiHasher(algorithms)
    while chunk := stream.read(CHUNK):
        hasher.update(chunk)
        if progress:
            progress(len(chunk))
    return hasher.hexdigests()
