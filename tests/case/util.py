"""Helpers for the case store tests: small ext4 images built on the fly and a CLI runner."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ektools import need_tool


def build_ext4(work: Path, n_files: int, size_mb: int = 16, seed: str = "x") -> Path:
    """An ext4 image from a generated tree of ``n_files`` small files (mke2fs -d, no mounting)."""
    need_tool("mke2fs")
    src = work / f"src-{n_files}-{seed}"
    for i in range(n_files):
        sub = src / f"dir{i % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"file{i:05d}.{('txt', 'jpg', 'doc')[i % 3]}").write_text(f"{seed} content of file {i}\n" * (1 + i % 7))
    (src / "Ünïcødé dir").mkdir(parents=True, exist_ok=True)
    (src / "Ünïcødé dir" / "résumé – 履歴書.txt").write_text("non-ASCII names\n")
    image = work / f"ext4-{n_files}-{seed}.raw"
    with open(image, "wb") as fh:
        fh.truncate(size_mb << 20)
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": "1623657600", "TZ": "UTC", "LC_ALL": "C"}
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-L", "TEST",
                    "-U", "5eed0000-0000-4000-8000-000000000001", "-E", "root_owner=0:0",
                    "-d", str(src), str(image)], check=True, env=env)
    return image



def run_cli(*args: str, env: dict[str, str] | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``evidencekit`` in a real subprocess (same interpreter, same EVIDENCEKIT_HOME)."""
    proc = subprocess.run([sys.executable, "-c", "from evidencekit.cli import main; main()", *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"evidencekit {' '.join(args)} failed: {proc.stderr}")
    return proc


def on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; returns (exit code, what the terminal got)."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", "from evidencekit.cli import main; main()", *args],
                            stdout=subprocess.PIPE, stderr=follower, env={**os.environ, "COLUMNS": "160"})
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return proc.wait(), seen.decode("utf-8", "replace")


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def bar_shows(screen: str, label: str, total: int) -> bool:
    """Some frame of the bar named ``label`` shows done/``total``, the time taken and the time left
    (rich's "-:--:--" until a rate is known, so either form; columns padded to the widest bar)."""
    frames = [line for line in re.split(r"[\r\n]", _ANSI.sub("", screen)) if label in line]
    return any(re.search(rf" \d+/{total}\s+\d+:\d\d:\d\d\s+(\d+:\d\d:\d\d|-:--:--)", f) for f in frames)


def used_inodes(image: Path) -> int:
    """Inodes in use as dumpe2fs (e2fsprogs, not TSK) reads the superblock."""
    need_tool("dumpe2fs")
    head = subprocess.run(["dumpe2fs", "-h", str(image)], capture_output=True, text=True, check=True).stdout
    field = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
    return int(field["Inode count"]) - int(field["Free inodes"])
