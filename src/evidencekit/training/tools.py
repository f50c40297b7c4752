"""Running the Debian build tools reproducibly: pinned environment, faketime, clear errors."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from evidencekit.errors import EvidenceKitError, ToolMissingError
from evidencekit.hashing import sha256_file  # noqa: F401 - re-exported for the builders

# Debian package that provides each program a scenario builder runs.
TOOL_PACKAGES = {
    "mkfs.fat": "dosfstools", "mcopy": "mtools", "mmd": "mtools", "mdel": "mtools",
    "mattrib": "mtools", "mke2fs": "e2fsprogs", "debugfs": "e2fsprogs", "mkntfs": "ntfs-3g",
    "ntfslabel": "ntfs-3g", "sfdisk": "fdisk", "sgdisk": "gdisk", "ewfacquire": "ewf-tools",
    "faketime": "faketime",
}


class BuildError(EvidenceKitError):
    """A build step of a training image failed."""


def require(tools: Iterable[str]) -> None:
    """Raise ToolMissingError naming every missing program and the Debian packages to install."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pkgs = sorted({TOOL_PACKAGES.get(t, t) for t in missing})
        raise ToolMissingError(
            "training build needs {tools}: apt-get install {packages} (or 'make sysdeps' as root)",
            tools=", ".join(missing), packages=" ".join(pkgs))


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A pinned environment: UTC, C locale, no mtools sanity checks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKETIME", "LD_PRELOAD"))}
    env.update({"TZ": "UTC", "LC_ALL": "C", "LANG": "C", "MTOOLS_SKIP_CHECK": "1", "NO_FAKE_STAT": "1"})
    env.update(extra or {})
    return env


def run(args: Sequence[str | Path], cwd: Path | None = None, fake: str | None = None,
        env: Mapping[str, str] | None = None, stdin: bytes | None = None) -> str:
    """Run a tool (under ``faketime -f FAKE`` when given); raise BuildError with its stderr."""
    cmd = [str(a) for a in args]
    if fake is not None:
        cmd = ["faketime", "-f", fake, *cmd]
    proc = subprocess.run(cmd, cwd=cwd, env=base_env(env), input=stdin if stdin is not None else b"",
                          capture_output=True, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BuildError(f"{cmd[0] if fake is None else cmd[3]} failed ({proc.returncode}): "
                         f"{err[-1] if err else 'no message'}")
    return proc.stdout.decode(errors="replace")


def epoch(text: str) -> int:
    """'2021-06-14 17:42:07' (UTC) -> seconds since the epoch."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def gzip_file(src: Path, dest: Path) -> None:
    """Deterministic gzip -9: no name, mtime 0."""
    with src.open("rb") as fin, dest.open("wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as gz:
        shutil.copyfileobj(fin, gz, 1 << 20)




def patch(path: Path, offset: int, data: bytes) -> None:
    """Overwrite bytes in place (used on the image being built, never on evidence)."""
    with path.open("r+b") as fh:
        fh.seek(offset)
        fh.write(data)
