"""The media hash of the check before, run in a worker's background thread beside the walk.

``case process`` hashes the media in a second thread while it walks. A batch with one worker
gets the same overlap across units: the first listing unit starts the hash here (on a handle of
its own, so the units' cached handles can close meanwhile) and returns as soon as its walk is
done; the listing units that follow walk while it hashes, and the ``before`` unit, sent after
them, collects the digests. A ``before`` unit that lands on another worker process (a broken
pool was replaced, or a Dask worker was lost) finds nothing here and hashes the media itself,
so the result never depends on where a unit runs. ``token`` is fresh for every run of a step:
a digest from an earlier run is never taken for this one.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from evidencekit.pipeline import intake
from evidencekit.sources import Credentials, open_evidence

KEEP = 4  # background hashes remembered per worker (finished ones no unit collected are dropped first)
WAIT_S = 0.5
# token -> (the evidence handle the hash reads, the hash): the handle is opened and closed by the
# units' own thread, the background thread only reads its media, as in ``case process``
_JOBS: OrderedDict[str, tuple[Any, cf.Future[dict[str, str]]]] = OrderedDict()
_THREADS: list[cf.ThreadPoolExecutor] = []


def start(token: str, path: str, credentials: Credentials, algorithms: list[str], check: Callable[[], None]) -> None:
    """Start hashing the media for the check before; ``check`` (the starting unit's time-out) applies."""
    if token in _JOBS:
        return
    if not _THREADS:
        _THREADS.append(cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="media-before"))
    ev = open_evidence(path, credentials)  # a handle of its own: the units' cached ones may close meanwhile
    _JOBS[token] = ev, _THREADS[0].submit(intake.media_digests, ev, algorithms, lambda n: check())
    while len(_JOBS) > KEEP:
        stale = next((t for t, (_, job) in _JOBS.items() if job.done()), None)
        if stale is None:
            break
        _JOBS.pop(stale)[0].close()


def collect(token: str | None, check: Callable[[], None]) -> dict[str, str] | None:
    """The digests started with ``token`` in this process (waiting for them under this unit's
    time-out), or None when they were not started here."""
    found = _JOBS.pop(token, None) if token else None
    if found is None:
        return None
    ev, job = found
    try:
        while True:
            try:
                return job.result(timeout=WAIT_S)
            except cf.TimeoutError:
                check()
    finally:
        if job.done():
            ev.close()
        else:  # this unit stopped at its time-out: the hash ends at its own check, then is dropped
            _JOBS[f"{token}-abandoned"] = found


def media(path: str, credentials: Credentials, algorithms: list[str], check: Callable[[], None],
          token: str | None = None, opened: Any = None) -> tuple[dict[str, str], bool]:
    """Digests of the decoded media (the integrity gate's reading part), and whether they come
    from the background hash of ``token`` (started in this worker); else they are read here
    from ``opened``."""
    got = collect(token, check)
    if got is not None:
        return got, True
    with opened(path, credentials) as ev:
        return intake.media_digests(ev, algorithms, lambda n: check()), False
