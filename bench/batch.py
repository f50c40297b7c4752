"""Batch processing benchmark (issue 12).

Eight exhibits in one case: the synthetic ext4 benchmark image and seven corpus images. Steps
intake, process and the file system timeline (plaso is left out: its own benchmark is
bench/timeline.py, and it would dominate). Measured, all as whole commands:

1. by hand: `case init`, then per exhibit `case add`, `case process -j 1`, `timeline build
   --artifacts none` (each unit in one process, as the batch runs it): as those commands, and as
   the same library calls in one process (the stricter reference: no start-up but one);
2. `batch run --workers 1` and `--workers 2`;
3. `batch run --scheduler` on a 2-worker Dask cluster on this machine (`dask scheduler` and
   `dask worker --nthreads 1` from the project's environment);
4. beside the issue's mix, whose one large exhibit holds nearly all the work: a balanced mix of
   four ext4 images of a quarter of the files each, with 1 and 2 workers (what the pool gains
   when the work divides).

Targets: 2 workers >= 1.7x faster than 1; Dask within 10% of the local pool; batch overhead
(1 worker against by hand) at most 5%. Then the scaling model for 4, 16 and 64 workers from the
measured unit times, the coordinator's time and the storage read rate (docs/batch.md).

Run: `python -m bench batch`; the ext4 image has 5,000 files unless BENCH_BATCH_FILES says
otherwise (50000 for the full benchmark image). Each way runs BENCH_BATCH_ROUNDS times (3),
interleaved; the figures are the medians (several minutes on 2 cores with 50000 files).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.images import ext4_image
from bench.util import VENV_BIN, evidencekit

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
CORPUS_IMAGES = (
    "log2timeline/dfvfs/test_data/ext2.split.E01", "log2timeline/dfvfs/test_data/hfsplus.raw",
    "log2timeline/dfvfs/test_data/ext2.qcow2", "log2timeline/dfvfs/test_data/iso9660.raw",
    "log2timeline/plaso/test_data/image-split.E01", "log2timeline/plaso/test_data/tsk_volume_system.raw",
    "sleuthkit/sleuthkit/test/data/image.E01",
)
WORKERS_MODELLED = (4, 16, 64)


def _env(work: Path) -> dict[str, str]:
    home = work / "batch-bench-home"
    env = dict(os.environ, EVIDENCEKIT_HOME=str(home), EVIDENCEKIT_EXAMINER="bench")
    # As an installed evidencekit runs: from compiled bytecode. Without it (PYTHONDONTWRITEBYTECODE,
    # set on the lab's CI machine) every process compiles the sources again, about 0.5 s CPU each,
    # which the batch pays once per process and by hand once in all: cached outside the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    if not (home / "examiners" / "bench.key").exists():
        subprocess.run([evidencekit(), "examiner", "init", "--name", "Bench Examiner", "--id", "bench"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
    return env


def _exhibits(work: Path) -> list[tuple[str, Path]]:
    files = int(os.environ.get("BENCH_BATCH_FILES", "5000"))
    found = [("EXT4", ext4_image(work, files))]
    found += [(f"C{i}", CORPUS / rel) for i, rel in enumerate(CORPUS_IMAGES, 1) if (CORPUS / rel).is_file()]
    return found


def _balanced(work: Path) -> list[tuple[str, Path]]:
    """Four ext4 images of a quarter of the files each: a mix no one exhibit dominates."""
    quarter = max(1000, int(os.environ.get("BENCH_BATCH_FILES", "5000")) // 4)
    return [(f"B{i}", ext4_image(work, quarter + i)) for i in range(1, 5)]


def _manifest(work: Path, name: str, exhibits: list[tuple[str, Path]]) -> Path:
    import yaml

    case_dir = work / f"batch-{name}"
    shutil.rmtree(case_dir, ignore_errors=True)
    doc = {"cases": [{"dir": str(case_dir), "number": f"BENCH/{name}", "title": "batch bench", "authority": "none",
                      "exhibits": [{"id": eid, "path": str(path)} for eid, path in exhibits],
                      "options": {"artifacts": "none"}}]}
    path = work / f"batch-{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


# Runs a command as a child subreaper and waits for every descendant before it exits, so that the
# CPU of processes the command does not wait for itself (the local pool's fork server and the
# workers it forks) is counted in this benchmark's RUSAGE_CHILDREN.
REAPER = """
import ctypes, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
code = subprocess.run(sys.argv[1:]).returncode
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
sys.exit(code)
"""


def _reaped(cmd: list[str]) -> list[str]:
    return [sys.executable, "-c", REAPER, *cmd]


def _wall(cmds: list[list[str]], env: dict[str, str]) -> tuple[float, str]:
    wall, _, out = _timed(cmds, env)
    return wall, out


def _timed(cmds: list[list[str]], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the commands and the children they waited for, last stdout)."""
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    out = ""
    for cmd in cmds:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode not in ok:
            raise SystemExit(f"bench: {' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        out = proc.stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - start, cpu, out


BY_HAND = """
import sys
from evidencekit.case import Case, examiners
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.pipeline.processing import process_exhibit
from evidencekit.pipeline.timeline import build
examiner = examiners.load_examiner("bench")
with Case.init(sys.argv[1], number="BENCH/hand", title="by hand", authority="none", examiner=examiner) as case:
    for arg in sys.argv[2:]:
        eid, path = arg.split("=", 1)
        add_exhibit(case, path, eid, examiner)
        process_exhibit(case, eid, examiner, jobs=1)
        build(case, examiner, [eid], artifacts="none")
"""


def by_hand(work: Path, exhibits: list[tuple[str, Path]], env: dict[str, str]) -> tuple[float, float, float]:
    """(the same library calls as `case add`, `case process -j 1`, `timeline build` in one process, one after
    another; the start-up of one evidencekit command, which by hand is paid three times per exhibit)."""
    case = work / "batch-by-hand"
    shutil.rmtree(case, ignore_errors=True)
    wall, cpu, _ = _timed([[sys.executable, "-c", BY_HAND, str(case), *(f"{eid}={path}" for eid, path in exhibits)]],
                          env)
    startup, _ = _wall([[evidencekit(), "case", "status", str(case)]], env)
    return wall, cpu, startup


def by_commands(work: Path, exhibits: list[tuple[str, Path]], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) of the same work as the commands an examiner types: `case init`, then per exhibit
    `case add`, `case process -j 1` and `timeline build --artifacts none`."""
    case = work / "batch-by-commands"
    shutil.rmtree(case, ignore_errors=True)
    ek = evidencekit()
    cmds = [[ek, "case", "init", str(case), "--number", "BENCH/commands", "--title", "by commands",
             "--authority", "none"]]
    for eid, path in exhibits:
        cmds += [[ek, "case", "add", str(case), str(path), "--exhibit", eid],
                 [ek, "case", "process", str(case), "--exhibit", eid, "-j", "1"],
                 [ek, "timeline", "build", str(case), "--exhibit", eid, "--artifacts", "none"]]
    wall, cpu, _ = _timed(cmds, env)
    return wall, cpu


def batch(work: Path, name: str, exhibits: list[tuple[str, Path]], env: dict[str, str], *args: str
          ) -> tuple[float, float, list[dict]]:
    """(wall, CPU of the coordinator and its pool workers; a Dask cluster's is not counted, summary rows)."""
    manifest = _manifest(work, name, exhibits)
    wall, cpu, out = _timed([_reaped([evidencekit(), "batch", "run", str(manifest), "--json", *args])], env, (0, 1))
    rows = json.loads(out.splitlines()[-1])["exhibits"]
    if any(r["status"] != "done" for r in rows):
        raise SystemExit(f"bench: batch {name}: {[r['error'] for r in rows if r['error']]}")
    return wall, cpu, rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DaskCluster:
    """`dask scheduler` and two `dask worker --nthreads 1` from the project's environment, on 127.0.0.1."""

    def __init__(self, env: dict[str, str]):
        dask = str(Path(VENV_BIN) / "dask")
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        started = time.perf_counter()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        self.procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                        "--no-dashboard"], **quiet)]  # type: ignore[call-overload]
        self.procs += [subprocess.Popen([dask, "worker", self.address, "--nthreads", "1", "--host", "127.0.0.1",
                                         "--no-dashboard"], **quiet) for _ in range(2)]  # type: ignore[call-overload]
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        self.startup = time.perf_counter() - started  # not part of any batch

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def read_rate(exhibits: list[tuple[str, Path]]) -> tuple[float, int]:
    """(MB/s, bytes) reading every evidence file once (from the page cache if it holds them)."""
    total, start = 0, time.perf_counter()
    for _, path in exhibits:
        for part in sorted(path.parent.glob(path.name.rsplit(".", 1)[0] + ".*")) if path.suffix == ".E01" else [path]:
            with open(part, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    total += len(chunk)
    return total / (time.perf_counter() - start) / 1e6, total


def critical_paths(case_dir: Path) -> dict[str, float]:
    """Per exhibit, the CPU seconds of its longest chain of units that cannot overlap: the longer
    of (examine, then the check before) and (plan, then the longest listing part: both start with
    the intake), then the check after."""
    from evidencekit.case import Case

    units: dict[str, dict[str, float]] = {}
    with Case.open(case_dir) as case:
        for entry in case.entries():
            note = entry.body["details"].get("batch", {})
            for unit in note.get("units", []):
                units.setdefault(entry.exhibit or "", {})[unit["unit"]] = unit["cpu_seconds"]
    out = {}
    for exhibit, times in units.items():
        lists = [v for k, v in times.items() if k.startswith("list-")] or [0.0]
        out[exhibit] = (max(times.get("examine", 0.0) + times.get("before", 0.0), times.get("plan", 0.0) + max(lists))
                        + times.get("after", 0.0))
    return out


def model(rows: list[dict], chains: dict[str, float], media_bytes: int, rate_mb_s: float, workers: int
          ) -> tuple[float, str]:
    """Predicted wall seconds for ``workers`` and what bounds it (docs/batch.md, "Scaling model")."""
    # CPU seconds: the load of other sessions on this machine inflates wall times, not these
    bounds = {
        "workers": sum(r["unit_cpu_seconds"] for r in rows) / workers,
        "coordinator": sum(r["store_cpu_seconds"] for r in rows),  # one writer, all cases in turn
        "storage": 4 * media_bytes / (rate_mb_s * 1e6),  # intake hash, checks before and after, listing
        "largest exhibit": max(chains.values(), default=0.0),
    }
    bound = max(bounds, key=lambda k: bounds[k])
    return bounds[bound], bound


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _spread(values: list[float]) -> str:
    return f"(runs {min(values):.2f}-{max(values):.2f})" if len(values) > 1 else ""


def run(work: Path) -> list[str]:
    if shutil.which("mke2fs") is None:
        return ["skipped: mke2fs missing (apt-get install e2fsprogs)"]
    env = _env(work)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1] / "src"),
                                                      env.get("PYTHONPATH")]))
    exhibits = _exhibits(work)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "src")],
                   env=env, check=True)
    rounds = max(1, int(os.environ.get("BENCH_BATCH_ROUNDS", "3")))
    # Rounds interleave the four ways, so that a change of load on the machine touches them alike;
    # the figures are medians over the rounds.
    balanced = _balanced(work)
    keys = ("hand", "hand_cpu", "commands", "commands_cpu", "one", "one_cpu", "two", "two_cpu", "dask",
            "b_one", "b_one_cpu", "b_two")
    times: dict[str, list[float]] = {k: [] for k in keys}
    cluster = DaskCluster(env)
    try:
        for _ in range(rounds):
            hand, hand_cpu, startup_cmd = by_hand(work, exhibits, env)
            commands, commands_cpu = by_commands(work, exhibits, env)
            one, one_cpu, rows = batch(work, "w1", exhibits, env, "--workers", "1")
            two, two_cpu, _ = batch(work, "w2", exhibits, env, "--workers", "2")
            dask, _, _ = batch(work, "dask", exhibits, env, "--scheduler", cluster.address)
            b_one, b_one_cpu, _ = batch(work, "b1", balanced, env, "--workers", "1")
            b_two, _, _ = batch(work, "b2", balanced, env, "--workers", "2")
            for key, value in zip(keys, (hand, hand_cpu, commands, commands_cpu, one, one_cpu, two, two_cpu, dask,
                                         b_one, b_one_cpu, b_two), strict=True):
                times[key].append(value)
    finally:
        cluster.close()
    med = {k: _median(v) for k, v in times.items()}
    # ratios within a round (the ways ran seconds apart) are steadier than ratios of medians
    paired = {name: _median([a / b for a, b in zip(times[x], times[y], strict=True)])
              for name, x, y in (("overhead", "one", "hand"), ("speedup", "one", "two"), ("dask", "dask", "two"),
                                 ("balanced", "b_one", "b_two"))}
    hand, hand_cpu, commands, commands_cpu, one, one_cpu, two, two_cpu, dask, b_one, b_one_cpu, b_two = (
        med[k] for k in keys)
    rate, media = read_rate(exhibits)
    chains = critical_paths(work / "batch-w2")  # its listing split in parts
    files = sum(r["files"] for r in rows)
    units, coord = sum(r["unit_cpu_seconds"] for r in rows), sum(r["store_cpu_seconds"] for r in rows)
    biggest = max(rows, key=lambda r: r["unit_cpu_seconds"])
    cores = os.cpu_count() or 1
    # What 2 workers can gain here: the cores the 1-worker run leaves idle (its coordinator and the
    # hashing threads already use part of the second core), and the chain of the largest exhibit
    # that no number of workers shortens (its units in order, then its coordinator time).
    used = one_cpu / one
    chain = chains.get(biggest["exhibit"], 0.0) + biggest["store_cpu_seconds"]
    out = [f"  {len(exhibits)} exhibits, {files:,} files, {media / 1e6:.1f} MB of evidence files; "
           f"medians of {rounds} rounds",
           f"  by hand: {3 * len(exhibits) + 1} commands (init; add, process -j 1, timeline build) "
           f"{commands:7.2f} s wall {commands_cpu:6.2f} s CPU {_spread(times['commands'])}",
           f"  by hand: the same library calls in one process {hand:7.2f} s wall {hand_cpu:6.2f} s CPU  (no start-up "
           f"but one: a command starts in {startup_cmd:.2f} s) {_spread(times['hand'])}",
           f"  batch run --workers 1                        {one:7.2f} s wall {one_cpu:6.2f} s CPU  overhead "
           f"{100 * (one / commands - 1):+.1f}% against the commands (target <= +5%); "
           f"{100 * (one / hand - 1):+.1f}% wall {100 * (one_cpu / hand_cpu - 1):+.1f}% CPU against one process "
           f"(per round: {100 * (paired['overhead'] - 1):+.1f}%) {_spread(times['one'])}",
           f"  batch run --workers 2                        {two:7.2f} s wall {two_cpu:6.2f} s CPU  speed-up "
           f"{one / two:.2f}x (target >= 1.7x; per round {paired['speedup']:.2f}x) {_spread(times['two'])}",
           f"  batch run --scheduler (2 Dask workers)       {dask:7.2f} s  {100 * (dask / two - 1):+.1f}% against the "
           f"pool (target within 10%; per round {100 * (paired['dask'] - 1):+.1f}%) {_spread(times['dask'])}; "
           f"cluster start {cluster.startup:.1f} s not included",
           f"  CPU in units {units:.2f} s (largest exhibit {biggest['exhibit']} {biggest['unit_cpu_seconds']:.2f} s, "
           f"its chain of units and coordinator time {chain:.2f} s), in the coordinator {coord:.2f} s; "
           f"read rate {rate:.0f} MB/s",
           f"  what 2 workers can gain on {cores} cores: the 1-worker run already uses {used:.2f} cores, so at most "
           f"{cores / used:.2f}x; the largest exhibit's chain allows at most {one / max(chain, 1e-9):.2f}x",
           f"  a balanced mix ({len(balanced)} ext4 images of {balanced[0][1].stem.split('-')[-1]}+ files): --workers 1 {b_one:.2f} s, --workers 2 {b_two:.2f} s: speed-up {b_one / b_two:.2f}x "
           f"(per round {paired['balanced']:.2f}x; the 1-worker run uses {b_one_cpu / b_one:.2f} cores: at most "
           f"{cores / (b_one_cpu / b_one):.2f}x here)",
           f"  load average during the run: {os.getloadavg()[0]:.1f} on {cores} CPUs"]
    for n in WORKERS_MODELLED:
        wall, bound = model(rows, chains, media, rate, n)
        out.append(f"  model {n:3d} workers: {wall:7.2f} s ({len(exhibits) / wall * 3600:8.0f} exhibits/h of this mix, "
                   f"bound by {bound})")
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    for line in run(Path(__file__).resolve().parents[1] / "bench-output"):
        print(line)
