"""Hash lists (plain, hashdeep/md5deep, NSRL CSV and SQLite) and the sorted memory-mapped store."""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ektools import need_tool
from evidencekit.errors import ValidationError
from evidencekit.scan import hashsets
from evidencekit.scan.hashlists import detect_format
from evidencekit.scan.hashsets import import_hash_set, list_hash_sets, open_hash_set, sort_unique

CONTENTS = [b"alpha\n", b"bravo\n", b"charlie\n", b"delta" * 100]


def _hex(data: bytes, alg: str) -> str:
    return hashlib.new(alg, data).hexdigest()


def test_plain_list_mixed_algorithms(tmp_path: Path) -> None:
    lines = ["# known-bad list, exported 2026-11-01", "",
             _hex(CONTENTS[0], "md5"), _hex(CONTENTS[1], "sha1").upper() + "  bravo.txt",
             _hex(CONTENTS[2], "sha256") + " *charlie.bin", _hex(CONTENTS[0], "md5")]
    src = tmp_path / "bad.txt"
    src.write_text("\r\n".join(lines) + "\r\n")
    report = import_hash_set("bad", src, "known-bad", description="test list")
    assert report.manifest["counts"] == {"md5": 1, "sha1": 1, "sha256": 1}  # duplicate stored once
    assert report.manifest["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    hs = open_hash_set("bad")
    assert hs.kind == "known-bad"
    assert hs.contains_hex("md5", [_hex(c, "md5") for c in CONTENTS]).tolist() == [True, False, False, False]
    assert hs.contains_hex("sha1", [_hex(c, "sha1") for c in CONTENTS]).tolist() == [False, True, False, False]
    assert hs.contains_hex("sha256", [_hex(c, "sha256") for c in CONTENTS]).tolist() == [False, False, True, False]
    assert [s.name for s in list_hash_sets()] == ["bad"]


def test_malformed_lines_are_named_and_nothing_is_stored(tmp_path: Path) -> None:
    src = tmp_path / "broken.txt"
    src.write_text(f"{_hex(b'a', 'md5')}\nnot-a-hash\n{_hex(b'b', 'md5')}\n{'z' * 32}\n")
    with pytest.raises(ValidationError) as err:
        import_hash_set("broken", src, "known-bad")
    assert f"{src}: line 2: 'not-a-hash'" in str(err.value) and "line 4" in str(err.value)
    assert list_hash_sets() == []
    report = import_hash_set("broken", src, "known-bad", skip_malformed=True)
    assert report.manifest["counts"] == {"md5": 2}
    assert report.manifest["malformed_lines"] == 2
    assert [n for n, _ in report.manifest["malformed_first"]] == [2, 4]


def test_names_kinds_and_replace(tmp_path: Path) -> None:
    src = tmp_path / "l.txt"
    src.write_text(_hex(b"a", "sha256") + "\n")
    with pytest.raises(ValidationError, match="name"):
        import_hash_set("../evil", src, "known-bad")
    with pytest.raises(ValidationError, match="kind"):
        import_hash_set("ok", src, "suspicious")
    import_hash_set("ok", src, "known-good")
    with pytest.raises(ValidationError, match="exists"):
        import_hash_set("ok", src, "known-good")
    import_hash_set("ok", src, "known-bad", replace=True)
    assert open_hash_set("ok").kind == "known-bad"
    with pytest.raises(ValidationError, match="not found"):
        open_hash_set("missing")


def test_hashdeep_and_md5deep_output(tmp_path: Path) -> None:
    need_tool("hashdeep")
    files = tmp_path / "files"
    files.mkdir()
    for i, data in enumerate(CONTENTS):
        (files / f"f{i}").write_bytes(data)
    hd = tmp_path / "known.hashdeep"
    hd.write_bytes(subprocess.run(["hashdeep", "-c", "md5,sha256", "-r", str(files)],
                                  check=True, capture_output=True).stdout)
    assert detect_format(hd) == "hashdeep"
    assert import_hash_set("hd", hd, "known-good").manifest["counts"] == {"md5": 4, "sha256": 4}
    md5deep = tmp_path / "known.md5deep"
    md5deep.write_bytes(subprocess.run(["md5deep", "-r", str(files)], check=True, capture_output=True).stdout)
    assert detect_format(md5deep) == "plain"
    assert import_hash_set("md", md5deep, "known-good").manifest["counts"] == {"md5": 4}
    for name, alg in (("hd", "sha256"), ("md", "md5")):
        assert open_hash_set(name).contains_hex(alg, [_hex(c, alg) for c in CONTENTS]).all()
        assert not open_hash_set(name).contains_hex(alg, [_hex(b"other", alg)]).any()


def test_nsrl_legacy_csv(tmp_path: Path) -> None:
    rows = ['"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"']
    for i, data in enumerate(CONTENTS):
        rows.append(f'"{_hex(data, "sha1").upper()}","{_hex(data, "md5").upper()}","0000{i:04X}",'
                    f'"file, {i}.dll","{len(data)}","{1000 + i}","358",""')
    rows.append('"ZZZ","","","short"')
    src = tmp_path / "NSRLFile.txt"
    src.write_text("\r\n".join(rows) + "\r\n")
    assert detect_format(src) == "nsrl-csv"
    with pytest.raises(ValidationError, match="line 6"):
        import_hash_set("nsrl", src, "known-good")
    report = import_hash_set("nsrl", src, "known-good", skip_malformed=True)
    assert report.manifest["counts"] == {"md5": 4, "sha1": 4}


def test_nsrl_modern_sqlite(tmp_path: Path) -> None:
    src = tmp_path / "RDS_2024.03.1_modern_minimal.db"
    db = sqlite3.connect(src)
    db.execute("CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL, "
               "crc32 VARCHAR, file_name VARCHAR, file_size INTEGER, package_id INTEGER)")
    db.executemany("INSERT INTO FILE VALUES (?, ?, ?, '', ?, ?, 1)",
                   [(_hex(c, "sha256").upper(), _hex(c, "sha1").upper(), _hex(c, "md5").upper(), f"f{i}", len(c))
                    for i, c in enumerate(CONTENTS)])
    db.commit()
    db.close()
    assert detect_format(src) == "nsrl-sqlite"
    report = import_hash_set("rds", src, "known-good")
    assert report.manifest["counts"] == {"md5": 4, "sha1": 4, "sha256": 4}
    hs = open_hash_set("rds")
    assert hs.contains_hex("sha256", [_hex(c, "sha256") for c in CONTENTS]).all()
    bad = tmp_path / "other.db"
    sqlite3.connect(bad).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ValidationError, match="no FILE"):
        import_hash_set("other", bad, "known-good")


def test_store_spills_buckets_and_finds_shared_prefixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashsets, "FLUSH_DIGESTS", 1000)  # force many spills into buckets
    rng = random.Random(5)
    digests = [rng.randbytes(16) for _ in range(20_000)]
    prefix = rng.randbytes(8)
    twins = [prefix + rng.randbytes(8) for _ in range(3)]  # same first 8 bytes: the slow path
    stored = digests + twins[:2]
    src = tmp_path / "many.txt"
    src.write_text("".join(d.hex() + "\n" for d in stored + stored[:500]))
    report = import_hash_set("many", src, "known-bad")
    assert report.manifest["counts"] == {"md5": len(set(stored))}
    hs = open_hash_set("many")
    keys = np.fromfile(hs.path / "md5.keys", dtype="<u8")
    assert bool(np.all(keys[1:] >= keys[:-1]))
    absent = [rng.randbytes(16) for _ in range(5000)]
    assert hs.contains("md5", stored).all()
    assert not hs.contains("md5", absent).any()
    assert hs.contains("md5", twins).tolist() == [True, True, False]


def test_sort_unique_matches_python() -> None:
    rows = [os.urandom(20) for _ in range(3000)]
    rows += rows[:100] + [rows[0][:8] + os.urandom(12) for _ in range(5)]
    arr = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(-1, 20)
    got = [bytes(r) for r in sort_unique(arr)]
    assert got == sorted(set(rows))


def test_byte_order_mark_crlf_and_csv_with_a_header_are_read(tmp_path: Path) -> None:
    """As Windows tools write lists: a UTF-8 BOM, CRLF, CSV with a header (Excel: ';' and quotes)."""
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + f"{_hex(CONTENTS[0], 'md5')}  alpha.txt\r\n{_hex(CONTENTS[1], 'md5')}\r\n".encode())
    comma = tmp_path / "list.csv"
    comma.write_text(f"SHA-256,File Name,Size\r\n{_hex(CONTENTS[2], 'sha256')},charlie.bin,8\r\n", newline="")
    excel = tmp_path / "excel.csv"
    excel.write_bytes(b"\xef\xbb\xbf" + f'"Name";"MD5 Hash";"SHA1"\r\n"Документ.doc";"{_hex(CONTENTS[3], "md5").upper()}";'
                      f'"{_hex(CONTENTS[3], "sha1")}"\r\n'.encode())
    assert [detect_format(p) for p in (bom, comma, excel)] == ["plain", "csv", "csv"]
    expected = {"bom": {"md5": 2}, "list": {"sha256": 1}, "excel": {"md5": 1, "sha1": 1}}
    for path in (bom, comma, excel):
        report = import_hash_set(path.stem, path, "known-bad")
        assert report.manifest["counts"] == expected[path.stem] and report.manifest.get("malformed_lines", 0) == 0
    assert open_hash_set("excel").contains_hex("md5", [_hex(CONTENTS[3], "md5")]).tolist() == [True]
    assert open_hash_set("bom").contains_hex("md5", [_hex(c, "md5") for c in CONTENTS[:2]]).tolist() == [True, True]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"md5,name\r\n{_hex(b'x', 'md5')},x\r\nnot-hex,y\r\n", newline="")
    with pytest.raises(ValidationError, match="line 3"):
        import_hash_set("bad", bad, "known-bad")
