"""Timing helpers shared by the benchmarks: alternated runs, medians, ratios, peak memory."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from collections.abc import Sequence

VENV_BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv", "bin")


def evidencekit() -> str:
    return os.path.join(VENV_BIN, "evidencekit")


def run_timed(cmd: Sequence[str] | str, shell: bool = False) -> tuple[float, int]:
    """Wall seconds and the peak RSS (KiB) of the command's process tree, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(cmd, shell=shell, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before)


def peak_rss_kib(cmd: Sequence[str]) -> int:
    """Peak RSS of one run of ``cmd``, as GNU time reports it.

    Not from wait4 here: a child forked from this (large) benchmark process starts with our
    pages counted, so its ru_maxrss says more about us than about the command.
    """
    gnu_time = "/usr/bin/time"
    if not os.path.exists(gnu_time):
        raise SystemExit("bench: /usr/bin/time not found: apt-get install time")
    out = subprocess.run([gnu_time, "-f", "%M", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1])


def alternate(commands: dict[str, Sequence[str] | str], rounds: int = 5) -> dict[str, float]:
    """Run each command in turn, ``rounds`` times (A B A B ...); the median wall time of each."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            elapsed, _ = run_timed(cmd, shell=isinstance(cmd, str))
            times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}
