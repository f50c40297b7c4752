"""The listing writers on records that stress them: undecodable names, every format."""

from __future__ import annotations

import json

from evidencekit.exporters.files import Renderer
from evidencekit.models import FileRecord, Locator


def _record(path: str) -> FileRecord:
    return FileRecord(volume="", path=path, inode=5, type="file", deleted=False, size=3, mtime=1_700_000_000_123_456_789,
                      locator=Locator("/evidence/x", {"type_indicator": "OS", "location": path}), md5="0" * 32)


def test_undecodable_name_is_escaped_not_fatal():
    # os.fsdecode turns an undecodable byte into a lone surrogate, which orjson refuses
    records = [_record("/ok.txt"), _record("/bad-\udcff.txt")]
    data, count = Renderer("jsonl")(records)
    lines = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert count == 2 and len(lines) == 2
    assert lines[1]["path"] == "/bad-\udcff.txt"  # json escapes it as \udcff; reading it back gives the name
    assert lines[1]["locator"]["spec"]["location"] == "/bad-\udcff.txt"
    assert lines[0]["mtime"] == "2023-11-14T22:13:20.123456789Z" and lines[0]["display_zone"] == "UTC"
    for fmt in ("csv", "bodyfile"):
        data, count = Renderer(fmt)(records)
        assert count == 2 and b"bad-\\udcff" in data
