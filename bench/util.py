"""Timing helpers shared by the benchmarks: alternated runs, medians, ratios, peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

VENV_BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv", "bin")


def evidencekit() -> str:
    return os.path.join(VENV_BIN, "evidencekit")


def run_timed(cmd: Sequence[str] | str, shell: bool = False) -> float:
    """Wall seconds of one run of the command, output discarded."""
    start = time.perf_counter()
    subprocess.run(cmd, shell=shell, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


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
            elapsed = run_timed(cmd, shell=isinstance(cmd, str))
            times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def bench_examiner():  # type: ignore[no-untyped-def]
    """The benchmarks' examiner "bench" in the current evidencekit home: loaded, or made on first use
    (several benchmarks run in one process and may share a home)."""
    from evidencekit.case import examiners
    from evidencekit.errors import EvidenceKitError

    try:
        return examiners.load_examiner("bench")
    except EvidenceKitError:
        return examiners.init_examiner("Bench Examiner", "bench")


def use_home(home: Path | str, examiner: str | None = None) -> None:
    """Point this process's evidencekit at ``home`` (settings are read once per process: forget them)."""
    from evidencekit import settings

    os.environ["EVIDENCEKIT_HOME"] = str(home)
    if examiner:
        os.environ["EVIDENCEKIT_EXAMINER"] = examiner
    settings.reset()
