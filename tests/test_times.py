"""Time rendering: checked against the standard library's datetime, at every precision."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from evidencekit.times import iso_utc, parse_iso_utc, render, zone

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def reference(ns: int, digits: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    text = (EPOCH + timedelta(seconds=secs)).replace(tzinfo=None).isoformat()  # strftime's %Y drops zeros
    return text + ("." + f"{frac:09d}"[:digits] if digits > 0 else "") + "Z"


@pytest.mark.parametrize("digits", [0, 2, 3, 7, 9])
def test_iso_utc_equals_datetime(digits: int) -> None:
    rng = random.Random(digits)
    # pre-1970 (negative), FAT's 1980 floor, leap days, far future, the last second of 9999
    values = [0, -1, -1_000_000_000, 315_532_800 * 10**9, 951_782_400 * 10**9 + 1,
              253_402_300_799 * 10**9 + 999_999_999]
    values += [rng.randint(-62_135_596_800, 253_402_300_799) * 10**9 + rng.randint(0, 10**9 - 1) for _ in range(20000)]
    for ns in values:
        assert iso_utc(ns, digits) == reference(ns, digits), ns
        if digits == 9:
            assert parse_iso_utc(iso_utc(ns, 9)) == ns


def test_out_of_range_is_shown_not_guessed() -> None:
    assert iso_utc(253_402_300_800 * 10**9) == f"@{253_402_300_800 * 10**9}ns"
    assert iso_utc(None) is None


def test_display_zone_keeps_precision_and_names_offset() -> None:
    ns = 1_700_000_000 * 10**9 + 123_456_789
    assert render(ns, 7, zone("Asia/Almaty")) == "2023-11-15T04:13:20.1234567+06:00"
    assert render(ns, 7, zone("UTC")) == "2023-11-14T22:13:20.1234567Z"
