"""The multi-hash engine against hashlib, and the sidecar parsers on realistic report texts."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest

from evidencekit import hashing
from evidencekit.hashing import (
    BLOCK,
    CHUNK,
    MultiHasher,
    ParallelHasher,
    hash_file,
    hash_stream,
    parse_hash_text,
    sidecar_tool,
)

ALGS = ("md5", "sha1", "sha256")


def _expected(data: bytes) -> dict[str, str]:
    return {name: hashlib.new(name, data).hexdigest() for name in ALGS}


class _ReadOnly(io.RawIOBase):
    """A stream that offers only read(), in uneven pieces, like some container readers."""

    def __init__(self, data: bytes, piece: int):
        self._data, self._pos, self._piece = data, 0, piece

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self._piece if size < 0 else min(size, self._piece)
        out = self._data[self._pos : self._pos + size]
        self._pos += len(out)
        return out

    readinto = None  # type: ignore[assignment]


SIZES = [0, 1, 63, 64, 65, CHUNK - 1, CHUNK, CHUNK + 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17]


@pytest.mark.parametrize("size", SIZES)
def test_parallel_and_sequential_match_hashlib(size: int) -> None:
    data = random.Random(size).randbytes(size)
    want = _expected(data)
    assert hash_stream(io.BytesIO(data), ALGS) == want
    assert hash_stream(io.BytesIO(data), ALGS, threshold=0) == want
    assert hash_stream(io.BytesIO(data), ALGS, threshold=CHUNK + 3) == want


@pytest.mark.parametrize("size", [BLOCK - 1, BLOCK, 2 * BLOCK + 5])
def test_parallel_over_raw_file_with_readinto(tmp_path: Path, size: int) -> None:
    data = random.Random(size + 7).randbytes(size)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    seen: list[int] = []
    with open(path, "rb", buffering=0) as fh:
        got = hash_stream(fh, ALGS, seen.append, threshold=0)
    assert got == _expected(data)
    assert sum(seen) == size


def test_parallel_over_read_only_stream_in_uneven_pieces() -> None:
    data = random.Random(3).randbytes(2 * BLOCK + 12345)
    assert hash_stream(_ReadOnly(data, 777_777), ALGS, threshold=0) == _expected(data)  # type: ignore[arg-type]


def test_switch_to_threads_continues_same_hash_objects() -> None:
    data = random.Random(4).randbytes(hashing.THREAD_THRESHOLD + BLOCK + 99)
    assert hash_stream(io.BytesIO(data), ("sha256",)) == {"sha256": hashlib.sha256(data).hexdigest()}


def test_small_stream_starts_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("ParallelHasher used for a small stream")

    monkeypatch.setattr(hashing.ParallelHasher, "feed", refuse)
    data = b"x" * (hashing.THREAD_THRESHOLD - 1)
    assert hash_stream(io.BytesIO(data), ALGS) == _expected(data)


def test_read_error_propagates_and_threads_end() -> None:
    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buf) -> int:  # type: ignore[no-untyped-def, override]
            self.calls += 1
            if self.calls > 3:
                raise OSError("sector read failed")
            buf[: len(buf)] = b"\0" * len(buf)
            return len(buf)

    hasher = ParallelHasher(MultiHasher(ALGS).hashes)
    with pytest.raises(OSError, match="sector read failed"):
        hasher.feed(Broken())  # type: ignore[arg-type]
    assert all(not w.is_alive() for w in hasher._workers)


def test_hash_file_and_multihasher(tmp_path: Path) -> None:
    data = random.Random(5).randbytes(100_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(str(path), ALGS) == _expected(data)
    mh = MultiHasher(ALGS)
    mh.update(data[:10])
    mh.update(memoryview(data)[10:])
    assert mh.hexdigests() == _expected(data)


# --- sidecar texts ---------------------------------------------------------------------------

FTK_TXT = """Created By AccessData\u00ae FTK\u00ae Imager 4.7.1.2\r
\r
Case Information: \r
Acquired using: ADI4.7.1.2\r
Case Number: 2024-117\r
Evidence Number: E1\r
Examiner: J. Doe\r
\r
--------------------------------------------------------------\r
\r
Information for C:\\cases\\2024-117\\E1:\r
\r
Physical Evidentiary Item (Source) Information:\r
[Device Info]\r
 Source Type: Physical\r
[Drive Geometry]\r
 Bytes per Sector: 512\r
 Sector Count: 8,192\r
[Computed Hashes]\r
 MD5 checksum:    {MD5U}\r
 SHA1 checksum:   {SHA1}\r
\r
Image Information:\r
 Acquisition started:   Tue Jun 15 12:28:20 2021\r
 Segment list:\r
  C:\\cases\\2024-117\\E1.E01\r
\r
Image Verification Results:\r
 Verification started:  Tue Jun 15 12:33:18 2021\r
 MD5 checksum:    {MD5} : verified\r
 SHA1 checksum:   {SHA1} : verified\r
"""

GUYMAGER_INFO = """GUYMAGER ACQUISITION INFO FILE
==============================

Guymager
========
Version              : 0.8.13
Image path and file name: /root/Desktop/evidence1.Exx
Hash calculation        : MD5 and SHA-256
Source verification     : off
Image verification      : on

No bad sectors encountered during acquisition.
State: Finished successfully

MD5 hash                   : {MD5}
MD5 hash verified source   : --
MD5 hash verified image    : {MD5}
SHA1 hash                  : --
SHA1 hash verified source  : --
SHA1 hash verified image   : --
SHA256 hash                : {SHA256}
SHA256 hash verified source: --
SHA256 hash verified image\t: {SHA256}
Image verification OK. The image contains exactly the data that was written.
"""

EWF_LOG = """ewfacquire 20140812

Acquiry completed at: Jul 22, 2021 15:33:18

Written: 4.0 MiB (4194304 bytes) in 1 second(s) with 4 MiB/s (4194304 bytes/second).
MD5 hash calculated over data:\t\t{MD5}
SHA1 hash calculated over data:\t\t{SHA1}
SHA256 hash calculated over data:\t{SHA256}
"""

DATA = b"evidence"
H = {k.upper(): v for k, v in _expected(DATA).items()} | {"MD5U": hashlib.md5(DATA).hexdigest().upper()}


def test_ftk_imager_report() -> None:
    text = FTK_TXT.format(**H)
    found = parse_hash_text(text)
    assert {(f.algorithm, f.value) for f in found} == {("md5", H["MD5"]), ("sha1", H["SHA1"])}
    assert [f.line for f in found] == [20, 21]  # first statement of each value: [Computed Hashes]
    assert sidecar_tool(text) == "FTK Imager report"


def test_ftk_imager_variant_spacing_and_failed_verification() -> None:
    text = "[Computed Hashes] Image\nMD5 checksum    : {MD5}\nImage Verification Results:\nMD5  : {BAD}  : does not match\n"
    found = parse_hash_text(text.format(MD5=H["MD5"], BAD="0" * 32))
    assert [(f.algorithm, f.value, f.line) for f in found] == [("md5", H["MD5"], 2), ("md5", "0" * 32, 4)]
    assert "does not match" in found[1].label


def test_guymager_info() -> None:
    text = GUYMAGER_INFO.format(**H)
    found = parse_hash_text(text)
    assert [(f.algorithm, f.value, f.line) for f in found] == [("md5", H["MD5"], 15), ("sha256", H["SHA256"], 21)]
    assert sidecar_tool(text) == "Guymager info file"


def test_ewfacquire_log() -> None:
    text = EWF_LOG.format(**H)
    found = parse_hash_text(text)
    assert [(f.algorithm, f.value) for f in found] == [("md5", H["MD5"]), ("sha1", H["SHA1"]), ("sha256", H["SHA256"])]
    assert found[0].label == "MD5 hash calculated over data"
    assert sidecar_tool(text) == "libewf log"


def test_real_ewfacquire_log(tmp_path: Path) -> None:
    """The log ewfacquire itself writes (-l) parses to the hashes of the acquired data."""
    import subprocess

    from ektools import need_tool

    ewfacquire = need_tool("ewfacquire")
    data = random.Random(6).randbytes(300_000)
    (tmp_path / "src.raw").write_bytes(data)
    subprocess.run(
        [ewfacquire, "-u", "-q", "-t", str(tmp_path / "out"), "-l", str(tmp_path / "acq.log"), "-d", "sha1,sha256", "-c", "none", str(tmp_path / "src.raw")],
        check=True, capture_output=True,
    )
    found = parse_hash_text((tmp_path / "acq.log").read_text())
    assert {(f.algorithm, f.value) for f in found} == set(_expected(data).items())


def test_checksum_lists_gnu_bsd_and_bare() -> None:
    md5 = H["MD5"]
    text = (
        f"{md5}  image.dd\n{md5} *C:\\cases\\image.001\n\\{md5}  odd\\\\name\n"
        f"SHA256 (image.dd) = {H['SHA256']}\n{H['SHA1']}\n# comment\nnot a hash line\n"
    )
    found = parse_hash_text(text)
    assert [(f.algorithm, f.filename, f.line) for f in found] == [
        ("md5", "image.dd", 1), ("md5", "C:\\cases\\image.001", 2), ("md5", "odd\\\\name", 3),
        ("sha256", "image.dd", 4), ("sha1", None, 5),
    ]


def test_mislabelled_or_odd_length_values_are_skipped() -> None:
    text = f"SHA1 checksum: {H['MD5']}\nMD5 hash: {H['MD5']}0\nMD5 hash: --\n"
    assert parse_hash_text(text) == []


DC3DD_LOG = """dc3dd 7.2.646 started at 2024-03-01 10:00:00 +0000
command line: dc3dd if=/dev/sdb hofs=disk.000 ofsz=512M hash=md5 hash=sha256 log=disk.log
device size: 2097152 sectors (probed),    1,073,741,824 bytes

input results for device `/dev/sdb':
   2097152 sectors in
   0 bad sectors replaced by zeros
   {MD5} (md5)
      {PIECE} (md5), sectors 0 - 1048575
   {SHA256} (sha256)

output results for files `disk.000':
   2097152 sectors out
   [ok] {MD5} (md5)
   [ok] {SHA256} (sha256)
"""


def test_dc3dd_log_whole_media_only() -> None:
    text = DC3DD_LOG.format(PIECE="9" * 32, **H)
    found = parse_hash_text(text)
    assert [(f.algorithm, f.value, f.line) for f in found] == [("md5", H["MD5"], 8), ("sha256", H["SHA256"], 10)]
    assert sidecar_tool(text) == "dc3dd log"


def test_dcfldd_hash_log() -> None:
    text = f"0 - 1073741824: {'8' * 32}\nTotal (md5): {H['MD5']}\n"
    assert [(f.algorithm, f.value, f.line) for f in parse_hash_text(text)] == [("md5", H["MD5"], 2)]
    assert sidecar_tool(text) == "dcfldd hash log"
