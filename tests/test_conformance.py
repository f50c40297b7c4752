"""Conformance against the third-party corpus: answers derived independently (TSK, libyal, upstream tests).

For every image: the decoded media hashes, the E01 stored metadata, the partition offsets, the
listing of every volume against TSK's ``fls -r -p`` (paths and deleted flags, so every count
follows fls rules), and every sample file's size, hashes and times ($SI and $FN).
"""

from __future__ import annotations

import collections
import json
import re

import pytest

from ektools import CORPUS
from evidencekit import open_evidence
from evidencekit.hashing import hash_stream
from evidencekit.inventory import files
from evidencekit.models import parse_iso_utc

ANSWERS = CORPUS / "answers.json"
IMAGES = json.loads(ANSWERS.read_text())["images"] if ANSWERS.is_file() else []
IDS = [im["id"] for im in IMAGES] or ["corpus-missing"]
TIME_KEYS = {"M": "mtime", "A": "atime", "C": "ctime", "B": "crtime", "D": "dtime"}
FLS_LINE = re.compile(r"^(\S+) (\* )?([^:]*):\t(.*)$")


@pytest.fixture(scope="module")
def listings(corpus):
    """Each image's hashed records, computed once per image."""
    cache: dict[str, tuple] = {}

    def get(image_id: str):
        if image_id not in cache:
            image = next(im for im in IMAGES if im["id"] == image_id)
            with open_evidence(corpus / image["files"][0]["path"]) as ev:
                cache[image_id] = (ev, list(files(ev, hashes=("md5", "sha256"))))
        return cache[image_id]

    return get


def _image(image_id: str) -> dict:
    return next(im for im in IMAGES if im["id"] == image_id)


def _our_volume(ev, answer_volume: dict) -> str:
    """Our name for an answer volume: by name, else by offset ('current' is our unpartitioned '')."""
    names = {v.name for v in ev.volumes}
    name = "" if answer_volume["name"] == "current" else answer_volume["name"]
    if name in names:
        return name
    by_offset = [v.name for v in ev.volumes if v.offset == answer_volume.get("offset_bytes") and v.filesystem]
    assert by_offset, f"no volume at offset {answer_volume.get('offset_bytes')} (ours: {ev.volumes})"
    return by_offset[0]


@pytest.mark.parametrize("image_id", IDS)
def test_decoded_media_and_container_metadata(corpus, image_id):
    image = _image(image_id)
    with open_evidence(corpus / image["files"][0]["path"]) as ev:
        media = image["decoded_media"]
        assert ev.media_size == media["size"]
        with ev.open_media() as stream:
            digests = hash_stream(stream, ("md5", "sha256"))
        assert digests == {"md5": media["md5"], "sha256": media["sha256"]}
        assert len(ev.segment_files) == len(image["files"])
        ewf = image.get("ewf")
        if ewf:
            stored = {k.lower(): v for k, v in ewf["stored_hashes"].items()}
            assert ev.acquisition.stored_hashes == stored
            header = ewf["header_values"]
            assert ev.acquisition.case_number == header.get("case_number")
            assert ev.acquisition.examiner == header.get("examiner_name")
            assert ev.acquisition.evidence_number == header.get("evidence_number")
            assert ev.acquisition.description == header.get("description")
            assert ev.acquisition.notes == header.get("notes")
            assert ev.acquisition.acquisition_date == header.get("acquiry_date")


@pytest.mark.parametrize("image_id", IDS)
def test_partition_offsets(corpus, answers, image_id):
    group = answers["filesystem_groups"].get(_image(image_id).get("filesystem_group"), {})
    expected = sorted(int(p["start_sector"]) * 512 for p in group.get("partitions_tsk_mmls", [])
                      if re.fullmatch(r"\d{3}(:\d{3})?", p["type"]))
    if not group.get("partitions_tsk_mmls"):  # no mmls table: partitioned volumes still state their offset
        expected = sorted(v["offset_bytes"] for v in group.get("volumes", []) if v.get("offset_bytes"))
    with open_evidence(corpus / _image(image_id)["files"][0]["path"]) as ev:
        ours = sorted(v.offset for v in ev.volumes if v.type.startswith(("mbr", "gpt")))
    assert ours == expected


@pytest.mark.parametrize("image_id", IDS)
def test_listing_matches_fls(corpus, answers, listings, image_id):
    ev, records = listings(image_id)
    for vol in answers["filesystem_groups"][_image(image_id)["filesystem_group"]]["volumes"]:
        expected = collections.Counter()
        for line in (corpus / vol["tsk_listing_file"]).read_text(encoding="utf-8", errors="replace").splitlines():
            match = FLS_LINE.match(line)
            assert match, f"unparsed fls line {line!r}"
            expected[("/" + match.group(4), bool(match.group(2)))] += 1
        name = _our_volume(ev, vol)
        ours = collections.Counter(
            (_fls_name(r.path + (f":{r.stream}" if r.stream else "")), r.deleted) for r in records if r.volume == name)
        assert ours == expected, f"volume {name!r}: missing {expected - ours}, extra {ours - expected}"
        counts = vol["counts_tsk_fls_r"]
        assert sum(1 for r in records if r.volume == name and r.stream) == counts["ntfs_ads_entries"]
        assert sum(1 for r in records if r.volume == name and r.orphan) == counts["orphan_entries"]


def _fls_name(path: str) -> str:
    """fls prints control characters as '^'."""
    return "".join("^" if ord(ch) < 32 else ch for ch in path)


@pytest.mark.parametrize("image_id", IDS)
def test_sample_files(answers, listings, image_id):
    ev, records = listings(image_id)
    checked = 0
    for vol in answers["filesystem_groups"][_image(image_id)["filesystem_group"]]["volumes"]:
        name = _our_volume(ev, vol)
        for sample in vol.get("files", []):
            inode = int(str(sample["inode"]).split("-")[0])
            found = [r for r in records if r.volume == name and r.path == sample["path"] and not r.stream
                     and r.inode == inode]
            assert len(found) == 1, f"{name}:{sample['path']} listed {len(found)} times"
            rec = found[0]
            assert rec.size == sample["size"]
            assert rec.deleted == sample["deleted"]
            if sample.get("icat_bytes", sample["size"]) == sample["size"]:
                assert (rec.md5, rec.sha256) == (sample["md5"], sample["sha256"]), sample["path"]
            for key, value in (sample.get("times_utc") or {}).items():
                if key in TIME_KEYS and value:
                    assert getattr(rec, TIME_KEYS[key]) == parse_iso_utc(value), f"{sample['path']} {key}"
            for key, value in (sample.get("ntfs_file_name_times_utc") or {}).items():
                assert getattr(rec, "fn_" + TIME_KEYS[key]) == parse_iso_utc(value), f"{sample['path']} FN {key}"
            checked += 1
    assert checked or not any(v.get("files") for v in
                              answers["filesystem_groups"][_image(image_id)["filesystem_group"]]["volumes"])
