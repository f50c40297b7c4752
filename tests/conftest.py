"""Shared fixtures: the third-party corpus, Debian tools, and an isolated evidencekit home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ektools import CORPUS, IN_CI, ROOT, TOOL_PACKAGES, need_tool  # noqa: F401 - re-exported


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The third-party corpus folder; skipped when absent, a failure when CI=true."""
    if not (CORPUS / "answers.json").is_file():
        if IN_CI:
            pytest.fail(f"corpus missing at {CORPUS} (CI=true requires it)")
        pytest.skip(f"corpus not present at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def answers(corpus: Path) -> dict:
    return json.loads((corpus / "answers.json").read_text())


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep examiner keys and settings of tests out of the real home directory, and the caller's
    examiner, passphrase and passwords out of the tests."""
    monkeypatch.setenv("EVIDENCEKIT_HOME", str(tmp_path_factory.mktemp("ekhome")))
    for name in ("EVIDENCEKIT_EXAMINER", "EVIDENCEKIT_PASSPHRASE", "EVIDENCEKIT_PASSWORD", "EVIDENCEKIT_RECOVERY_KEY",
                 "EVIDENCEKIT_SOP_PATH", "EVIDENCEKIT_BUSY_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    from evidencekit import settings

    settings.reset()  # the library reads the environment once per process: read this test's
    monkeypatch.setattr(monkeypatch, "setenv", _resetting(monkeypatch.setenv, settings.reset))
    monkeypatch.setattr(monkeypatch, "delenv", _resetting(monkeypatch.delenv, settings.reset))


def _resetting(change, reset):
    """A monkeypatch.setenv/delenv that makes the library read the environment again."""
    def changed(*args, **kwargs):
        change(*args, **kwargs)
        reset()
    return changed


@pytest.fixture(scope="session")
def many_files_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ext4 with 24,000 files and room for more than parallel.MIN_INODES inodes: `files` and
    `case process` list it with worker processes as they would a real disk."""
    from case.util import build_ext4

    return build_ext4(tmp_path_factory.mktemp("many"), 24_000, size_mb=128, seed="many")
