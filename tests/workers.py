"""Finding and killing the worker processes of a running `evidencekit` child (psutil)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import psutil


def workers_of(proc: subprocess.Popen) -> list[psutil.Process]:
    """The listing workers: the child's own children (not multiprocessing's resource tracker)."""
    try:
        children = psutil.Process(proc.pid).children()
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def kill_a_worker_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 180) -> int:
    """SIGKILL one worker of ``proc`` as soon as ``ready()``; returns its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = workers_of(proc)
        if found and ready():
            found[0].send_signal(signal.SIGKILL)
            return found[0].pid
        time.sleep(0.005)
    raise AssertionError("the run ended (or never started workers) before a worker could be killed")


def kill_every_worker(proc: subprocess.Popen, timeout: float = 300) -> int:
    """SIGKILL each worker ``proc`` starts, until it exits; returns how many were killed."""
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        for worker in workers_of(proc):
            if worker.pid not in killed:
                try:
                    worker.send_signal(signal.SIGKILL)
                    killed.add(worker.pid)
                except psutil.NoSuchProcess:
                    pass
                break  # one per pool: its death ends the others
        time.sleep(0.01)
    return len(killed)
