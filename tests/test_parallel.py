"""Listing with worker processes gives the same records, in the same order, as one process."""

from __future__ import annotations

import pytest

from ektools import CORPUS, ROOT
from evidencekit import open_evidence
from evidencekit.export import Renderer
from evidencekit.sources import parallel
from images import ext4_image


@pytest.fixture(autouse=True)
def _always_parallel(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_INODES", 0)  # small test images would otherwise be listed serially


def _listing(path, jobs):
    with open_evidence(path) as ev:
        return [r.to_dict() for r in ev.files(hashes=("md5", "sha256"), jobs=jobs)], list(ev.warnings)


@pytest.mark.parametrize("image", [
    "ext4",
    "training_images/office-workstation/workstation.E01",
    "corpus:log2timeline/plaso/test_data/vsstest.qcow2",
])
def test_parallel_equals_serial(image, tmp_path):
    if image == "ext4":
        path = ext4_image(tmp_path)
    elif image.startswith("corpus:"):
        path = CORPUS / image.split(":", 1)[1]
        if not path.exists():
            pytest.skip("corpus absent")
    else:
        path = ROOT / image
    serial = _listing(path, 1)
    assert _listing(path, 2) == serial
    assert len(serial[0]) >= 10


def test_rendered_segments_concatenate_to_the_serial_text(tmp_path):
    path = ext4_image(tmp_path)
    renderer = Renderer("jsonl")
    with open_evidence(path) as ev:
        serial = b"".join(data for data, _ in parallel.segments(ev, ("sha256",), 1, renderer=renderer))
        both = b"".join(data for data, _ in parallel.segments(ev, ("sha256",), 2, renderer=renderer))
    assert both == serial and serial.count(b"\n") >= 10
