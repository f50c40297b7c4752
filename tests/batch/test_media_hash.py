"""The check before hashed in a worker's background thread (batch.media_hash), on a real image."""

from __future__ import annotations

import hashlib

import pytest

from evidencekit.batch import media_hash, steps
from evidencekit.sources import Credentials


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_background_hash_is_collected_once_by_its_own_token(images):
    image = images[0]
    media_hash.start("run-1", str(image), Credentials(), ["sha256"], lambda: None)
    # another run's token never takes this run's digests: it reads the media itself
    other, beside = steps.media(str(image), Credentials(), ["sha256"], token="run-2")
    assert other == {"sha256": _sha256(image)} and beside is False
    got, beside = steps.media(str(image), Credentials(), ["sha256"], token="run-1")
    assert got == {"sha256": _sha256(image)} and beside is True
    again, beside = steps.media(str(image), Credentials(), ["sha256"], token="run-1")  # collected: gone
    assert again == got and beside is False


def test_a_background_hash_failure_reaches_the_collecting_unit(images):
    from evidencekit.batch.units import UnitTimeout

    def expired() -> None:
        raise UnitTimeout("time is up")

    media_hash.start("run-3", str(images[0]), Credentials(), ["sha256"], expired)
    with pytest.raises(UnitTimeout, match="time is up"):
        steps.media(str(images[0]), Credentials(), ["sha256"], token="run-3")
