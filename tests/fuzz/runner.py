"""Runs evidencekit commands on many inputs, each in its own process under a time-out.

Starting Python and importing dfvfs costs about half a second per command, which would be most
of the fuzz stage's time; so this runner imports the CLI once and forks one child per command:
the child runs ``evidencekit ARGS`` exactly as the console script does (same click entry point,
its own process group, stdin from /dev/null, stdout and stderr to files) and exits with the
command's exit code. A child still running at its time-out is killed with its whole process
group (worker processes included) and reported as a hang.

    python tests/fuzz/runner.py JOBS.jsonl RESULTS.jsonl [INTACT_SEED ...]

A job is ``{"id": ..., "args": [...], "cwd": DIR, "timeout": SECONDS}``; a result adds ``rc``
(None after a time-out), ``seconds``, ``stdout`` (path) and ``stderr`` (its text, cut at 4 KiB).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path


def _preload(warm_up: list[str]) -> None:
    """Import what the commands import, and run them once on each intact seed (the first run of a
    command in a process costs 0.4 s of lazy imports and set-up; later ones 0.01 s), so that each
    child starts warm. Only the seeds' own file objects are left in dfvfs's cache."""
    from evidencekit.cli import main

    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        for path in warm_up:
            for args in (["info", path], ["verify", path], ["files", path, "--hash", "md5,sha256", "-j", "1"]):
                with contextlib.suppress(SystemExit, Exception):
                    main(args, prog_name="evidencekit")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)


def _child(job: dict, out: Path, err: Path) -> None:
    """In the forked child: become the command and never return."""
    code = 1
    try:
        os.setpgid(0, 0)
        os.chdir(job["cwd"])
        for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                (2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            os.dup2(os.open(path, flags, 0o644), fd)
        from evidencekit.cli import main

        sys.argv = ["evidencekit", *job["args"]]
        try:
            main(job["args"], prog_name="evidencekit")
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # what the interpreter would print for an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def run(job: dict, scratch: Path) -> dict:
    out, err = scratch / f"{job['id']}.out", scratch / f"{job['id']}.err"
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(job, out, err)
    rc = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() - started > job["timeout"]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.005)
    seconds = time.monotonic() - started
    with contextlib.suppress(ProcessLookupError, PermissionError):  # workers the command left in its group
        os.killpg(pid, signal.SIGKILL)
    text = err.read_bytes()[:4096].decode("utf-8", "backslashreplace")
    return {**job, "rc": rc, "seconds": round(seconds, 3), "stdout": str(out), "stderr": text}


def main() -> None:
    jobs_file, results_file, warm_up = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    jobs = [json.loads(line) for line in jobs_file.read_text().splitlines() if line.strip()]
    scratch = results_file.parent / (results_file.stem + ".streams")
    scratch.mkdir(exist_ok=True)
    _preload(warm_up)
    with open(results_file, "w") as results:
        for job in jobs:
            results.write(json.dumps(run(job, scratch)) + "\n")
            results.flush()


if __name__ == "__main__":
    main()
