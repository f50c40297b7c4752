"""Whole-media verify of a 1 GiB raw image: `evidencekit verify` against `hashdeep -c md5,sha1,sha256`.

Alternates the two commands (hashdeep first, so its digests become our --expect values: every
round of ours is also a cross-check), reports median wall times, their ratio (target: evidencekit
at least 4x faster) and peak RSS of each process. Run: `python -m bench verify`.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.util import peak_rss_kib

SIZE = 1 << 30
ROUNDS = 5
SEED = 20240117


def build_image(work: Path, size: int = SIZE) -> Path:
    """A deterministic pseudo-random raw image (rebuilt only when missing or of another size)."""
    path = work / f"verify-{size >> 20}MiB.raw"
    if path.is_file() and path.stat().st_size == size:
        return path
    rng = random.Random(SEED)
    block = 8 << 20
    with open(path.with_suffix(".tmp"), "wb") as fh:
        for _ in range(size // block):
            fh.write(rng.randbytes(block))
        fh.write(rng.randbytes(size % block))
    path.with_suffix(".tmp").rename(path)
    return path


def timed(cmd: list[str]) -> tuple[float, int, int, str]:
    """Run ``cmd``; returns (wall seconds, 0, exit status, stdout); peak RSS is measured apart."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr:
        proc.stderr.close()
    return wall, 0, proc.returncode, out.decode(errors="replace")


def _ours(image: Path, expect: list[str]) -> list[str]:
    exe = Path(sys.executable).with_name("evidencekit")
    base = [str(exe)] if exe.exists() else [sys.executable, "-c", "from evidencekit.cli import main; main()"]
    return [*base, "verify", str(image), "--no-sidecars", *[a for e in expect for a in ("--expect", e)]]


def _hashdeep_expect(stdout: str) -> list[str]:
    row = next(line for line in stdout.splitlines() if line and not line.startswith(("%", "#")))
    _size, md5, sha1, sha256, _name = row.split(",", 4)
    return [f"md5:{md5}", f"sha1:{sha1}", f"sha256:{sha256}"]


def run(work: Path) -> list[str]:
    hashdeep = shutil.which("hashdeep")
    if not hashdeep:
        return ["verify: hashdeep not installed (apt-get install hashdeep): skipped"]
    image = build_image(work)
    peer = [hashdeep, "-c", "md5,sha1,sha256", str(image)]
    ours_t: list[float] = []
    peer_t: list[float] = []
    ours_rss: list[int] = []
    peer_rss: list[int] = []
    expect: list[str] = []
    for _ in range(ROUNDS):
        wall, rss, code, out = timed(peer)
        if code != 0:
            return [f"verify: hashdeep failed with status {code}"]
        expect = expect or _hashdeep_expect(out)
        peer_t.append(wall)
        peer_rss.append(rss)
        wall, rss, code, out = timed(_ours(image, expect))
        if code != 0:
            return [f"verify: evidencekit verify exited {code} (expected 0: digests agree with hashdeep)", out]
        ours_t.append(wall)
        ours_rss.append(rss)
    ours_rss, peer_rss = [peak_rss_kib(_ours(image, expect))], [peak_rss_kib(peer)]  # one extra run each
    ours_m, peer_m = statistics.median(ours_t), statistics.median(peer_t)
    mib = SIZE / (1 << 20)
    engine = _engine_seconds(image)
    return [
        f"verify 1 GiB raw, {ROUNDS} alternated rounds, MD5+SHA1+SHA256, digests cross-checked with hashdeep",
        f"  evidencekit verify   median {ours_m:6.2f} s  ({mib / ours_m:6.0f} MiB/s)  peak RSS {max(ours_rss) / 1024:6.1f} MiB",
        f"  hashdeep -c md5,sha1,sha256  median {peer_m:6.2f} s  ({mib / peer_m:6.0f} MiB/s)  peak RSS {max(peer_rss) / 1024:6.1f} MiB",
        f"  ratio hashdeep/evidencekit = {peer_m / ours_m:.2f}x faster (target >= 4x); runs ours {_fmt(ours_t)} peer {_fmt(peer_t)}",
        f"  in-process engine only (hash_file, no start-up or detection): median {engine:.2f} s; load average {_load()}",
    ]


def _engine_seconds(image: Path, rounds: int = 3) -> float:
    from evidencekit.hashing import hash_file

    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        hash_file(str(image), ("md5", "sha1", "sha256"))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bench-output")
    out_dir.mkdir(exist_ok=True)
    for line in run(out_dir):
        print(line, flush=True)
