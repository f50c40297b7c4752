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
from bench.util import evidencekit

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


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_process(work: Path) -> list[str]:
    image = ext4_image(work, 50_000)
    env = _env(work)
    ek = evidencekit()
    ours: list[float] = []
    peer: list[float] = []
    for _ in range(ROUNDS):
        case = _fresh_case(work, image, env)
        ours.append(_timed([ek, "case", "process", str(case)], env))
        peer.append(_timed([ek, "files", "--hash", "md5,sha256", str(image)], env))
    a, b = statistics.median(ours), statistics.median(peer)
    return [f"  evidencekit case process (50k files)      median {a:7.2f} s",
            f"  evidencekit files --hash md5,sha256        median {b:7.2f} s",
            f"  ratio case process / files = {a / b:.2f}  (target <= 1.30)"]


def build_ledger(work: Path, entries: int = LEDGER_ENTRIES) -> Path:
    """A case whose ledger holds ``entries`` signed entries (appended in one transaction)."""
    from evidencekit.case import Case, examiners, ledger

    case_dir = work / f"case-ledger-{entries}"
    if (case_dir / "case.db").exists():
        return case_dir
    env = _env(work)
    os.environ["EVIDENCEKIT_HOME"] = env["EVIDENCEKIT_HOME"]
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
    times = [_timed([evidencekit(), "custody", "verify", str(case_dir)], env) for _ in range(ROUNDS)]
    median = statistics.median(times)
    return [f"  evidencekit custody verify ({LEDGER_ENTRIES:,} entries) median {median:7.2f} s  (target < 1.00)"]


def run(work: Path) -> list[str]:
    if shutil.which("mke2fs") is None:
        return ["skipped: mke2fs missing (apt-get install e2fsprogs)"]
    return bench_verify(work) + bench_process(work)
