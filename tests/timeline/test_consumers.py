"""Timeline exports read by the tools they are for: plaso's bodyfile parser, TSK's mactime, the
Timesketch importer's rules, plaso's l2tcsv columns, an independent XLSX reader, sha256sum.
Names with newlines, tabs and pipes must not forge lines in any of them."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from tests.timeline.conftest import (
    build_ext4_named,
    event_keys,
    mactime_events,
    mactime_rows,
    new_case,
    run_cli,
)

from ektools import need_tool
from evidencekit.case import Case
from evidencekit.errors import ValidationError
from evidencekit.exporters.timeline import export
from evidencekit.pipeline.intake import add_exhibit
from evidencekit.pipeline.processing import process_exhibit
from evidencekit.pipeline.timeline import build, timeline

FORGED = "0|INJECTED|1|rrw-r--r--|0|0|1|1|1|1|1"  # what mactime would read as an entry
HOSTILE = {f"evil\n{FORGED}": "x", "tab\there.txt": "t", "pipe|name.txt": "p", "Документы.txt": "д"}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("consumers")
    return build_ext4_named(work, HOSTILE, "hostile"), build_ext4_named(work, {"same.txt": "a", "other.txt": "b"}, "plain")


@pytest.fixture
def case(tmp_path: Path, examiner, images: tuple[Path, Path]) -> Case:
    case = new_case(tmp_path / "case", examiner)
    for exhibit, image in zip(("E1", "E2"), images, strict=True):
        add_exhibit(case, image, exhibit, examiner)
        process_exhibit(case, exhibit, examiner, hashes=("md5", "sha256"))
    build(case, examiner, artifacts="none")
    yield case
    case.close()


def _plaso_bodyfile(path: Path) -> tuple[list, list]:
    """Event data and warnings of plaso's own bodyfile parser over ``path``."""
    from dfvfs.lib import definitions
    from dfvfs.path import factory
    from dfvfs.resolver import resolver
    from plaso.engine import knowledge_base
    from plaso.parsers import bodyfile
    from plaso.parsers import mediator as parser_mediator
    from plaso.storage.fake import writer as fake_writer

    storage = fake_writer.FakeStorageWriter()
    storage.Open()
    mediator = parser_mediator.ParserMediator(knowledge_base.KnowledgeBase())
    mediator.SetStorageWriter(storage)
    spec = factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_OS, location=str(path))
    mediator.SetFileEntry(resolver.Resolver.OpenFileEntry(spec))
    bodyfile.BodyfileParser().Parse(mediator, resolver.Resolver.OpenFileObject(spec))
    return (list(storage.GetAttributeContainers("event_data")),
            list(storage.GetAttributeContainers("extraction_warning")))


def test_bodyfile_is_read_whole_by_plaso_and_mactime(case: Case, examiner, tmp_path: Path) -> None:
    out = tmp_path / "timeline.body"
    export(case, examiner, "bodyfile", out)
    lines = out.read_text().splitlines()
    data, warnings = _plaso_bodyfile(out)
    assert len(data) == len(lines) > 0 and warnings == []
    md5s = {r[0] for r in case.db.execute("SELECT md5 FROM files WHERE md5 IS NOT NULL")}
    assert {d.md5 for d in data if d.md5} == md5s  # column 1 is the MD5 (or 0)
    names = {d.filename for d in data}
    assert {n.split(":", 1)[0] for n in names} == {"E1", "E2"}  # the exhibits stay apart
    assert "E1:/evil^0^INJECTED^1^rrw-r--r--^0^0^1^1^1^1^1" in names
    assert "E2:/same.txt" in names and "E1:/pipe^name.txt" in names and "E1:/Документы.txt" in names
    assert len(mactime_rows(out)) >= len(lines) and mactime_events(out) == {
        (t, m, p.replace("|", "^").replace("\n", "^").replace("\t", "^"), a)
        for t, m, p, a in event_keys(timeline(case))}
    assert not any(row[-1].strip('"') == "INJECTED" for row in mactime_rows(out))


def test_no_text_output_prints_a_forged_line(case: Case, examiner, tmp_path: Path) -> None:
    events = list(timeline(case))
    shown = run_cli("timeline", "show", str(case.root))
    assert shown.returncode == 0 and len(shown.stdout.splitlines()) == len(events) + 1
    assert "evil\\n0|INJECTED" in shown.stdout and "tab\\there.txt" in shown.stdout
    assert not any(line.startswith("0|") for line in shown.stdout.splitlines())
    for fmt, name in (("csv", "t.csv"), ("l2tcsv", "t.l2t.csv"), ("timesketch-csv", "t.csv")):
        out = tmp_path / fmt / name
        out.parent.mkdir()
        export(case, examiner, fmt, out, group=False)
        text = out.read_text(encoding="utf-8")
        assert len(text.splitlines()) == len(events) + 1, fmt  # no raw newline inside a value
        assert "\t" not in text and "evil\\n0" in text
    listed = run_cli("case", "files", str(case.root))
    assert len(listed.stdout.splitlines()) == 1 + case.db.execute("SELECT count(*) FROM files").fetchone()[0]
    rows = list(csv.reader(io.StringIO(run_cli("case", "files", str(case.root), "--format", "csv").stdout)))
    assert any(r[2].startswith("/evil\\n0|INJECTED") for r in rows[1:]) and all("\n" not in c for r in rows for c in r)


def test_timesketch_jsonl_is_flat_with_one_meaning_per_line(case: Case, examiner, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"\.jsonl"):
        export(case, examiner, "timesketch", tmp_path / "t.timesketch")
    out = tmp_path / "t.jsonl"
    _, count = export(case, examiner, "timesketch", out, tz="Asia/Almaty")
    objs = [json.loads(line) for line in out.read_text().splitlines()]
    events = list(timeline(case))
    assert count == len(objs) == len(events)
    assert all(not isinstance(v, dict | list) for o in objs for v in o.values())  # flat
    assert [o["timestamp_desc"] for o in objs] == [e.timestamp_desc for e in events]
    assert all(o["timestamp"] == e.time // 1000 and o["message"] for o, e in zip(objs, events, strict=True))
    local = datetime.fromtimestamp(events[0].time // 10**9, ZoneInfo("Asia/Almaty"))
    assert datetime.fromisoformat(objs[0]["datetime"]) == local.replace(microsecond=datetime.fromisoformat(
        objs[0]["datetime"]).microsecond)
    assert json.loads(objs[0]["locator"])["evidence"]  # the locator: a JSON text, not an object


def test_timesketch_csv_has_the_required_columns_first(case: Case, examiner, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"\.csv"):
        export(case, examiner, "timesketch-csv", tmp_path / "t.tsv")
    out = tmp_path / "t.csv"
    export(case, examiner, "timesketch-csv", out)
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert list(rows[0])[:4] == ["message", "datetime", "timestamp_desc", "timestamp"]
    assert len(rows) == len(list(timeline(case))) and all(int(r["timestamp"]) > 0 for r in rows)


def test_l2tcsv_has_plasos_17_columns_and_forms(case: Case, examiner, tmp_path: Path) -> None:
    from plaso.output.l2t_csv import L2TCSVOutputModule

    out = tmp_path / "t.csv"
    _, count = export(case, examiner, "l2tcsv", out, tz="Europe/Moscow")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",") == L2TCSVOutputModule._FIELD_NAMES
    rows = [line.split(",") for line in lines[1:]]
    assert all(len(r) == 17 for r in rows)
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4}", r[0]) and re.fullmatch(r"\d\d:\d\d:\d\d", r[1]) for r in rows)
    assert {r[2] for r in rows} == {"Europe/Moscow"} and {r[4] for r in rows} == {"FILE"}
    assert {r[11] for r in rows} == {"2"} and {r[15] for r in rows} == {"filestat"}
    assert all(re.fullmatch(r"[M.][A.][C.][B.]", r[3]) for r in rows)
    assert sum(len(r[3].replace(".", "")) for r in rows) == len([e for e in timeline(case) if e.macb])
    assert count == len(list(timeline(case)))
    first = next(e for e in timeline(case))
    local = datetime.fromtimestamp(first.time // 10**9, ZoneInfo("Europe/Moscow"))
    assert rows[0][:2] == [local.strftime("%m/%d/%Y"), local.strftime("%H:%M:%S")]


def test_xlsx_has_a_sheet_per_exhibit_with_date_cells(case: Case, examiner, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    _, count = export(case, examiner, "xlsx", out, tz="Asia/Almaty", group=False)
    book = openpyxl.load_workbook(out, read_only=False)
    assert book.sheetnames == ["E1", "E2"]
    events = list(timeline(case))
    assert count == len(events) == sum(ws.max_row - 1 for ws in book.worksheets)
    ws = book["E1"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    assert ws.cell(1, 1).value == "time (Asia/Almaty)"
    first = next(e for e in events if e.exhibit == "E1")
    cell = ws.cell(2, 1).value
    assert isinstance(cell, datetime)
    expected = datetime.fromtimestamp(first.time / 10**9, ZoneInfo("Asia/Almaty")).replace(tzinfo=None)
    assert abs((cell - expected).total_seconds()) < 0.001
    assert ws.cell(2, 16).value == str(first.time)  # full precision beside the date cell
    paths = {ws.cell(r, 6).value for r in range(2, ws.max_row + 1)}
    assert f"/evil\\n{FORGED}" in paths and "/Документы.txt" in paths


def test_excel_csv_opens_cyrillic_names_in_a_semicolon_locale(case: Case, examiner, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    export(case, examiner, "csv", out, excel=True)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0][:2] == ["datetime", "timezone"] and any("/Документы.txt" in r for r in rows)
    assert case.entries()[-1].body["details"]["excel"] is True


def test_sha256_sidecar_checks_from_its_own_folder(case: Case, examiner, tmp_path: Path) -> None:
    need_tool("sha256sum")
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("timeline.csv", "odd\\name.csv"):
        export(case, examiner, "csv", folder / name)
        done = subprocess.run(["sha256sum", "-c", f"{name}.sha256"], cwd=folder, capture_output=True, text=True)
        assert done.returncode == 0 and ": OK" in done.stdout, done.stdout + done.stderr


def test_a_selection_that_matches_nothing_is_an_error_naming_what_exists(case: Case, tmp_path: Path) -> None:
    root = str(case.root)
    for args, says in (
        (("case", "files", root, "--exhibit", "E9"), "no exhibit 'E9'; the case has E1, E2"),
        (("case", "files", root, "--volume", "nosuch"), "no volume 'nosuch' in the inventory; it has ''"),
        (("timeline", "show", root, "--exhibit", "E9"), "no exhibit 'E9'; the case has E1, E2"),
        (("timeline", "show", root, "--source", "nosuchparser"), "nor a parser of this timeline (filesystem)"),
        (("timeline", "export", root, "--format", "csv", "--out", str(tmp_path / "x.csv"), "--exhibit", "E9"),
         "no exhibit 'E9'"),
    ):
        done = run_cli(*args)
        assert done.returncode == 2 and done.stdout == "" and says in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["case"]  # no export, no partial file
    # a filter that is valid but happens to match no row is not an error
    assert run_cli("timeline", "show", root, "--source", "plaso").returncode == 0
    assert run_cli("timeline", "show", root, "--source", "filesystem", "--limit", "1").returncode == 0


def test_case_files_xlsx_has_a_sheet_per_exhibit(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "files.xlsx"
    done = run_cli("case", "files", str(case.root), "--format", "xlsx", "-o", str(out), "--tz", "Asia/Almaty")
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["E1", "E2"]
    ws = book["E2"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["exhibit", "volume", "path"] and "mtime (Asia/Almaty)" in header
    rows = {r[2]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    stored = case.db.execute("SELECT mtime, size FROM files WHERE exhibit = 'E2' AND path = '/same.txt'").fetchone()
    mtime = rows["/same.txt"][header.index("mtime (Asia/Almaty)")]
    assert mtime == datetime.fromtimestamp(stored[0] // 10**9, ZoneInfo("Asia/Almaty")).replace(tzinfo=None)
    assert rows["/same.txt"][header.index("size")] == stored[1]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    assert run_cli("case", "files", str(case.root), "--format", "xlsx").returncode == 2  # needs --output
