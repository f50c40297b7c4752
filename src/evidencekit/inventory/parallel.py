"""Listing a large file system on several cores, with exactly the output of one core.

The walk is cut into segments (``TskFileSystem.plan``) whose outputs, concatenated in plan
order, equal the serial walk. Worker processes each open the evidence themselves, list and hash
chunks of segments, and send back records or rendered text; the parent yields them in plan order.
Given an output file (``direct_to``), the workers write their rendered chunks to it themselves,
each when the chunk before it is written: the parent no longer copies every byte.
Workers are forked (cheap) with dfvfs's shared resolver cache replaced, so that no worker reads
through a file object, and so a file offset, that another process also uses.

A worker that dies (``kill -9``, the OOM killer) breaks its pool at once
(``concurrent.futures`` reports it, where ``multiprocessing.Pool`` waited for ever); the chunks
not yet delivered go to a fresh pool, at most ``RESTARTS`` times. When workers write the output
themselves, a shared board records how many bytes of each chunk are out, so a chunk written
before the death is not written again and one cut short is finished from where it stopped.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, BinaryIO

from evidencekit.errors import EvidenceError
from evidencekit.models import FileRecord
from evidencekit.sources.base import Credentials, Evidence

# Below this many inodes, starting workers costs more than listing on one core.
MIN_INODES = 20_000
SEGMENTS_PER_JOB = 8
MAX_CHUNK = 16  # segments per message to a worker
AHEAD_PER_JOB = 4  # chunks handed out but not yet delivered, per worker (bounds memory and re-listing)
RESTARTS = 2  # fresh pools after a worker died, per listing, before giving up
WRITE_PIECE = 1 << 20  # bytes per write(2) of a worker, each recorded on the board
WAIT_S = 1.0  # a worker waiting for its turn checks this often that its parent still lives

Renderer = Callable[[list[FileRecord]], tuple[Any, int]]
Task = tuple[str, Any, tuple[str, ...], "Renderer | None"]
_WORKER: dict[str, Any] = {}
log = logging.getLogger(__name__)


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


class _Board:
    """Shared by the workers of one pool that write the output in turn: whose turn it is, and per
    chunk (slot = number % slots) the bytes already written and whether a write is under way."""

    def __init__(self, context: Any, fd: int, first: int, slots: int, resume: dict[int, int]):
        self.fd, self.regular = fd, stat.S_ISREG(os.fstat(fd).st_mode)
        self.turn = context.Value("q", first, lock=False)
        self.changed = context.Condition()  # new with each pool: a dead worker may hold the old one
        self.done = context.Array("q", slots, lock=False)
        self.writing = context.Array("b", slots, lock=False)
        self.resume = resume  # chunks partly or wholly written before the last pool died
        for number, done in resume.items():
            self.done[self.slot(number)] = done

    def slot(self, number: int) -> int:
        return number % len(self.done)

    def wait_turn(self, number: int, parent: int) -> None:
        while True:  # bounded waits: a worker never blocks for ever on a lock or on a dead parent
            if self.changed.acquire(timeout=WAIT_S):
                try:
                    if self.turn.value == number or self.changed.wait_for(
                            lambda: self.turn.value == number, timeout=WAIT_S):
                        return
                finally:
                    self.changed.release()
            if os.getppid() != parent:
                os._exit(1)

    def write(self, number: int, data: bytes) -> None:
        """Write what of ``data`` is not out yet, recording each piece; then pass the turn on."""
        slot = self.slot(number)
        view = memoryview(data)[self.done[slot]:]
        while view:
            # SIGTERM (the pool ending its other workers after a death) waits until the piece
            # and its record are both done; SIGKILL cannot wait, hence the writing flag.
            with _sigterm_deferred():
                self.writing[slot] = 1
                n = os.write(self.fd, view[:WRITE_PIECE])  # a pipe may take less than all
                self.done[slot] += n
                self.writing[slot] = 0
            view = view[n:]
        with self.changed:
            self.turn.value = number + 1
            self.changed.notify_all()

    def written(self, numbers: list[int], start: int) -> dict[int, int]:
        """After the pool is gone: bytes of each chunk in ``numbers`` (from offset ``start``) in the output."""
        out, offset = {}, start
        for number in numbers:
            slot = self.slot(number)
            out[number] = self.done[slot]
            if self.writing[slot]:  # died inside write(2): only the file offset knows how far it got
                if not self.regular:
                    raise EvidenceError("a worker process died while writing to the output pipe, part of a "
                                        "chunk may be written: the output is incomplete and cannot be finished")
                out[number] = os.lseek(self.fd, 0, os.SEEK_CUR) - offset
            offset += out[number]
        return out


@contextlib.contextmanager
def _sigterm_deferred() -> Iterator[None]:
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _open_options(evidence: Evidence) -> dict[str, Any]:
    """How the parent opened the evidence, so that each worker reads it the same way."""
    return {"name_encoding": evidence.name_encoding, "source_tz": evidence.source_tz}


def _init_worker(path: str, credentials: Credentials, board: _Board | None, parent: int,
                 options: dict[str, Any]) -> None:
    from evidencekit.sources import open_evidence, reset_after_fork

    reset_after_fork()  # the parent's cached file objects stay the parent's
    threading.Thread(target=_end_with_parent, args=(parent,), name="parent-watch", daemon=True).start()
    _WORKER.update(evidence=open_evidence(path, credentials, **options), board=board, parent=parent)


def _end_with_parent(parent: int) -> None:
    """A worker whose parent was killed would wait for its next task for ever: it ends instead."""
    while os.getppid() == parent:
        time.sleep(WAIT_S)
    os._exit(1)


def _start_method() -> str:
    from evidencekit.sources import fork_safe

    return "fork" if fork_safe() else "spawn"


def _ready() -> None:
    """A no-op: submitting one per worker starts the workers (they are started on demand)."""


def _run_segment(task: Task) -> tuple[Any, int, list[str]]:
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


def _run_chunk(number: int, tasks: list[Task]) -> tuple[list[tuple[Any, int, list[str]]], int]:
    """List consecutive segments; with a board, write them to the output when it is this chunk's turn."""
    results = [_run_segment(task) for task in tasks]
    board = _WORKER["board"]
    if board is None:
        return results, 0
    data = b"".join(payload for payload, _, _ in results)
    board.wait_turn(number, _WORKER["parent"])
    board.write(number, data)
    return [(b"", count, warnings) for _, count, warnings in results], len(data)


def _descriptor(out: BinaryIO | None) -> int | None:
    try:
        return out.fileno() if out is not None else None
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError and a ValueError
        return None


class _Workers:
    """The current pool (and its board when workers write); replaced whole after a worker dies."""

    def __init__(self, evidence: Evidence, jobs: int, fd: int | None):
        self.evidence, self.jobs, self.fd = evidence, jobs, fd
        self.context = multiprocessing.get_context(_start_method())
        self.ahead = jobs * AHEAD_PER_JOB
        self.pool: ProcessPoolExecutor | None = None
        self.board: _Board | None = None
        self.restarts = 0

    def start(self, first: int, written: dict[int, int] | None = None) -> ProcessPoolExecutor:
        """A fresh pool whose first chunk to write is number ``first`` (parts already written: ``written``)."""
        if self.fd is not None:
            self.board = _Board(self.context, self.fd, first, self.ahead, written or {})
        self.pool = ProcessPoolExecutor(self.jobs, mp_context=self.context, initializer=_init_worker,
                                        initargs=(self.evidence.path, self.evidence.credentials, self.board,
                                                  os.getpid(), _open_options(self.evidence)))
        try:
            for _ in range(self.jobs):
                self.pool.submit(_ready)  # they import and open the evidence while the parent plans
        except BrokenProcessPool:
            pass  # a worker died already: the next submit or result says so, where it is handled
        return self.pool

    def submit(self, number: int, tasks: list[Task]) -> Future:
        if self.board is not None and number not in self.board.resume:
            # the slot is free: the chunk ``ahead`` numbers before this one was delivered
            self.board.done[self.board.slot(number)] = 0
            self.board.writing[self.board.slot(number)] = 0
        assert self.pool is not None
        return self.pool.submit(_run_chunk, number, tasks)

    def lost(self, volume: str, numbers: list[int], start: int) -> dict[int, int]:
        """A worker died: end the pool, say so, and return what of ``numbers`` is already in the output."""
        assert self.pool is not None
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=True, cancel_futures=True)  # also waits for the others' last writes
        self.pool = None
        # the pool ends the other workers with SIGTERM: the cause is the other exit code
        codes = sorted((p.exitcode for p in processes if p.exitcode), key=lambda c: c == -signal.SIGTERM)
        cause = f"killed by signal {-codes[0]}" if codes and codes[0] < 0 else "it exited"
        where = f"{self.evidence.path}: volume {volume or '(whole)'}"
        if self.restarts >= RESTARTS:
            raise EvidenceError("{where}: a worker process died ({cause}) {n} times; listing stopped",
                                where=where, cause=cause, n=self.restarts + 1)
        self.restarts += 1
        log.warning("evidencekit: warning: %s: a worker process died (%s); listing its part again "
                    "(fresh workers, %d of %d)", where, cause, self.restarts, RESTARTS)
        return self.board.written(numbers, start) if self.board is not None else {}

    def close(self, abort: bool = False) -> None:
        if self.pool is None:
            return
        if abort:  # after an error here or in a worker, the others may wait for a turn that never comes
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None


def _deliver(workers: _Workers, volume: str, chunks: list[list[Task]], first: int,
             start: int) -> Iterator[tuple[Any, int, list[str]]]:
    """Each segment's (payload, count, warnings) in order; chunk i is number ``first + i``, and its
    output (when workers write) begins at offset ``start`` plus the bytes of the chunks before it."""
    delivered, pending = 0, dict[int, Future]()
    while delivered < len(chunks):
        try:
            while delivered < len(chunks):
                for i in range(delivered + len(pending), min(len(chunks), delivered + workers.ahead)):
                    pending[i] = workers.submit(first + i, chunks[i])
                results, size = pending.pop(delivered).result()
                delivered += 1
                start += size
                yield from results
        except BrokenProcessPool:
            numbers = [first + i for i in sorted({delivered, *pending})]
            written = workers.lost(volume, numbers, start)
            pending = {}
            workers.start(first + delivered, written)


def segments(evidence: Evidence, hashes: tuple[str, ...], jobs: int, volume: str | None = None,
             renderer: Renderer | None = None, direct_to: BinaryIO | None = None) -> Iterator[tuple[Any, int]]:
    """(records or rendered text, count) per segment, in walk order, listed by ``jobs`` workers.

    With a renderer and ``direct_to`` (a binary file with a descriptor, e.g. stdout), the workers
    write what they render to it in walk order, and the payload yielded for their segments is
    empty (the count is not); the caller writes the other payloads to ``direct_to`` as usual.
    EvidenceError when workers keep dying.
    """
    from evidencekit.inventory.listing import batches, hash_entries

    readers = [(name, reader) for name, reader in evidence.readers() if volume is None or name == volume]
    parallel = {name for name, reader in readers
                if jobs > 1 and hasattr(reader, "plan") and reader.size_hint() >= MIN_INODES}
    fd = _descriptor(direct_to) if renderer is not None else None
    workers = _Workers(evidence, jobs, fd if _start_method() == "fork" else None)  # spawn inherits no fd
    if parallel:  # start the workers first: they import and open the evidence while we plan
        workers.start(0)
    number = 0  # chunks are numbered across volumes: the turn to write carries on
    try:
        for name, reader in readers:
            seen = len(reader.warnings)
            if name not in parallel or not hasattr(reader, "plan"):
                for batch in batches(hash_entries(reader.entries(evidence.path), hashes), 1000):
                    yield (batch, len(batch)) if renderer is None else renderer(batch)
                evidence.warnings.extend(reader.warnings[seen:])
                continue
            tasks = [(name, segment, hashes, renderer) for segment in reader.plan(jobs * SEGMENTS_PER_JOB)]
            # Every directory the plan read is listed again by a worker, which warns again: the
            # plan's own warnings would be the same lines twice.
            del reader.warnings[seen:]
            # Tasks go out in chunks: one message per small directory would cost more than listing it.
            # Capped, because a chunk's output is held whole in memory on both sides of the pipe.
            size = max(1, min(MAX_CHUNK, len(tasks) // (jobs * SEGMENTS_PER_JOB)))
            chunks = [tasks[i:i + size] for i in range(0, len(tasks), size)]
            start = 0
            if workers.fd is not None and direct_to is not None:
                direct_to.flush()  # what the caller wrote so far comes first
                start = os.lseek(workers.fd, 0, os.SEEK_CUR) if workers.board and workers.board.regular else 0
            for payload, count, warnings in _deliver(workers, name, chunks, number, start):
                evidence.warnings.extend(warnings)
                yield payload, count
            number += len(chunks)
    except BaseException:  # GeneratorExit too: the caller stopped reading
        workers.close(abort=True)
        raise
    workers.close()
