"""The examination report: what a court reads must hold the media hashes, the findings and the
custody head; an edited report fails custody verify; English and Russian are complete."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from case.util import run_cli
from ektools import IN_CI, need_tool
from evidencekit.case import Case, examiners
from evidencekit.case.custody import verify_case
from evidencekit.findings import add_finding, add_question, answer_question
from evidencekit.findings.extraction import extract_case
from evidencekit.findings.items import resolve_file
from evidencekit.report import BuiltReport, build_report
from findings.conftest import DROPPER, ZONE, new_case

PDF_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core"


def need_pdf() -> None:
    """WeasyPrint and its Debian libraries; skip (fail in CI) naming what to install."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as err:
        msg = f"PDF reports need WeasyPrint and {PDF_PACKAGES} (apt-get install, or 'make sysdeps'): {err}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)


def pdf_text(path: Path) -> str:
    return subprocess.run([need_tool("pdftotext"), "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Case, examiners.Examiner, dict[str, BuiltReport]]]:
    need_pdf()
    from evidencekit import settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EVIDENCEKIT_HOME", str(tmp_path_factory.mktemp("home")))
        settings.reset()  # the library reads the environment once per process
        examiner = examiners.init_examiner("Alice Marie Examiner", "alice")
        case = new_case(tmp_path_factory.mktemp("r") / "case", examiner)
        from evidencekit.pipeline.timeline import build

        build(case, examiner, ["E1"], artifacts="none")
        item = resolve_file(case.db, case.root, "E1", path=DROPPER)
        f1 = add_finding(case, examiner, "E1", item, "Executable disguised as an invoice, deleted", ("malware",))
        add_finding(case, examiner, "E1", resolve_file(case.db, case.root, "E1", path=ZONE), "Downloaded from the Internet")
        add_question(case, examiner, "Was a program deleted, and can it be recovered?")
        answer_question(case, examiner, 1, "Yes; it was recovered.", (f1.id,))
        extract_case(case, examiner, "E1", case.root / "exports" / "extracted", [DROPPER], [])
        built = {lang: build_report(case, examiner, lang=lang) for lang in ("en", "ru")}
        yield case, examiner, built
        case.close()
    settings.reset()


def test_english_pdf_holds_hashes_findings_and_custody_head(reported) -> None:
    case, _, built = reported
    report = built["en"]
    assert not report.draft and report.path.parent == case.root / "reports"
    text = pdf_text(report.path)
    flat = re.sub(r"\s+", "", text)  # long paths and hashes may wrap in table cells
    ex = case.exhibit("E1")
    for value in ex.hashes.values():
        assert value in flat
    row = case.db.execute("SELECT sha256 FROM files WHERE path = ? AND stream = ''", (DROPPER,)).fetchone()
    assert row[0] in flat and DROPPER.replace(" ", "") in flat and "Finding F1" in text
    entry = next(e for e in case.entries() if e.seq == report.entry_seq)
    head = entry.body["details"]["custody_head"]
    assert head["hash"] in flat and head["seq"] == report.entry_seq - 1
    assert entry.body["outputs"] == {f"reports/{report.path.name}": report.sha256}
    pages = int(re.search(r"page 1 of (\d+)", text).group(1))
    assert pages >= 3 and f"page {pages} of {pages}" in text
    assert "Alice Marie Examiner" in text and "Yes; it was recovered." in text and "EXPERT'S REPORT" in text


def test_pdf_is_pdfa_with_the_case_uco_export_attached(reported, tmp_path: Path) -> None:
    case, _, built = reported
    meta = subprocess.run(["pdfinfo", "-meta", str(built["en"].path)], check=True, capture_output=True,
                          text=True).stdout
    assert 'pdfaid:part="3"' in meta and 'pdfaid:conformance="B"' in meta  # PDF/A-3b
    subprocess.run([need_tool("pdfdetach"), "-saveall", "-o", str(tmp_path), str(built["en"].path)], check=True)
    attached = list(tmp_path.glob("*.jsonld"))
    assert len(attached) == 1 and b"investigation:Investigation" in attached[0].read_bytes()
    entry = next(e for e in case.entries() if e.seq == built["en"].entry_seq)
    import hashlib

    assert entry.body["details"]["attachment"]["sha256"] == hashlib.sha256(attached[0].read_bytes()).hexdigest()


def test_russian_pdf_dates_plurals_and_words(reported) -> None:
    from babel.dates import format_date

    case, _, built = reported
    text = pdf_text(built["ru"].path)
    assert "ЗАКЛЮЧЕНИЕ ЭКСПЕРТА" in text and "Вопросы, поставленные перед экспертом" in text
    entry = next(e for e in case.entries() if e.seq == built["ru"].entry_seq)
    import datetime

    day = datetime.datetime.fromtimestamp(entry.time_ns / 1e9, tz=datetime.UTC).date()
    prose = format_date(day, "long", locale="ru")
    assert re.fullmatch(r"\d{1,2} [а-я]+ \d{4}\s?г\.", prose), prose  # "1 декабря 2026 г." (a narrow space)
    assert prose.replace("\u202f", " ") in text.replace("\u202f", " ")
    assert "На исследование представлен 1 объект." in text  # singular form for 1
    assert re.search(r"1\s024 байта", text)  # 1024: the "few" form
    assert re.search(r"стр\. 1 из \d+", text)
    assert "Not answered" not in text and "Finding" not in text  # nothing left in English


def test_an_edited_report_fails_custody_verify(reported) -> None:
    case, examiner, _ = reported
    report = build_report(case, examiner, fmt="html")
    assert verify_case(case).ok
    text = report.path.read_text(encoding="utf-8")
    report.path.write_text(text.replace("Executable disguised", "Harmless file disguised"), encoding="utf-8")
    found = verify_case(case).findings
    assert any(f"reports/{report.path.name}" in f.message and "altered" in f.message for f in found)
    report.path.write_text(text, encoding="utf-8")
    assert verify_case(case).ok


def test_open_work_makes_a_draft_that_lists_it(tmp_path: Path, examiner) -> None:
    case = new_case(tmp_path / "case", examiner, process=False)
    add_question(case, examiner, "Anything?")
    built = build_report(case, examiner, fmt="html")
    assert built.draft
    assert built.missing == ["exhibit E1 is not processed (status: registered)", "question 1 has no answer"]
    html = built.path.read_text(encoding="utf-8")
    assert "DRAFT" in html and "exhibit E1 is not processed" in html
    entry = case.entries()[-1]
    assert entry.action == "reported" and entry.body["details"]["draft"] is True
    assert (case.root / "reports" / entry.body["details"]["attachment"]["name"]).is_file()


def test_russian_catalogue_is_complete() -> None:
    from babel.messages.extract import extract_from_dir

    from evidencekit import i18n

    src = Path(__file__).resolve().parents[2] / "src" / "evidencekit" / "report"
    method_map = [("**/templates/**.j2", "jinja2.ext:babel_extract"), ("**.py", "python")]
    options = {"**/templates/**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}}
    keywords = {"_": None, "N_": None, "NN_": (1, 2), "gettext": None, "ngettext": (1, 2)}
    tr = i18n.translations("report", "ru")
    found = list(extract_from_dir(str(src), method_map, options_map=options, keywords=keywords))
    assert len(found) > 100
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
    for _file, _line, msg, _c, _ctx in found:
        if isinstance(msg, tuple):
            forms = [tr.ngettext(msg[0], msg[1], n) for n in (1, 3, 5)]
            assert all(f not in msg for f in forms), f"untranslated plural {msg[0]!r}"
            assert all(sorted(placeholder.findall(f)) == sorted(placeholder.findall(msg[1])) for f in forms), msg
        else:
            got = tr.gettext(msg)
            assert got != msg or not re.search(r"[a-z]{3}", msg), f"untranslated {msg!r}"
            assert sorted(placeholder.findall(got)) == sorted(placeholder.findall(msg)), msg


def test_cli_template_override_and_bad_language(ws_case: Case, tmp_path: Path) -> None:
    from evidencekit.report.render import PACKAGE_TEMPLATES

    env = {"EVIDENCEKIT_EXAMINER": "alice"}
    proc = run_cli("report", "build", str(ws_case.root), "--lang", "xx", "--format", "html", env=env)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "xx" in proc.stderr
    mine = tmp_path / "tpl"
    mine.mkdir()
    text = (PACKAGE_TEMPLATES / "report.html.j2").read_text(encoding="utf-8")
    (mine / "report.html.j2").write_text(text.replace("<body>", "<body><p>LAB TEMPLATE 7</p>"), encoding="utf-8")
    proc = run_cli("report", "build", str(ws_case.root), "--format", "html", "--template", str(mine), env=env)
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.split(" sha256 ")[0])
    assert "LAB TEMPLATE 7" in path.read_text(encoding="utf-8")
    assert ws_case.entries()[-1].body["details"]["template"] == str(mine)


def test_display_zone_is_stated_and_used(ws_case: Case, examiner) -> None:
    add_finding(ws_case, examiner, "E1", resolve_file(ws_case.db, ws_case.root, "E1", path=DROPPER), "dropper")
    html = build_report(ws_case, examiner, fmt="html", tz="Asia/Almaty").path.read_text(encoding="utf-8")
    assert "Times are shown in the zone Asia/Almaty" in html
    assert "2021-06-15 15:06:40.0000000+06:00" in html  # 09:06:40Z; Almaty was UTC+6 until 2024
    assert "09:06:40.0000000Z" not in html
