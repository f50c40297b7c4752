"""Listing with worker processes gives the same records, in the same order, as one process."""

from __future__ import annotations

import pytest

from ektools import CORPUS, ROOT
from evidencekit import open_evidence
from evidencekit.exporters.files import Renderer
from evidencekit.inventory import files, parallel
from images import ext4_image


@pytest.fixture(autouse=True)
def _always_parallel(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_INODES", 0)  # small test images would otherwise be listed serially


def _listing(path, jobs):
    with open_evidence(path) as ev:
        return [r.to_dict() for r in files(ev, hashes=("md5", "sha256"), jobs=jobs)], list(ev.warnings)


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


@pytest.mark.parametrize("image", ["ext4", "corpus:log2timeline/plaso/test_data/vsstest.qcow2"])
def test_workers_writing_the_output_themselves_keep_walk_order(image, tmp_path, monkeypatch):
    """`files` lets workers write their chunks straight to the output file, in turn; with volumes
    listed in parallel and serially mixed, the file must equal the one-process text."""
    import io

    if image == "ext4":
        path = ext4_image(tmp_path)
    else:
        path = CORPUS / image.split(":", 1)[1]
        if not path.exists():
            pytest.skip("corpus absent")
    renderer = Renderer("jsonl")
    with open_evidence(path) as ev:
        serial = b"".join(data for data, _ in parallel.segments(ev, ("md5",), 1, renderer=renderer))
        readers = ev.readers()
        if len(readers) > 1:  # the middle volume serially, the others by workers
            monkeypatch.setattr(parallel, "MIN_INODES", 1)
            monkeypatch.setattr(readers[1][1], "size_hint", lambda: 0)
        out_path = tmp_path / "out.jsonl"
        with open(out_path, "wb") as out:
            out.write(b"HEADER\n")  # written by the caller before the listing: must stay first
            counts = 0
            for data, n in parallel.segments(ev, ("md5",), 2, renderer=renderer, direct_to=out):
                out.write(data)
                counts += n
        assert out_path.read_bytes() == b"HEADER\n" + serial
        assert counts == serial.count(b"\n")
        memory = io.BytesIO()  # no descriptor: the parent writes everything
        for data, _ in parallel.segments(ev, ("md5",), 2, renderer=renderer, direct_to=memory):
            memory.write(data)
        assert memory.getvalue() == serial
