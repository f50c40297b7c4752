"""Case store benchmarks (issue 3).

1. `evidencekit case process` of the 50,000-file ext4 image into a fresh case, against the plain
   `evidencekit files --hash md5,sha256` listing of the same image (target: at most 1.3x). The
   case is created and the exhibit registered outside the timed part; processing includes the
   integrity gate (media hashed before and after), the inventory with MD5+SHA256, the rows and
   the signed ledger entries.
2. `evidencekit custody verify` of a case whose ledger holds 10,000 signed entries (target: under
   1 s, command start-up included).

Run: `python -m bench case`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from bench.images import ext4_image
from bench.util import evidencekit, use_home

ROUNDS = 5
LEDGER_ENTRIES = 10_000


def _env(work: Path) -> dict[str, str]:
    home = work / "case-bench-home"
    env = dict(os.environ, EVIDENCEKIT_HOME=str(home), EVIDENCEKIT_EXAMINER="bench")
    if not (home / "examiners" / "bench.key").exists():
        subprocess.run([evidencekit(), "examiner", "init", "--name", "Bench Examiner", "--id", "bench"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
    return env


def _fresh_case(work: Path, image: Path, env: dict[str, str]) -> Path:
    case = work / "case-bench"
    shutil.rmtree(case, ignore_errors=True)
    ek = evidencekit()
    subprocess.run([ek, "case", "init", str(case), "--number", "B/1", "--title", "bench", "--authority", "none"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([ek, "case", "add", str(case), str(image), "--exhibit", "E1"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return case


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys of the process and its threads/children)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed ({proc.returncode})")
    return wall, usage.ru_utime + usage.ru_stime


def _medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def bench_process(work: Path) -> list[str]:
    image = ext4_image(work, 50_000)
    env = _env(work)
    ek = evidencekit()
    ours: list[tuple[float, float]] = []
    peer: list[tuple[float, float]] = []
    for _ in range(ROUNDS):
        case = _fresh_case(work, image, env)
        ours.append(_timed([ek, "case", "process", str(case)], env))
        peer.append(_timed([ek, "files", "--hash", "md5,sha256", str(image)], env))
    (a, a_cpu), (b, b_cpu) = _medians(ours), _medians(peer)
    return [f"  evidencekit case process (50k files)      median {a:7.2f} s wall {a_cpu:7.2f} s CPU",
            f"  evidencekit files --hash md5,sha256        median {b:7.2f} s wall {b_cpu:7.2f} s CPU",
            f"  ratio case process / files = {a / b:.2f} wall, {a_cpu / b_cpu:.2f} CPU  (target <= 1.30)",
            f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"]


def build_ledger(work: Path, entries: int = LEDGER_ENTRIES) -> Path:
    """A case whose ledger holds ``entries`` signed entries (appended in one transaction)."""
    from evidencekit.case import Case, examiners, ledger

    case_dir = work / f"case-ledger-{entries}"
    if (case_dir / "case.db").exists():
        return case_dir
    env = _env(work)
    use_home(env["EVIDENCEKIT_HOME"])
    examiner = examiners.load_examiner("bench")
    shutil.rmtree(case_dir, ignore_errors=True)
    case = Case.init(case_dir, number="B/2", title="ledger bench", authority="none", examiner=examiner)
    with case, case.transaction() as db:
        for i in range(entries - 1):
            ledger.append(db, case.id, examiner, "note", details={"text": f"bench note {i}"})
    return case_dir


def bench_verify(work: Path) -> list[str]:
    case_dir = build_ledger(work)
    env = _env(work)
    wall, cpu = _medians([_timed([evidencekit(), "custody", "verify", str(case_dir)], env) for _ in range(ROUNDS)])
    return [f"  evidencekit custody verify ({LEDGER_ENTRIES:,} entries) median {wall:7.2f} s wall "
            f"{cpu:7.2f} s CPU  (target < 1.00 s)"]


def run(work: Path) -> list[str]:
    if shutil.which("mke2fs") is None:
        return ["skipped: mke2fs missing (apt-get install e2fsprogs)"]
    return bench_verify(work) + bench_process(work)
