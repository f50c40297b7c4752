"""Building a case timeline from the inventory, querying it, and hashed exports in every format."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.timeline.conftest import add_processed, event_keys, mactime_events, new_case

from ektools import need_tool
from evidencekit.case import Case
from evidencekit.errors import ValidationError
from evidencekit.exporters.timeline import export
from evidencekit.pipeline.timeline import build, timeline
from evidencekit.timeline import Query


def _fls_body(image: Path, out: Path) -> Path:
    need_tool("fls")
    body = subprocess.run(["fls", "-r", "-m", "/", str(image)], capture_output=True, text=True, check=True).stdout
    out.write_text(body)
    return out


def test_build_from_inventory_equals_fls_mactime(ext4_case: Case, examiner, ext4_image: Path, tmp_path: Path) -> None:
    results = build(ext4_case, examiner, artifacts="none")
    assert [(ex, part.source) for ex, part in results] == [("E1", "fs")]
    events = list(timeline(ext4_case))
    assert len(events) == results[0][1].events > 4 * 30
    assert event_keys(events) == mactime_events(_fls_body(ext4_image, tmp_path / "fls.body"))
    assert [e.time for e in events] == sorted(e.time for e in events)
    sample = next(e for e in events if e.path.endswith("file0003.txt") and e.macb == "m")
    assert sample.sha256 == hashlib.sha256(b"content of file 3\n" * 4).hexdigest()
    assert sample.locator is not None and sample.locator.spec and sample.exhibit == "E1" and sample.inode
    entry = ext4_case.entries()[-1]
    assert entry.action == "analysed" and entry.body["details"]["analysis"] == "timeline:fs"
    assert entry.body["details"]["events"] == len(events)


def test_rebuild_replaces_and_query_filters(ext4_case: Case, examiner) -> None:
    build(ext4_case, examiner, artifacts="none")
    build(ext4_case, examiner, artifacts="none")
    events = list(timeline(ext4_case))
    assert ext4_case.entries()[-1].body["details"]["replaced_events"] == len(events)
    mid = events[len(events) // 2].time
    hour = list(timeline(ext4_case, start=mid, end=mid + 3600 * 10**9))
    assert hour == [e for e in events if mid <= e.time < mid + 3600 * 10**9]
    grep = list(timeline(ext4_case, grep="FILE0007"))
    assert grep and all("file0007" in e.path for e in grep)
    assert list(timeline(ext4_case, source="plaso")) == []
    assert len(list(timeline(ext4_case, source="fs", limit=5))) == 5
    assert list(ext4_case.timeline(start=mid, end=mid + 3600 * 10**9)) == hour  # the Case method


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "bodyfile", "timesketch"])
def test_export_is_hashed_and_recorded(ext4_case: Case, examiner, fmt: str, tmp_path: Path) -> None:
    build(ext4_case, examiner, artifacts="none")
    out = tmp_path / ("timeline.jsonl" if fmt == "timesketch" else f"timeline.{fmt}")
    sha, count = export(ext4_case, examiner, fmt, out, tz="Asia/Almaty")
    data = out.read_bytes()
    assert sha == hashlib.sha256(data).hexdigest()
    assert (tmp_path / f"{out.name}.sha256").read_text() == f"{sha}  {out.name}\n"
    entry = ext4_case.entries()[-1]
    assert entry.action == "exported" and sha in entry.body["outputs"].values()
    assert entry.body["details"]["zone"] == "Asia/Almaty" and count == entry.body["details"]["events"] > 0
    events = list(timeline(ext4_case))
    first = events[0]
    local = datetime.fromtimestamp(first.time // 10**9, ZoneInfo("Asia/Almaty")).isoformat()
    text = data.decode()
    if fmt == "csv":
        rows = list(csv.DictReader(text.splitlines()))
        assert rows[0]["timezone"] == "Asia/Almaty" and rows[0]["datetime"][:19] == local[:19]
        assert rows[0]["datetime"].endswith(local[-6:])
        assert sum(len([c for c in r["MACB"] if c != "."]) for r in rows) == len(events)
    elif fmt in ("jsonl", "timesketch"):
        objs = [json.loads(line) for line in text.splitlines()]
        assert all(o["timezone"] == "Asia/Almaty" for o in objs)
        assert objs[0]["datetime"][:19] == local[:19]
        if fmt == "timesketch":
            assert all({"message", "datetime", "timestamp_desc", "timestamp"} <= o.keys() for o in objs)
            assert objs[0]["timestamp"] == first.time // 1000
    else:
        assert not text.startswith("#") and text.startswith("0|E1:/")  # TSK 3.x: no comment, MD5 or 0
        assert mactime_events(out) == event_keys(events)


def test_export_rejects_unknown_zone_and_writes_nothing(ext4_case: Case, examiner, tmp_path: Path) -> None:
    build(ext4_case, examiner, artifacts="none")
    before = len(ext4_case.entries())
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        export(ext4_case, examiner, "csv", tmp_path / "x.csv", tz="Mars/Olympus")
    assert not (tmp_path / "x.csv").exists() and len(ext4_case.entries()) == before


def test_export_filtered_by_exhibit_and_time(ext4_case: Case, examiner, tmp_path: Path) -> None:
    build(ext4_case, examiner, artifacts="none")
    events = list(timeline(ext4_case))
    start = events[10].time
    _, count = export(ext4_case, examiner, "jsonl", tmp_path / "part.jsonl", group=False,
                      query=Query(start=start, exhibit="E1"))
    assert count == len([e for e in events if e.time >= start])
    assert ext4_case.entries()[-1].body["details"]["filters"] == {"start": start, "exhibit": "E1"}


def test_fat_local_times_carry_their_assumed_zone(tmp_path: Path, examiner) -> None:
    """FAT stores local time without a zone: events say which zone it was read in, exports show it."""
    need_tool("mkfs.fat")
    need_tool("mcopy")
    image = tmp_path / "fat.img"
    subprocess.run(["mkfs.fat", "-C", "-n", "USB", str(image), "4096"], check=True, capture_output=True)
    note = tmp_path / "note.txt"
    note.write_text("meet at 5\n")
    subprocess.run(["mcopy", "-m", "-i", str(image), str(note), "::/NOTE.TXT"], check=True)
    case = new_case(tmp_path / "case", examiner)
    add_processed(case, examiner, image, "U1")
    build(case, examiner, artifacts="none")
    events = [e for e in timeline(case) if e.path.upper() == "/NOTE.TXT"]
    assert events and all(e.assumed_zone == "UTC" and e.time_digits in (0, 2) for e in events)
    out = tmp_path / "fat.csv"
    export(case, examiner, "csv", out)
    rows = [r for r in csv.DictReader(out.read_text().splitlines()) if r["filename"].upper() == "/NOTE.TXT"]
    assert rows and {r["assumed_zone"] for r in rows} == {"UTC"} and {r["timezone"] for r in rows} == {"UTC"}
    case.close()


def test_reprocessing_drops_derived_events_until_rebuilt(ext4_case: Case, examiner) -> None:
    from evidencekit.pipeline.processing import process_exhibit

    build(ext4_case, examiner, artifacts="none")
    before = [(e.time, e.macb, e.path, e.sha256, e.locator) for e in timeline(ext4_case)]
    process_exhibit(ext4_case, "E1", examiner, hashes=("sha256",), reprocess=True)
    assert list(timeline(ext4_case, source="fs")) == []  # never events joined to other inventory rows
    build(ext4_case, examiner, artifacts="none")
    assert [(e.time, e.macb, e.path, e.sha256, e.locator) for e in timeline(ext4_case)] == before


def test_events_carry_scan_results(ext4_case: Case, examiner, tmp_path: Path) -> None:
    """YARA matches and file types stored by `scan` travel with the file's events into exports."""
    from evidencekit.pipeline.scan import scan_exhibit
    from evidencekit.scan.engine import ContentPass
    from evidencekit.scan.yara import YaraScanner, compile_rules

    rules = tmp_path / "r.yar"
    rules.write_text('rule file_seven { strings: $a = "content of file 7\\n" condition: $a }\n')
    scan_exhibit(ext4_case, "E1", examiner, ContentPass(YaraScanner(compile_rules(rules)), types=True))
    build(ext4_case, examiner, artifacts="none")
    events = list(timeline(ext4_case))
    hit = {e.path for e in events if "file_seven" in e.extra.get("scan", {}).get("yara_rules", [])}
    assert hit == {"/dir2/file0007.txt"}
    typed = [e for e in events if e.path.endswith(".txt")]
    assert typed and all(e.extra["scan"]["mime"] == "text/plain" for e in typed)
    out = tmp_path / "s.jsonl"
    export(ext4_case, examiner, "jsonl", out, group=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["path"] for r in rows if "file_seven" in r["extra"].get("scan", {}).get("yara_rules", [])} == hit


def test_custody_verify_rechecks_stored_events(ext4_case: Case, examiner) -> None:
    """Each build signs a digest of its rows; a rebuild or reprocess supersedes it; an edit is found."""
    from evidencekit.case import custody
    from evidencekit.pipeline.processing import process_exhibit

    build(ext4_case, examiner, artifacts="none")
    entry = ext4_case.entries()[-1]
    assert {k for k, v in entry.body["outputs"].items() if v} == {f"db:timeline_runs/{entry.body['details']['run']}"}
    assert custody.verify_case(ext4_case).ok
    build(ext4_case, examiner, artifacts="none")  # replaces the first build's rows
    assert custody.verify_case(ext4_case).ok
    process_exhibit(ext4_case, "E1", examiner, hashes=("sha256",), reprocess=True)  # drops fs events
    assert custody.verify_case(ext4_case).ok
    build(ext4_case, examiner, artifacts="none")
    run = ext4_case.entries()[-1].body["details"]["run"]
    ext4_case.db.execute("UPDATE timeline_events SET time = time + 1 WHERE id = "
                         "(SELECT max(id) FROM timeline_events WHERE run = ?)", (run,))
    ext4_case.db.commit()
    findings = [f.message for f in custody.verify_case(ext4_case).findings]
    assert len(findings) == 1 and findings[0].startswith(f"stored results db:timeline_runs/{run} (entry ")


def test_canonical_json_is_json_dumps_byte_for_byte() -> None:
    """Run digests are defined as compact json.dumps; the orjson fast path must give the same bytes."""
    from evidencekit.timeline.store import canonical_json

    rows = [(1, None, "plain", "ünïcødé 日本", "".join(chr(i) for i in range(0x30)), "\x7f\u2028\u2029\ufeff",
             'quo"te\\back/slash', -5, 2**62, ""), ("lone \udcff surrogate",)]
    for value in (rows[:1], ["warnings", rows[:1]], rows):
        assert canonical_json(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8", "surrogatepass")


def test_ios_5_to_9_backup_names_from_manifest_mbdb(tmp_path: Path, examiner) -> None:
    """Legacy backups name files in Manifest.mbdb and store them flat: events show the real names."""
    from tests.timeline import devices

    from evidencekit.timeline.plaso_import import MBDB_MAGIC, mbdb_names

    backup = devices.ios_legacy_backup(tmp_path)
    data = (backup / "Manifest.mbdb").read_bytes()
    sms, photo = devices.file_id(*devices.SMS_DB), devices.file_id("CameraRollDomain", "Media/DCIM/100APPLE/IMG_0001.JPG")
    names = mbdb_names(data)
    assert names[sms] == "HomeDomain/Library/SMS/sms.db" and names[devices.file_id("HomeDomain", "Library")] == \
        "HomeDomain/Library" and len(names) == 3
    assert len(mbdb_names(data[:-5])) == 2  # truncated: the names read before the damage
    with pytest.raises(ValueError):
        mbdb_names(b"not" + MBDB_MAGIC)
    case = new_case(tmp_path / "case", examiner)
    add_processed(case, examiner, backup.parent, "IOS9")
    build(case, examiner, artifacts="none")
    paths = {e.path for e in timeline(case, exhibit="IOS9")}
    assert "HomeDomain/Library/SMS/sms.db" in paths and "CameraRollDomain/Media/DCIM/100APPLE/IMG_0001.JPG" in paths
    assert not any(sms in p or photo in p for p in paths)
    case.close()
