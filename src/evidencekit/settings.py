"""Settings from the environment, read in one place.

Every ``EVIDENCEKIT_*`` variable the library honours is read here, once per process, the first
time :func:`get` is called (tests that change the environment call :func:`reset`). Command-line
options override these; the CLI passes them explicitly.

==========================  ===============================================================
variable                    meaning
==========================  ===============================================================
EVIDENCEKIT_HOME            per-user store: examiner keys, hash sets (default ~/.evidencekit)
EVIDENCEKIT_EXAMINER        the acting examiner when none is given
EVIDENCEKIT_PASSPHRASE      passphrase of the acting examiner's key
EVIDENCEKIT_BUSY_TIMEOUT    seconds a writer waits for another writer of a case (600)
EVIDENCEKIT_SOP_PATH        extra folders of SOPs (os.pathsep-separated), searched first
EVIDENCEKIT_TRAINING_IMAGES the built training scenarios (default training_images/)
EVIDENCEKIT_PLASO_BIN       folder of the plaso console scripts to use (only there)
EVIDENCEKIT_SYSTEM_LIBEWF   "0": read E01 media through pyewf, not the system libewf
EVIDENCEKIT_PASSWORD        (CLI) password of an encrypted volume or archive
EVIDENCEKIT_RECOVERY_KEY    (CLI) BitLocker/FileVault recovery key
LC_ALL, LC_MESSAGES, LANG   the locale: the language of messages when no --lang is given
==========================  ===============================================================
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    examiner: str | None
    passphrase: str | None
    busy_timeout_s: float
    sop_path: tuple[Path, ...]
    training_images: Path | None
    plaso_bin: Path | None
    system_libewf: bool
    locale: str  # the first of $LC_ALL, $LC_MESSAGES, $LANG that is set ("" when none)


def _path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


@functools.cache
def get() -> Settings:
    """The settings of this process (read from the environment on the first call)."""
    env = os.environ.get
    try:
        busy = float(env("EVIDENCEKIT_BUSY_TIMEOUT") or 600)
    except ValueError:
        busy = 600.0
    return Settings(
        home=_path("EVIDENCEKIT_HOME") or Path.home() / ".evidencekit",
        examiner=env("EVIDENCEKIT_EXAMINER") or None,
        passphrase=env("EVIDENCEKIT_PASSPHRASE") or None,
        busy_timeout_s=busy,
        sop_path=tuple(Path(p) for p in (env("EVIDENCEKIT_SOP_PATH") or "").split(os.pathsep) if p),
        training_images=_path("EVIDENCEKIT_TRAINING_IMAGES"),
        plaso_bin=_path("EVIDENCEKIT_PLASO_BIN"),
        system_libewf=env("EVIDENCEKIT_SYSTEM_LIBEWF", "1") != "0",
        locale=next((v for v in (env("LC_ALL"), env("LC_MESSAGES"), env("LANG")) if v), ""),
    )


def reset() -> None:
    """Forget the settings read so far (for tests that change the environment)."""
    get.cache_clear()
