"""Bridge to plaso: run ``log2timeline`` then ``psort -o json_line`` as subprocesses.

plaso is used as installed (its console scripts next to the running Python, else on PATH); its
storage file is kept in the case folder and hashed, and its version comes from the storage
file's own session record. Nothing here raises on a plaso failure: the result carries the
reason, and the caller records it as a warning.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from evidencekit import settings
from evidencekit.hashing import hash_stream

# Our named presets: small parser sets (plaso with every parser is very slow). Anything that is
# not one of these names is passed to plaso as its own parser expression (plaso presets such as
# "win7" and "linux" included).
PRESETS: dict[str, str] = {
    "default": ",".join([
        "winevtx", "winreg", "lnk", "prefetch", "text/syslog", "text/syslog_traditional",
        "sqlite/chrome_8_history", "sqlite/chrome_27_history", "sqlite/firefox_history",
        "sqlite/android_sms", "sqlite/android_calls", "sqlite/imessage",
    ]),
    "windows": "winevtx,winreg,lnk,prefetch,recycle_bin,sqlite/chrome_27_history,sqlite/firefox_history",
    "linux": "text/syslog,text/syslog_traditional,utmp,text/bash_history,text/dpkg,text/apt_history",
    "browser": "webhist",
    "android": "sqlite/android_sms,sqlite/android_calls,sqlite/android_webview,sqlite/chrome_27_history",
    "ios": "sqlite/imessage,sqlite/kik_ios,sqlite/twitter_ios,sqlite/ios_notes,plist/ios_mobile_backup",
}
TAIL = 2000  # characters of a failing command's output kept in the warning


def parser_expression(artifacts: str) -> str:
    """Our preset name, or a plaso parser expression as given."""
    return PRESETS.get(artifacts, artifacts)


def find_tool(name: str) -> str | None:
    """The plaso console script ``name``: from $EVIDENCEKIT_PLASO_BIN when set (only there), else
    next to the running Python, else from PATH."""
    forced = settings.get().plaso_bin
    if forced is not None:
        path = forced / name
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    return shutil.which(name)


def plaso_version() -> str | None:
    try:
        return version("plaso")
    except PackageNotFoundError:
        return None


@dataclass
class PlasoRun:
    """What a plaso run produced, or why it did not."""

    storage: Path
    jsonl: Path
    parsers: str
    commands: list[list[str]] = field(default_factory=list)
    ok: bool = False
    reason: str | None = None
    storage_sha256: str | None = None
    version: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def details(self) -> dict[str, object]:
        return {
            "plaso_version": self.version, "parsers": self.parsers, "storage": self.storage.name,
            "storage_sha256": self.storage_sha256, "commands": self.commands, "ok": self.ok,
            "reason": self.reason, "seconds": self.seconds,
        }


def _run(cmd: list[str], timeout: float | None) -> str | None:
    """Run ``cmd``; None on success, else a one-line reason with the end of its output.

    plaso runs in its own process group, so that a timeout also ends its worker processes.
    """
    name = Path(cmd[0]).name
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    except OSError as err:
        return f"{name} could not start: {err}"
    try:
        out, err_text = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return f"{name} timed out after {timeout} s"
    if proc.returncode != 0:
        tail = (err_text or out or "").strip().replace("\n", " | ")[-TAIL:]
        return f"{name} exited with {proc.returncode}: {tail}"
    return None


def log2timeline_command(tool: str, source: Path, storage: Path, parsers: str, archives: str | None,
                         workers: int, image: bool = False, year: int | None = None) -> list[str]:
    """The log2timeline command line. A disk image has every partition, volume and VSS store
    processed (unattended plaso refuses to choose otherwise), like the inventory. ``year`` is the
    year of timestamps that carry none (syslog); without it plaso infers it from the file."""
    cmd = [tool, "--status_view", "none", "-q", "-u", "--parsers", parsers, "-z", "UTC",
           "--storage_file", str(storage), "--logfile", str(storage.with_suffix(".log.gz"))]
    if image:
        cmd += ["--partitions", "all", "--volumes", "all", "--vss_stores", "all"]
    if archives:
        cmd += ["--archives", archives]
    if year is not None:
        cmd += ["--preferred_year", str(year)]
    cmd += ["--single_process"] if workers <= 1 else ["--workers", str(workers)]
    return [*cmd, str(source)]


def run_plaso(source: Path, workdir: Path, artifacts: str = "default", archives: str | None = None,
              workers: int = 1, timeout: float | None = None, image: bool = False,
              year: int | None = None) -> PlasoRun:
    """log2timeline over ``source`` into ``workdir``/<stamp>.plaso, then psort to JSON lines."""
    workdir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{time.time_ns() % 1_000_000:06d}"
    run = PlasoRun(workdir / f"{stamp}.plaso", workdir / f"{stamp}.jsonl", parser_expression(artifacts))
    l2t, psort = find_tool("log2timeline"), find_tool("psort")
    if l2t is None or psort is None:
        run.reason = "plaso is not installed (log2timeline/psort not found): pip install plaso"
        run.commands = []
        return run
    run.version = plaso_version()
    steps = [
        log2timeline_command(l2t, source, run.storage, run.parsers, archives, workers, image, year),
        [psort, "--status_view", "none", "-q", "-u", "-o", "json_line", "--output_time_zone", "UTC",
         "--logfile", str(run.storage.with_suffix(".psort.log.gz")), "-w", str(run.jsonl), str(run.storage)],
    ]
    for cmd in steps:
        run.commands.append(cmd)
        started = time.monotonic()
        run.reason = _run(cmd, timeout)
        run.seconds[Path(cmd[0]).name] = round(time.monotonic() - started, 3)
        if run.reason is None and cmd is steps[0] and not run.storage.is_file():
            run.reason = f"log2timeline wrote no storage file for {source}"
        if run.reason is not None:
            break
    if run.storage.is_file():
        with run.storage.open("rb") as fh:
            run.storage_sha256 = hash_stream(fh, ("sha256",))["sha256"]
        run.version = storage_version(run.storage) or run.version
    run.ok = run.reason is None and run.jsonl.is_file()
    return run


def _ro(storage: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{storage}?mode=ro", uri=True)


def storage_version(storage: Path) -> str | None:
    """plaso's version as its session record in the storage file states it."""
    try:
        with _ro(storage) as db:
            row = db.execute("SELECT product_version FROM session ORDER BY _identifier DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row and row[0] else None


def storage_warnings(storage: Path, limit: int = 10_000) -> Iterator[tuple[str, str, str]]:
    """plaso's extraction warnings as (parser chain, path spec JSON, message)."""
    try:
        db = _ro(storage)
        rows = db.execute("SELECT parser_chain, path_spec, message FROM extraction_warning LIMIT ?",
                          (limit,)).fetchall()
        db.close()
    except sqlite3.Error as err:
        yield ("plaso", "", f"{storage.name}: extraction warnings unreadable: {err}")
        return
    for chain, spec, message in rows:
        yield (str(chain or ""), str(spec or ""), str(message or ""))
