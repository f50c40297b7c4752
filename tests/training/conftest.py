"""Fixtures for the training scenarios: the committed images, their keys, raw copies for TSK."""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from evidencekit.training import build, catalog

sys.path.insert(0, str(Path(__file__).parent))
import finders  # noqa: E402

IMAGES = Path(__file__).resolve().parents[2] / "training_images"


@pytest.fixture(scope="session")
def images() -> Path:
    return IMAGES


@pytest.fixture(scope="session")
def found() -> dict[str, dict[str, Any]]:
    """What evidencekit finds in each committed scenario (computed once per session)."""
    cache: dict[str, dict[str, Any]] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, name: str) -> dict[str, Any]:
            cache[name] = finders.FINDERS[name](IMAGES / name)
            self[name] = cache[name]
            return cache[name]

    return Lazy()


@pytest.fixture(scope="session")
def keys() -> dict[str, dict[str, Any]]:
    return {name: build.load_key(name, IMAGES) for name in catalog.names()}


def _gunzip(tmp_path_factory: pytest.TempPathFactory, image: Path) -> Path:
    """A decompressed copy of a shipped .gz image, for the TSK command-line tools."""
    out = tmp_path_factory.mktemp("tsk") / image.name.removesuffix(".gz")
    with gzip.open(image, "rb") as src, out.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


@pytest.fixture(scope="session")
def raw_usb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _gunzip(tmp_path_factory, IMAGES / "usb-data-theft" / "usb.img.gz")


@pytest.fixture(scope="session")
def raw_server(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _gunzip(tmp_path_factory, IMAGES / "linux-server" / "server.img.gz")

