"""Where units run: one interface, two back-ends.

- :class:`LocalExecutor`: a ``concurrent.futures.ProcessPoolExecutor`` on this machine. A worker
  killed mid-unit (OOM killer, ``kill -9``) breaks the pool (``BrokenProcessPool``); the executor
  then starts a new pool and resubmits every unit that was in flight, so nothing hangs.
- :class:`DaskExecutor`: a Dask ``distributed`` cluster (``--scheduler tcp://HOST:PORT``). The
  scheduler itself reschedules the units of a lost worker (up to its ``allowed-failures``).

A unit that kills its worker again and again fails after ``MAX_ATTEMPTS`` (its exhibit fails).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from evidencekit.batch.units import Unit, UnitResult, run_unit, unreadable
from evidencekit.errors import ValidationError
from evidencekit.registry import builtin_plugins

MAX_ATTEMPTS = 3
# What every unit needs: imported once by the fork server, shared by the workers it forks (the
# built-in plugins too: the first unit loads the registry, about 0.15 s of imports per worker).
PRELOAD = ("evidencekit.batch.units", "evidencekit.batch.steps", "evidencekit.registry", "evidencekit.sources.disk",
           "dfvfs.resolver_helpers", "pytsk3", *builtin_plugins())
DASK_POLL_S = 0.02


class Executor(ABC):
    """Runs units; results come back one at a time from :meth:`wait_one`."""

    kind = ""

    def __init__(self) -> None:
        self.retries = 0  # units resubmitted after a lost worker

    @abstractmethod
    def size(self) -> int:
        """How many units can run at once."""

    @abstractmethod
    def hosts(self) -> list[str]:
        """Host names (or addresses) of the workers."""

    @abstractmethod
    def submit(self, unit: Unit) -> None: ...

    @abstractmethod
    def pending(self) -> int:
        """Units submitted whose result has not been returned yet."""

    @abstractmethod
    def wait_one(self, timeout: float) -> tuple[Unit, UnitResult] | None:
        """The next finished unit, or None when none finished within ``timeout`` seconds."""

    @abstractmethod
    def unreadable(self, paths: list[str]) -> dict[str, list[str]]:
        """Per worker, the paths it cannot read."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lost(unit: Unit, attempts: int, why: str) -> UnitResult:
    return UnitResult(unit.key, error=f"{unit.evidence}: {why} {attempts} times while running unit "
                                      f"{unit.key.split('|', 1)[-1]}; giving up on it")


class LocalExecutor(Executor):
    """A process pool on this machine (``--workers N``, default: the cores)."""

    kind = "local"

    def __init__(self, workers: int | None = None):
        super().__init__()
        self.workers = max(1, workers or os.cpu_count() or 1)
        # forkserver: a worker starts clean (no copy of the coordinator's threads, open cases,
        # caches or the examiner's key), forked from a server that imported the readers once,
        # so N workers (and the pool that replaces a broken one) do not import them N times
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(list(PRELOAD))
        self._pool = self._new_pool()
        # start the workers now, from a thread (starting the fork server waits for its imports):
        # they overlap the coordinator's own start (imports, cases, checks)
        threading.Thread(target=self._start_workers, name="pool-start", daemon=True).start()
        self._futures: dict[cf.Future[UnitResult], Unit] = {}
        self._attempts: collections.Counter[str] = collections.Counter()
        self._ready: collections.deque[tuple[Unit, UnitResult]] = collections.deque()

    def _start_workers(self) -> None:
        with contextlib.suppress(RuntimeError, cf.process.BrokenProcessPool):  # closed or broken meanwhile
            self._pool.submit(os.getpid)

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.workers, mp_context=self._context)

    def size(self) -> int:
        return self.workers

    def hosts(self) -> list[str]:
        return [socket.gethostname()]

    def submit(self, unit: Unit) -> None:
        self._attempts[unit.key] += 1
        self._futures[self._pool.submit(run_unit, unit)] = unit

    def pending(self) -> int:
        return len(self._futures) + len(self._ready)

    def wait_one(self, timeout: float) -> tuple[Unit, UnitResult] | None:
        if not self._ready and self._futures:
            done, _ = cf.wait(list(self._futures), timeout, return_when=cf.FIRST_COMPLETED)
            broken = False
            for future in [f for f in self._futures if f in done]:  # in the order submitted
                unit = self._futures.pop(future)
                try:
                    result = future.result()
                    result.attempts = self._attempts[unit.key]
                    self._ready.append((unit, result))
                except cf.process.BrokenProcessPool:
                    broken = True
                    self._futures[future] = unit  # resubmitted below with the rest in flight
            if broken:
                self._restart()
        return self._ready.popleft() if self._ready else None

    def _restart(self) -> None:
        """A worker died: every unit in flight is lost with the pool; run them again on a new one."""
        lost = list(self._futures.values())
        self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        for unit in lost:
            if self._attempts[unit.key] >= MAX_ATTEMPTS:
                self._ready.append((unit, _lost(unit, self._attempts[unit.key], "a worker process died")))
                continue
            self.retries += 1
            self.submit(unit)

    def unreadable(self, paths: list[str]) -> dict[str, list[str]]:
        return {socket.gethostname(): unreadable(paths)}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """A Dask ``distributed`` cluster: the scheduler's address, or a ready ``Client`` (tests)."""

    kind = "dask"

    def __init__(self, scheduler: str | None = None, client: Any = None, connect_timeout: float = 10.0):
        super().__init__()
        from distributed import Client

        if client is None:
            try:
                client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
            except (OSError, TimeoutError) as err:
                raise ValidationError("--scheduler {scheduler}: cannot connect to a Dask scheduler: {cause}",
                                      scheduler=scheduler, cause=err) from None
            self._own = True
        else:
            self._own = False
        self.client = client
        self.scheduler = scheduler or str(client.scheduler.address)
        self._futures: dict[Any, Unit] = {}
        self._attempts: collections.Counter[str] = collections.Counter()
        if not self._workers():
            self.close()
            raise ValidationError("--scheduler {scheduler}: the scheduler has no workers",
                                  scheduler=self.scheduler)

    def _workers(self) -> dict[str, Any]:
        return dict(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def size(self) -> int:
        return sum(int(w.get("nthreads", 1)) for w in self._workers().values()) or 1

    def hosts(self) -> list[str]:
        return sorted({str(w.get("host") or addr) for addr, w in self._workers().items()})

    def submit(self, unit: Unit) -> None:
        self._attempts[unit.key] += 1
        self._futures[self.client.submit(run_unit, unit, pure=False)] = unit

    def pending(self) -> int:
        return len(self._futures)

    def wait_one(self, timeout: float) -> tuple[Unit, UnitResult] | None:
        # distributed.wait would need this client as the process default; futures know their state
        deadline = time.monotonic() + timeout
        while True:
            future = next((f for f in self._futures if f.done()), None)
            if future is not None or time.monotonic() >= deadline:
                break
            time.sleep(DASK_POLL_S)
        if future is None:
            return None
        lost = self._lost_with_workers(future)
        unit = self._futures.pop(future)
        try:
            result = future.result()  # a unit's own failure is in its result, never raised
            self.retries += lost
            result.attempts = self._attempts[unit.key] + lost
            return unit, result
        except Exception as err:
            # KilledWorker: the scheduler already retried it on other workers; anything else (a
            # cancelled or lost future, a closed connection) costs one attempt, as a dead local worker does
            killed = type(err).__name__ == "KilledWorker"
            if killed or self._attempts[unit.key] >= MAX_ATTEMPTS:
                attempts = max(self._attempts[unit.key], MAX_ATTEMPTS if killed else 0)
                return unit, _lost(unit, attempts, f"Dask workers were lost ({type(err).__name__})")
            self.retries += 1
            self.submit(unit)
            return None

    def _lost_with_workers(self, future: Any) -> int:
        """How many times the scheduler ran this unit again because its worker was lost (its
        'suspicious' count), asked before the future is released; 0 if the scheduler will not say."""
        try:  # a lambda travels by value: the scheduler needs no evidencekit to run it
            return int(self.client.run_on_scheduler(
                lambda key, dask_scheduler=None: getattr(dask_scheduler.tasks.get(key), "suspicious", 0), future.key))
        except Exception:  # only a count for the record: the unit's result stands without it
            return 0

    def unreadable(self, paths: list[str]) -> dict[str, list[str]]:
        return {str(addr): list(bad) for addr, bad in self.client.run(unreadable, paths).items()}

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        if self._own:
            self.client.close()


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """``--scheduler`` picks Dask, otherwise the local pool with ``--workers`` processes."""
    if scheduler:
        if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
            raise ValidationError("--scheduler {scheduler!r}: give an address such as tcp://HOST:8786",
                                  scheduler=scheduler)
        return DaskExecutor(scheduler)
    return LocalExecutor(workers)
