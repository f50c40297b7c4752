"""File system events against The Sleuth Kit: ``fls -m`` + ``mactime`` answers of the corpus."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

import pytest
from tests.timeline.conftest import event_keys, mactime_events

from evidencekit import open_evidence
from evidencekit.exporters.timeline import write_bodyfile
from evidencekit.inventory import files
from evidencekit.timeline.events import derive_all

pytestmark = pytest.mark.corpus


def _groups(corpus: Path) -> list[tuple[str, Path]]:
    answers = json.loads((corpus / "answers.json").read_text())
    first: dict[str, Path] = {}
    for image in answers["images"]:
        first.setdefault(image["filesystem_group"], corpus / image["files"][0]["path"])
    return sorted(first.items())


def _bodies(corpus: Path, group: str) -> dict[str, Path]:
    """Volume name -> TSK bodyfile: <group>.body (one volume) or <group>_<p1|vss1|current>.body."""
    answers = corpus / "_answers"
    single = answers / f"{group}.body"
    if single.is_file():
        return {"": single}
    out = {}
    for body in answers.glob(f"{group}_*.body"):
        suffix = body.stem[len(group) + 1:]
        out["" if suffix == "current" else suffix] = body
    return out


GROUPS = [
    "dfvfs_ext2", "dfvfs_mbr", "dfvfs_image_vhd", "ext2_imynd", "ext2_pytsk_image", "ext2_tsk_image_dd",
    "ext2_tsk_image_vhd", "tsk_volume_system", "plaso_syslog_image", "dfvfs_hfsplus", "dfvfs_hfsplus_zlib_dmg",
    "dfvfs_iso9660", "tsk_image_iso", "plaso_vsstest", "tsk_imageformat_mmls_1",
]


@pytest.mark.parametrize("group", GROUPS)
def test_fs_events_equal_fls_mactime(corpus: Path, group: str, tmp_path: Path) -> None:
    image = dict(_groups(corpus))[group]
    events = defaultdict(list)
    records = {}
    with open_evidence(str(image)) as ev:
        for rec in files(ev, hashes=()):
            records[(rec.volume, rec.path)] = rec
            for event in derive_all([(None, rec)], "E1"):
                events[rec.volume].append(event)
    bodies = _bodies(corpus, group)
    assert bodies, f"no TSK bodyfile for {group}"
    if list(bodies) == [""] and "" not in events and len(events) == 1:
        bodies = {next(iter(events)): bodies[""]}  # one partition (e.g. GPT p1) answered as a whole
    # A volume in the answers whose body is empty (no file system TSK reads) has no events either.
    for volume, body in sorted(bodies.items()):
        expected = mactime_events(body)
        got = event_keys(events.get(volume, []))
        missing, extra = expected - got, got - expected
        if missing and not extra and _only_timeless_orphans(missing, records, volume):
            pytest.xfail(f"inventory gives no times for orphan entries ({len(missing)} TSK events)")
        assert not missing and not extra, f"{body.name}: missing {sorted(missing)[:5]} extra {sorted(extra)[:5]}"
        # Our bodyfile of the same events, read by mactime, gives the same rows again.
        ours = tmp_path / f"{group}-{volume or 'whole'}.body"
        text = io.StringIO()
        write_bodyfile(events.get(volume, []), text)
        ours.write_text(text.getvalue())
        assert mactime_events(ours) == expected


def _only_timeless_orphans(missing: set, records: dict, volume: str) -> bool:
    for _date, _letter, path, _attr in missing:
        rec = records.get((volume, path))
        if not path.startswith("/$OrphanFiles/") or rec is None or rec.mtime is not None:
            return False
    return True
