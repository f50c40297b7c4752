"""The media hash of the check before, run in a worker's background thread beside the walk.

``case process`` hashes the media in a second thread while it walks. A batch with one worker
gets the same overlap across units: the first listing unit starts the hash here (its media
stream is a handle of its own, so the units' cached evidence can close meanwhile) and returns
as soon as its walk is done; the listing units that follow walk while it hashes, and the
``before`` unit, sent after them, collects the digests. A ``before`` unit that lands on another worker process (a broken
pool was replaced, or a Dask worker was lost) finds nothing here and hashes the media itself,
so the result never depends on where a unit runs. ``token`` is fresh for every run of a step:
a digest from an earlier run is never taken for this one.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from evidencekit.pipeline import intake
from evidencekit.sources import Credentials

KEEP = 4  # background hashes remembered per worker (finished ones no unit collected are dropped first)
WAIT_S = 0.5
_JOBS: OrderedDict[str, cf.Future[dict[str, str]]] = OrderedDict()


def start(token: str, ev: Any, algorithms: list[str], check: Callable[[], None],
          wait_check: Callable[[], None]) -> None:
    """Start hashing ``ev``'s media for the check before, in a thread of its own (never queued
    behind an earlier hash); ``check`` is the check before's own time-out, ``wait_check`` the
    starting unit's while it waits for the media stream to open. The caller holds ``ev`` until
    then; the stream is a handle of its own (a file, a libewf handle or a dfvfs object in its own
    resolver context), so the evidence may close after the unit while the hash reads on."""
    if token in _JOBS:
        return
    opened = threading.Event()
    if ev.kind in ("directory", "zip", "tar"):
        opened.set()  # hashed from its path: the evidence object is not read
    job: cf.Future[dict[str, str]] = cf.Future()

    def run() -> None:
        try:
            job.set_result(intake.media_digests(_Opening(ev, opened), algorithms, lambda n: check()))
        except BaseException as err:  # handed to the unit that collects it
            job.set_exception(err)
        finally:
            opened.set()  # whatever failed before the stream opened

    _JOBS[token] = job
    threading.Thread(target=run, name="media-before", daemon=True).start()
    while not opened.wait(WAIT_S):  # the media stream is open (or failed to open): the unit may let ev go
        wait_check()
    while len(_JOBS) > KEEP:
        stale = next((t for t, done in _JOBS.items() if done.done()), None)
        if stale is None:
            break
        del _JOBS[stale]


class _Opening:
    """``ev`` as ``verify.media_digests`` uses it, telling when its media stream has been opened."""

    def __init__(self, ev: Any, opened: threading.Event):
        self._ev, self._opened = ev, opened

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ev, name)

    def open_media(self) -> Any:
        try:
            return self._ev.open_media()
        finally:
            self._opened.set()


def collect(token: str | None, check: Callable[[], None]) -> dict[str, str] | None:
    """The digests started with ``token`` in this process (waiting for them under this unit's
    time-out), or None when they were not started here."""
    job = _JOBS.pop(token, None) if token else None
    if job is None:
        return None
    while True:
        try:
            return job.result(timeout=WAIT_S)
        except cf.TimeoutError:
            check()


def media(path: str, credentials: Credentials, algorithms: list[str], check: Callable[[], None],
          token: str | None, evidence: Callable[..., Any]) -> tuple[dict[str, str], bool]:
    """Digests of the decoded media (the integrity gate's reading part), and whether they come
    from the background hash of ``token`` (started in this worker); else they are read here from
    the evidence ``evidence(path, credentials)`` opens (the worker's cache of open evidence)."""
    got = collect(token, check)
    if got is not None:
        return got, True
    with evidence(path, credentials) as ev:
        return intake.media_digests(ev, algorithms, lambda n: check()), False
