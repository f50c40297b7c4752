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
    with steps._evidence(str(image), Credentials()) as ev:
        media_hash.start("run-1", ev, ["sha256"], lambda: None, lambda: None)
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

    with steps._evidence(str(images[0]), Credentials()) as ev:
        media_hash.start("run-3", ev, ["sha256"], expired, lambda: None)
    with pytest.raises(UnitTimeout, match="time is up"):
        steps.media(str(images[0]), Credentials(), ["sha256"], token="run-3")


def test_the_hash_reads_on_after_the_evidence_closes(images):
    """The media stream is a handle of its own: the unit's evidence may close (the worker's cache
    of open evidence lets it go) while the background hash reads."""
    from evidencekit.sources import open_evidence

    ev = open_evidence(str(images[0]), Credentials())
    media_hash.start("run-4", ev, ["sha256"], lambda: None, lambda: None)
    ev.close()
    got, beside = steps.media(str(images[0]), Credentials(), ["sha256"], token="run-4")
    assert beside and got == {"sha256": _sha256(images[0])}


def test_a_folder_exhibit_is_hashed_beside_the_walk_too(tmp_path):
    from evidencekit.sources import open_evidence
    from evidencekit.verify import tree_digests

    folder = tmp_path / "extraction"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha")
    (folder / "sub" / "b.bin").write_bytes(b"\x00" * 5000)
    with open_evidence(str(folder), Credentials()) as ev:
        media_hash.start("run-5", ev, ["sha256"], lambda: None, lambda: None)  # returns at once: nothing to wait for
    got, beside = steps.media(str(folder), Credentials(), ["sha256"], token="run-5")
    assert beside and got == tree_digests(str(folder), ("sha256",), None).digests
