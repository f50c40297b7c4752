"""YARA rule compilation and scanning (real yara-python): errors, chunking, limits."""

from __future__ import annotations

import io
import json
import random
import re
import shutil
from pathlib import Path

import pytest

from evidencekit.errors import ValidationError
from evidencekit.scan.yara import YaraScanner, compile_rules, longest_string
from scan.conftest import EICAR, MIMIKATZ, RULES, WEBSHELL

MARKER_RULE = """
rule boundary_marker : test
{
    meta:
        description = "marker planted at chunk boundaries"
    strings:
        $m = "EVIDENCEKIT-BOUNDARY-MARKER-0123456789"
        $w = "wide-marker" wide
    condition:
        any of them
}
"""


def test_folder_compiles_with_namespaces_and_a_stable_hash(tmp_path: Path) -> None:
    rs = compile_rules(RULES)
    assert rs.rule_count == 5
    assert {p for p, _ in rs.files} == {"webshells.yar", "malware/mimikatz.yar", "malware/eicar.yar"}
    assert compile_rules(RULES).sha256 == rs.sha256
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    assert compile_rules(copy).sha256 == rs.sha256  # the hash names content, not location
    (copy / "webshells.yar").write_text((copy / "webshells.yar").read_text() + "\n// reviewed\n")
    assert compile_rules(copy).sha256 != rs.sha256


def test_matches_carry_rule_namespace_tags_meta_and_offsets() -> None:
    scanner = YaraScanner(compile_rules(RULES))
    data = b"junk " * 10 + MIMIKATZ
    out = scanner.scan_bytes(data, "/tools/notes.txt")
    (match,) = out.matches
    assert (match.rule, match.namespace) == ("mimikatz_strings", "malware/mimikatz")
    assert match.tags == ("hacktool", "credential_access")
    assert match.meta["mitre"] == "T1003.001"
    for hit in match.strings:
        assert data[hit.offset:hit.offset + hit.length].lower() == hit.data.lower()[: hit.length]
    assert {h.identifier for h in match.strings} >= {"$c1", "$c2", "$m1"}
    assert [m.rule for m in scanner.scan_bytes(WEBSHELL).matches] == ["php_eval_base64_webshell"]
    assert [m.rule for m in scanner.scan_bytes(EICAR).matches] == ["eicar_test_file"]
    assert scanner.scan_bytes(b"harmless text").matches == []


def test_syntax_errors_name_every_file_and_line_and_nothing_compiles(tmp_path: Path) -> None:
    (tmp_path / "good.yar").write_text(MARKER_RULE)
    (tmp_path / "bad1.yar").write_text("rule a {\n  strings:\n    $a = \"x\"\n  condition:\n    $a and $b\n}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad2.yara").write_text("rule b {\n  condition:\n    true\n")
    with pytest.raises(ValidationError) as err:
        compile_rules(tmp_path)
    text = str(err.value)
    assert "nothing scanned" in text
    assert re.search(re.escape(str(tmp_path / "bad1.yar")) + r' line [56]: undefined string "\$b"', text)
    assert f"{tmp_path / 'sub' / 'bad2.yara'} line 3 (end of file)" in text
    assert "\n" not in text
    with pytest.raises(ValidationError, match="no .yar or .yara"):
        compile_rules(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    empty = tmp_path / "empty"
    empty.mkdir()
    return empty


def _planted(size: int, offsets: list[int], seed: int = 1) -> bytes:
    buf = bytearray(random.Random(seed).randbytes(size))
    marker = b"EVIDENCEKIT-BOUNDARY-MARKER-0123456789"
    for off in offsets:
        buf[off:off + len(marker)] = marker
    wide = "wide-marker".encode("utf-16-le")
    buf[offsets[0] + 100:offsets[0] + 100 + len(wide)] = wide
    return bytes(buf)


def test_chunked_stream_finds_exactly_what_a_whole_scan_finds(tmp_path: Path) -> None:
    (tmp_path / "m.yar").write_text(MARKER_RULE)
    rs = compile_rules(tmp_path)
    chunk = 1 << 16
    # markers straddling chunk starts (after the overlap shift), inside overlaps, and at the end
    offsets = [10, chunk - 5, 2 * chunk - 20, 3 * chunk + 7, 5 * chunk - 38 // 2, 6 * chunk - 38]
    data = _planted(6 * chunk, offsets)
    whole = YaraScanner(rs).scan_bytes(data)
    streamed = YaraScanner(rs, whole_limit=chunk, chunk_size=chunk, overlap=4096).scan_stream(io.BytesIO(data), len(data))
    assert streamed.scanned_bytes == len(data)
    assert [m.to_dict() for m in streamed.matches] == [m.to_dict() for m in whole.matches]
    assert sorted(h.offset for h in whole.matches[0].strings if h.identifier == "$m") == sorted(offsets)


def test_overlap_shorter_than_a_rule_string_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.yar").write_text(MARKER_RULE)
    rs = compile_rules(tmp_path)
    assert rs.longest == len("EVIDENCEKIT-BOUNDARY-MARKER-0123456789")
    with pytest.raises(ValidationError, match="overlap"):
        YaraScanner(rs, overlap=8)
    assert longest_string(['$h = { 41 42 [2-30] 43 }']) == 33


def test_size_limit_and_unreadable_content_are_warnings(tmp_path: Path) -> None:
    scanner = YaraScanner(compile_rules(RULES), max_size=100)
    out = scanner.scan_stream(io.BytesIO(MIMIKATZ * 10), len(MIMIKATZ * 10))
    assert out.matches == [] and "size limit" in out.warnings[0]

    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def read(self, n: int = -1) -> bytes:
            self.calls += 1
            if self.calls == 1:
                return (MIMIKATZ + b"\0" * n)[:n]
            raise OSError("bad sector")

    chunked = YaraScanner(compile_rules(RULES), whole_limit=4096, chunk_size=4096, overlap=1024)
    got = chunked.scan_stream(Failing(), None)
    assert [m.rule for m in got.matches] == ["mimikatz_strings"]
    assert "bad sector" in got.warnings[0] and "offset 4096" in got.warnings[0]


def test_timeout_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "slow.yar").write_text(
        'rule slow { strings: $a = "a" condition: for all i in (1..#a) : (for all j in (1..#a) : (@a[j] >= 0)) }')
    out = YaraScanner(compile_rules(tmp_path), timeout=1).scan_bytes(b"a" * 100_000)
    assert out.matches == []
    assert "time-out" in out.warnings[0]


def test_externals_are_set_per_file(tmp_path: Path) -> None:
    (tmp_path / "ext.yar").write_text('rule by_name { condition: filename matches /upload\\.php$/ and extension == "php" }')
    scanner = YaraScanner(compile_rules(tmp_path))
    assert [m.rule for m in scanner.scan_bytes(b"x", "/www/upload.php").matches] == ["by_name"]
    assert scanner.scan_bytes(b"x", "/www/upload.txt").matches == []


def test_many_hits_are_capped_and_yaras_match_limit_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "a.yar").write_text('rule many_a { strings: $a = "ab" condition: $a }')
    scanner = YaraScanner(compile_rules(tmp_path))
    out = scanner.scan_bytes(b"ab" * 500)
    (match,) = out.matches
    assert [h.offset for h in match.strings] == list(range(0, 200, 2))
    assert out.warnings == ["yara: a:many_a $a matched 500 times at offsets from 0; the first 100 are stored"]
    flood = scanner.scan_bytes(b"ab" * 1_000_500)
    assert any("more matches than YARA's limit" in w for w in flood.warnings), flood.warnings


def _rules_with_includes(tmp_path: Path) -> tuple[Path, Path]:
    """rules/main.yar includes sub/inner.yar (which includes ../deep.yar) and ../other.yar."""
    rules = tmp_path / "rules"
    (rules / "sub").mkdir(parents=True)
    (rules / "main.yar").write_text('include "sub/inner.yar"\ninclude "../other.yar"\n'
                                    "rule main_rule { condition: other_rule or inner_rule }\n")
    (rules / "sub" / "inner.yar").write_text('include "../deep.yar"\n'
                                             'rule inner_rule { strings: $a = "inner-marker" condition: $a }\n')
    (rules / "deep.yar").write_text("rule deep_rule { condition: false }\n")
    other = tmp_path / "other.yar"
    other.write_text('rule other_rule { strings: $a = "evil-marker" condition: $a }\n')
    return rules / "main.yar", other


def test_included_files_are_hashed_and_named(tmp_path: Path) -> None:
    main, other = _rules_with_includes(tmp_path)
    with pytest.raises(ValidationError, match=r"include '\.\./other\.yar' is outside the rules folder"):
        compile_rules(main)
    rs = compile_rules(main, allow_outside_includes=True)
    assert {p for p, _ in rs.included} == {"sub/inner.yar", "deep.yar", str(other)}
    assert rs.describe()["included"] == [{"path": p, "sha256": h} for p, h in rs.included]
    assert [m.rule for m in YaraScanner(rs).scan_bytes(b"an evil-marker here").matches] == ["other_rule", "main_rule"]
    other.write_text('rule other_rule { strings: $a = "changed-marker" condition: $a }\n')
    changed = compile_rules(main, allow_outside_includes=True)
    assert changed.sha256 != rs.sha256  # the matches change, so does the rules hash
    assert YaraScanner(changed).scan_bytes(b"an evil-marker here").matches == []
    (main.parent / "deep.yar").write_text("rule deep_rule { condition: true }\n")  # nested two levels down
    assert compile_rules(main, allow_outside_includes=True).sha256 != changed.sha256
    (main.parent / "sub" / "inner.yar").write_text('include "../missing.yar"\n')
    with pytest.raises(ValidationError, match=r"include '\.\./missing\.yar': cannot be read"):
        compile_rules(main, allow_outside_includes=True)


def test_rule_set_without_includes_keeps_its_hash(tmp_path: Path) -> None:
    """The hash of a set without includes is the manifest of its files alone, as before includes counted."""
    import hashlib

    rs = compile_rules(RULES)
    manifest = "".join(f"{rel}\0{digest}\n" for rel, digest in rs.files)
    assert rs.included == () and rs.sha256 == hashlib.sha256(manifest.encode()).hexdigest()


def test_cli_refuses_an_outside_include_unless_allowed(tmp_path: Path) -> None:
    from case.util import run_cli

    main, _ = _rules_with_includes(tmp_path)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "note.txt").write_bytes(b"an evil-marker here")
    refused = run_cli("scan", "yara", str(evidence), "--rules", str(main))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "--allow-outside-includes" in refused.stderr
    allowed = run_cli("scan", "yara", str(evidence), "--rules", str(main), "--allow-outside-includes", check=True)
    assert {json.loads(line)["rule"] for line in allowed.stdout.splitlines()} == {"other_rule", "main_rule"}
