"""Listing a large file system on several cores, with exactly the output of one core.

The walk is cut into segments (``TskFileSystem.plan``) whose outputs, concatenated in plan
order, equal the serial walk. Worker processes each open the evidence themselves, list and hash
their segments, and send back records or rendered text; the parent yields them in plan order.
Given an output file (``direct_to``), the workers write their rendered chunks to it themselves,
each when the chunk before it is written: the parent no longer copies every byte.
Workers are forked (cheap) with dfvfs's shared resolver cache replaced, so that no worker reads
through a file object, and so a file offset, that another process also uses.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from evidencekit.models import FileRecord
from evidencekit.sources.base import Credentials, Evidence

# Below this many inodes, starting workers costs more than listing on one core.
MIN_INODES = 20_000
SEGMENTS_PER_JOB = 8
MAX_CHUNK = 16  # segments per message to a worker

Renderer = Callable[[list[FileRecord]], tuple[Any, int]]
_WORKER: dict[str, Any] = {}


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def _init_worker(path: str, credentials: Credentials, turn: Any = None, turn_changed: Any = None,
                 fd: int | None = None) -> None:
    from evidencekit.sources import open_evidence, reset_after_fork

    reset_after_fork()  # the parent's cached file objects stay the parent's
    _WORKER.update(evidence=open_evidence(path, credentials), turn=turn, turn_changed=turn_changed, fd=fd)


def _start_method() -> str:
    from evidencekit.sources import fork_safe

    return "fork" if fork_safe() else "spawn"


def _run_segment(task: tuple[str, Any, tuple[str, ...], Renderer | None]) -> tuple[Any, int, list[str]]:
    from evidencekit.inventory.listing import hash_entries

    volume, segment, hashes, renderer = task
    evidence = _WORKER["evidence"]
    reader = evidence.reader(volume)
    seen = len(reader.warnings)
    records = list(hash_entries(reader.segment_entries(evidence.path, segment), hashes))
    warnings = reader.warnings[seen:]
    if renderer is None:
        return records, len(records), warnings
    text, count = renderer(records)
    return text, count, warnings


def _write_chunk(task: tuple[int, list[tuple[str, Any, tuple[str, ...], Renderer | None]]]) -> tuple[int, list[str]]:
    """Render consecutive segments, then write them to the output when it is this chunk's turn."""
    number, tasks = task
    parts, count, warnings = [], 0, []
    for one in tasks:
        data, n, found = _run_segment(one)
        parts.append(data)
        count += n
        warnings += found
    data, turn, changed = b"".join(parts), _WORKER["turn"], _WORKER["turn_changed"]
    with changed:
        changed.wait_for(lambda: turn.value == number)
        view = memoryview(data)
        while view:  # a pipe may take less than all
            view = view[os.write(_WORKER["fd"], view):]
        turn.value = number + 1
        changed.notify_all()
    return count, warnings


def _descriptor(out: BinaryIO | None) -> int | None:
    try:
        return out.fileno() if out is not None else None
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError and a ValueError
        return None


def segments(evidence: Evidence, hashes: tuple[str, ...], jobs: int, volume: str | None = None,
             renderer: Renderer | None = None, direct_to: BinaryIO | None = None) -> Iterator[tuple[Any, int]]:
    """(records or rendered text, count) per segment, in walk order, listed by ``jobs`` workers.

    With a renderer and ``direct_to`` (a binary file with a descriptor, e.g. stdout), the workers
    write what they render to it in walk order, and the payload yielded for their segments is
    empty (the count is not); the caller writes the other payloads to ``direct_to`` as usual.
    """
    from evidencekit.inventory.listing import batches, hash_entries

    readers = [(name, reader) for name, reader in evidence.readers() if volume is None or name == volume]
    parallel = {name for name, reader in readers
                if jobs > 1 and hasattr(reader, "plan") and reader.size_hint() >= MIN_INODES}
    fd = _descriptor(direct_to) if renderer is not None else None
    pool, turn, turn_changed = None, None, None
    if parallel:  # start the workers first: they import and open the evidence while we plan
        context = multiprocessing.get_context(_start_method())
        if fd is not None:
            turn, turn_changed = context.Value("q", 0, lock=False), context.Condition()
        pool = context.Pool(jobs, initializer=_init_worker,
                            initargs=(evidence.path, evidence.credentials, turn, turn_changed, fd))
    try:
        for name, reader in readers:
            seen = len(reader.warnings)
            if name not in parallel or pool is None:
                for batch in batches(hash_entries(reader.entries(evidence.path), hashes), 1000):
                    yield (batch, len(batch)) if renderer is None else renderer(batch)
                evidence.warnings.extend(reader.warnings[seen:])
                continue
            tasks = [(name, segment, hashes, renderer) for segment in reader.plan(jobs * SEGMENTS_PER_JOB)]
            evidence.warnings.extend(reader.warnings[seen:])
            # Tasks go out in chunks: one message per small directory would cost more than listing it.
            # Capped, because a chunk's output is held whole in memory on both sides of the pipe.
            chunk = max(1, min(MAX_CHUNK, len(tasks) // (jobs * SEGMENTS_PER_JOB)))
            if turn is not None and turn_changed is not None and direct_to is not None:  # workers write
                direct_to.flush()  # what the caller wrote so far comes first
                with turn_changed:
                    turn.value = 0
                chunks = [tasks[i:i + chunk] for i in range(0, len(tasks), chunk)]
                for count, warnings in pool.imap(_write_chunk, enumerate(chunks)):
                    evidence.warnings.extend(warnings)
                    yield b"", count
                continue
            for payload, count, warnings in pool.imap(_run_segment, tasks, chunksize=chunk):
                evidence.warnings.extend(warnings)
                yield payload, count
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
