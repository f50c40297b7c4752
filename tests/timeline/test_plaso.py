"""plaso artefacts in the case timeline: corpus evtx/browser/syslog files, Android and iOS extractions.

plaso is slow: one session-scoped case runs it once per exhibit with a narrow parser list.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from tests.timeline import devices
from tests.timeline.conftest import add_processed, mactime_rows, new_case

from evidencekit import settings
from evidencekit.case import Case, examiners
from evidencekit.exporters.timeline import export
from evidencekit.models import iso_utc, parse_iso_utc
from evidencekit.pipeline.timeline import build, timeline
from evidencekit.timeline import Query
from evidencekit.timeline import store as tl_store
from evidencekit.timeline.plaso import PRESETS

pytestmark = [pytest.mark.slow, pytest.mark.corpus]
PARSERS = ("winevtx,sqlite/chrome_8_history,sqlite/chrome_27_history,sqlite/firefox_history,"
           "text/syslog_traditional,sqlite/android_sms,sqlite/android_calls,sqlite/imessage")
ARTIFACTS = {
    "System2.evtx": "log2timeline/plaso/test_data/evtx/System2.evtx",
    "History": "log2timeline/plaso/test_data/chrome/History",
    "places.sqlite": "log2timeline/plaso/test_data/firefox/places.sqlite",
    "syslog": "log2timeline/plaso/test_data/syslog/syslog",
}


@pytest.fixture(scope="session")
def examiner_for_exports(plaso_case: Case) -> examiners.Examiner:
    return plaso_case.examiner  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def plaso_case(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Case:
    work = tmp_path_factory.mktemp("plaso")
    old_home = os.environ.get("EVIDENCEKIT_HOME")
    os.environ["EVIDENCEKIT_HOME"] = str(work / "home")
    settings.reset()
    try:
        examiner = examiners.init_examiner("Pat Plaso", "pat")
    finally:
        if old_home is not None:
            os.environ["EVIDENCEKIT_HOME"] = old_home
        settings.reset()
    files = work / "artefacts"
    files.mkdir()
    for name, rel in ARTIFACTS.items():
        shutil.copyfile(corpus / rel, files / name)  # a copy outside the repo: a folder exhibit
    case = new_case(work / "case", examiner)
    add_processed(case, examiner, files, "ART")
    add_processed(case, examiner, devices.android_zip(work), "AND")
    add_processed(case, examiner, devices.ios_backup(work), "IOS")
    add_processed(case, examiner, devices.mbr_disk_with_logs(work, files / "syslog"), "IMG")
    case.before = {ex.id: _snapshot(Path(ex.path)) for ex in case.exhibits()}  # type: ignore[attr-defined]
    case.built = build(case, examiner, artifacts=PARSERS)  # type: ignore[attr-defined]
    case.examiner = examiner  # type: ignore[attr-defined]
    return case


def _snapshot(path: Path) -> dict[str, tuple[int, int, str]]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in files}


def test_evidence_is_not_modified(plaso_case: Case) -> None:
    for ex in plaso_case.exhibits():
        assert _snapshot(Path(ex.path)) == plaso_case.before[ex.id], ex.id  # type: ignore[attr-defined]


def _events(case: Case, exhibit: str, parser: str) -> list:
    return [e for e in timeline(case, exhibit=exhibit, source="plaso") if e.parser == parser]


def test_every_exhibit_gets_fs_and_plaso_parts_in_the_ledger(plaso_case: Case) -> None:
    parts = {(ex, part.source): part for ex, part in plaso_case.built}  # type: ignore[attr-defined]
    exhibits = ("ART", "AND", "IOS", "IMG")
    assert set(parts) == {(ex, src) for ex in exhibits for src in ("fs", "plaso")} | {("IOS", "native")}
    assert all(parts[(ex, "plaso")].events > 0 for ex in exhibits)
    entries = [e for e in plaso_case.entries() if e.body["details"].get("analysis") == "timeline:plaso"]
    assert len(entries) == len(exhibits)
    for entry in entries:
        details = entry.body["details"]
        storage = plaso_case.root / next(k for k in entry.body["outputs"] if not k.startswith("db:"))
        assert entry.body["outputs"][f"db:timeline_runs/{details['run']}"]  # the imported rows are signed too
        assert hashlib.sha256(storage.read_bytes()).hexdigest() == details["storage_sha256"]
        assert entry.body["inputs"]["plaso_storage_sha256"] == details["storage_sha256"]
        assert details["plaso_version"] and details["parsers"] == PARSERS and details["ok"]


def test_evtx_events(plaso_case: Case, answers: dict) -> None:
    expected = answers["artifact_files"]["log2timeline/plaso/test_data/evtx/System2.evtx"]["libevtx"]
    events = _events(plaso_case, "ART", "winevtx")
    assert len({e.extra["record_number"] for e in events}) == expected["number_of_records"]
    sample = [e for e in events if e.extra["record_number"] == 179]
    assert sample and {e.extra["event_identifier"] for e in sample} == {4624}
    assert "2015-08-09T09:15:48.4341250Z" in {iso_utc(e.time, e.time_digits) for e in sample}
    assert all(e.path == "/System2.evtx" and e.time_digits == 7 for e in sample)
    assert sample[0].sha256 == answers["artifact_files"][
        "log2timeline/plaso/test_data/evtx/System2.evtx"]["file"]["sha256"]


def test_browser_history_events(plaso_case: Case, answers: dict) -> None:
    chrome = [e for e in timeline(plaso_case, exhibit="ART", source="plaso") if e.path == "/History"]
    rows = answers["artifact_files"]["log2timeline/plaso/test_data/chrome/History"]["sqlite_row_counts"]
    kinds = Counter(e.extra["data_type"] for e in chrome)
    assert kinds["chrome:history:page_visited"] == rows["visits"]
    assert kinds["chrome:history:file_downloaded"] == rows["downloads"]
    visit = [e for e in chrome if e.extra.get("url") == "http://start.ubuntu.com/10.04/Google/"]
    assert "2011-04-07T12:03:11Z" in {iso_utc((e.time // 10**9) * 10**9, 0) for e in visit}
    fox = _events(plaso_case, "ART", "sqlite/firefox_history")
    news = [e for e in fox if e.extra.get("url") == "http://news.google.com/"
            and e.extra["data_type"] == "firefox:places:page_visited"]
    assert [iso_utc(e.time, 6) for e in news] == ["2011-07-01T11:16:21.371935Z"]
    assert parse_iso_utc("2011-07-01T11:13:59.266344Z") in {
        e.time for e in fox if e.extra["data_type"] == "firefox:places:bookmark"}


def test_syslog_events_and_recorded_warning(plaso_case: Case) -> None:
    events = _events(plaso_case, "ART", "text/syslog_traditional")
    assert len(events) == 16 and all(e.path == "/syslog" for e in events)
    assert any("No new content in ímynd.dd." in e.message for e in events)
    warns = [w for w in tl_store.warnings(plaso_case.db, "ART") if w[0].startswith("plaso:")]
    assert len(warns) == 1 and "syslog" in (warns[0][1] or "")


def test_disk_image_partition_events(plaso_case: Case) -> None:
    events = _events(plaso_case, "IMG", "text/syslog_traditional")
    assert len(events) == 16 and {(e.volume, e.path) for e in events} == {("p1", "/var/log/syslog")}
    fs = [e for e in timeline(plaso_case, exhibit="IMG", source="fs") if e.path == "/var/log/syslog"]
    assert fs and {e.volume for e in fs} == {"p1"} and fs[0].sha256 == events[0].sha256


def test_android_sms_and_calls(plaso_case: Case) -> None:
    sms = _events(plaso_case, "AND", "sqlite/android_sms")
    assert sorted((e.time, e.extra["message_body"], e.extra["address"]) for e in sms) == sorted(
        (ms * 10**6, body, address) for _id, address, ms, _read, _type, body in devices.SMS)
    assert all(e.path == "/data/data/com.android.providers.telephony/databases/mmssms.db" for e in sms)
    calls = _events(plaso_case, "AND", "sqlite/android_calls")
    starts = {(e.time, e.extra["number"]) for e in calls if e.timestamp_desc == "Start Time"}
    assert starts == {(ms * 10**6, number) for _id, number, ms, _dur, _type, _name in devices.CALLS}


def test_ios_backup_events_use_real_names(plaso_case: Case) -> None:
    real = "/".join(devices.SMS_DB)
    messages = _events(plaso_case, "IOS", "sqlite/imessage")
    assert sorted(e.extra["text"] for e in messages) == sorted(m[5] for m in devices.IMESSAGES)
    assert {e.path for e in messages} == {real}
    fid = devices.file_id(*devices.SMS_DB)
    assert {e.extra["backup_path"] for e in messages} == {f"/{fid[:2]}/{fid}"}
    assert {e.time for e in messages} == {(m[1] + devices.COCOA_EPOCH) * 10**9 for m in devices.IMESSAGES}
    fs_events = list(timeline(plaso_case, exhibit="IOS", source="fs"))
    assert not any(fid in e.path for e in fs_events)
    renamed = [e for e in fs_events if e.path == real]
    assert renamed and all(e.extra["backup_path"] == f"/{fid[:2]}/{fid}" for e in renamed)
    assert renamed[0].sha256 == messages[0].sha256 and renamed[0].locator is not None and fid in renamed[0].locator.to_json()


def test_ios_call_history_read_natively(plaso_case: Case) -> None:
    calls = list(timeline(plaso_case, exhibit="IOS", source="native"))
    assert {e.path for e in calls} == {"/".join(devices.CALL_DB)}
    starts = sorted((e.time, e.extra["number"]) for e in calls if e.timestamp_desc == "Start Time")
    assert starts == sorted((int(round((d + devices.COCOA_EPOCH) * 10**6)) * 1000, a.decode())
                            for _pk, d, _dur, a, _o, _ans in devices.IOS_CALLS)
    ends = [e for e in calls if e.timestamp_desc == "End Time"]
    assert len(ends) == 1 and ends[0].time == starts[0][0] + 42_500_000_000
    assert "Outgoing call +77010000006: answered, 42 s" in {e.message for e in calls}
    entry = next(e for e in plaso_case.entries() if e.body["details"].get("analysis") == "timeline:native")
    assert entry.body["details"]["events"] == len(calls) == 3


def test_default_preset_covers_device_databases() -> None:
    for parser in ("sqlite/android_sms", "sqlite/android_calls", "sqlite/imessage", "winevtx"):
        assert parser in PRESETS["default"].split(",")


def test_artefact_exports(plaso_case: Case, examiner_for_exports: examiners.Examiner, tmp_path: Path) -> None:
    sms = _events(plaso_case, "AND", "sqlite/android_sms")
    body = tmp_path / "and.body"
    export(plaso_case, examiner_for_exports, "bodyfile", body, query=Query(exhibit="AND"))
    # Columns without a time are 0, as TSK writes them; mactime lists those under 0000-00-00.
    rows = [r for r in mactime_rows(body) if "[sqlite/android_sms: " in r[-1] and not r[0].startswith("0000")]
    assert sorted(r[0] for r in rows) == sorted(iso_utc(e.time // 10**9 * 10**9, 0) for e in sms)
    sketch = tmp_path / "and.jsonl"
    export(plaso_case, examiner_for_exports, "timesketch", sketch, query=Query(exhibit="AND", source="plaso"))
    objs = [json.loads(line) for line in sketch.read_text().splitlines()]
    assert {o["data_type"] for o in objs} >= {"android:messaging:sms", "android:event:call"}
    assert all(o["message"] and o["timestamp_desc"] and o["datetime"].endswith("Z") for o in objs)


def test_custody_verify_rechecks_plaso_and_native_rows(plaso_case: Case) -> None:
    from evidencekit.case import custody

    report = custody.verify_case(plaso_case)
    assert report.ok, report.findings
    assert not [n for n in report.notes if "timeline_runs" in n]  # every run digest was recomputed


def test_year_for_syslog_lines_is_passed_to_plaso_and_recorded(corpus: Path, tmp_path: Path) -> None:
    """syslog lines carry no year: --year sets it (plaso would infer one), and the ledger says so."""
    from evidencekit.pipeline.timeline import build_plaso

    files = tmp_path / "logs"
    files.mkdir()
    shutil.copyfile(corpus / ARTIFACTS["syslog"], files / "syslog")
    examiner = examiners.init_examiner("Sam Syslog", "sam")
    case = new_case(tmp_path / "case", examiner)
    add_processed(case, examiner, files, "LOG")
    part = build_plaso(case, "LOG", examiner, artifacts="text/syslog_traditional", year=2019)
    events = list(timeline(case, exhibit="LOG", source="plaso"))
    # The log spans three years (plaso moves on at each December->January wrap); its Feb 29 line
    # falls in 2019, not a leap year: kept, flagged, at time 0.
    invalid = [e for e in events if "no_valid_time" in e.flags]
    assert part.events == 16 and len(invalid) == 1 and invalid[0].time == 0 and "leap year" in invalid[0].message
    assert sorted({iso_utc(e.time, 0)[:4] for e in events if e not in invalid}) == ["2019", "2020", "2021"]
    entry = case.entries()[-1]
    assert entry.body["details"]["preferred_year"] == 2019
    assert "--preferred_year" in entry.body["details"]["commands"][0]
    case.close()
