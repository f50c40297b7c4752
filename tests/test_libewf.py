"""E01 media read through the system libewf (sources/libewf.py) give pyewf's bytes, and listings
through it equal listings through dfvfs and pyewf; without the library everything still works."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from ektools import CORPUS, IN_CI, ROOT
from evidencekit import open_evidence
from evidencekit.sources import libewf

E01S = ["log2timeline/dfvfs/test_data/ext2.E01", "log2timeline/dfvfs/test_data/ext2.split.E01",
        "log2timeline/plaso/test_data/image-split.E01", "log2timeline/plaso/test_data/image.E01",
        "sleuthkit/sleuthkit/test/data/image.E01", "sleuthkit/sleuthkit/test/data/imageformat_mmls_1.E01"]


@pytest.fixture(scope="module", autouse=True)
def system_libewf() -> None:
    if libewf.version() is None:
        msg = "libewf.so.2 not installed: apt-get install libewf2 (ewf-tools brings it; or 'make sysdeps' as root)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)


def _images() -> list:
    out = [ROOT / "training_images" / "office-workstation" / "workstation.E01"]
    for rel in E01S:
        out.append(pytest.param(CORPUS / rel, marks=pytest.mark.skipif(not (CORPUS / rel).exists(),
                                                                       reason="corpus absent")))
    return out


def _pyewf_md5(segments: list[str]) -> tuple[int, str]:
    import pyewf

    handle = pyewf.handle()
    handle.open(segments)
    digest, offset, size = hashlib.md5(), 0, handle.get_media_size()
    while offset < size:
        data = handle.read_buffer_at_offset(min(1 << 20, size - offset), offset)
        digest.update(data)
        offset += len(data)
    handle.close()
    return size, digest.hexdigest()


@pytest.mark.parametrize("image", _images(), ids=lambda p: getattr(p, "name", "corpus"))
def test_media_bytes_equal_pyewf(image) -> None:
    with open_evidence(image) as ev:
        segments = ev.segment_files
        with ev.open_media() as media:
            assert isinstance(media, libewf.EwfMedia)
            digest, total, buffer = hashlib.md5(), 0, bytearray(3 << 20)  # not a multiple of the chunk size
            while n := media.readinto(buffer):
                digest.update(memoryview(buffer)[:n])
                total += n
    assert (total, digest.hexdigest()) == _pyewf_md5(segments)


def _listing(image, env: dict[str, str]) -> bytes:
    import os

    return subprocess.run([sys.executable, "-m", "evidencekit", "files", "--hash", "md5,sha256", "-j", "2", str(image)],
                          capture_output=True, check=True, env={**os.environ, **env}).stdout


@pytest.mark.parametrize("image", _images()[:1] + _images()[-1:], ids=lambda p: getattr(p, "name", "corpus"))
def test_listing_equals_the_pyewf_listing(image) -> None:
    fast, slow = _listing(image, {}), _listing(image, {"EVIDENCEKIT_SYSTEM_LIBEWF": "0"})
    assert fast == slow and fast.count(b"\n") > 20
    assert all(json.loads(line)["md5"] or json.loads(line)["type"] != "file" or json.loads(line)["warnings"]
               for line in fast.splitlines())


def test_without_the_library_pyewf_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    image = ROOT / "training_images" / "office-workstation" / "workstation.E01"
    with open_evidence(image) as ev:
        assert ev.media_reader.startswith("system libewf ")
    monkeypatch.setenv("EVIDENCEKIT_SYSTEM_LIBEWF", "0")
    libewf._library.cache_clear()
    try:
        with open_evidence(image) as ev, ev.open_media() as media:
            assert not isinstance(media, libewf.EwfMedia) and media.read(512)[510:] == b"\x55\xaa"
            assert ev.media_reader.startswith("pyewf ") and "libewf2" in ev.media_reader  # says how to speed up
        assert libewf.version() is None
    finally:
        monkeypatch.delenv("EVIDENCEKIT_SYSTEM_LIBEWF")
        libewf._library.cache_clear()


def test_unreadable_segments_are_refused_not_raised(tmp_path) -> None:
    fake = tmp_path / "fake.E01"
    fake.write_bytes(b"EVF\x09\x0d\x0a\xff\x00" + b"\x00" * 100)
    assert libewf.open_handle([str(fake)]) is None


def test_a_media_size_other_than_pyewf_s_falls_back() -> None:
    image = ROOT / "training_images" / "office-workstation" / "workstation.E01"
    with open_evidence(image) as ev:
        assert libewf.open_handle(ev.segment_files, ev.media_size) is not None
        assert libewf.open_handle(ev.segment_files, (ev.media_size or 0) + 512) is None
