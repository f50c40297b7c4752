"""Time: nanoseconds since the epoch in UTC, rendered at the source's precision in a display zone.

Storage is always UTC; a display zone (any IANA name) changes rendering only, with the offset
that zone had at that instant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evidencekit.errors import ValidationError

# Listings repeat whole seconds (a copy, an install) and days a lot: both texts are cached.
# Bounded, so that memory does not grow with the number of files listed.
_SECOND_TEXT: dict[int, str] = {}  # seconds since the epoch -> "YYYY-MM-DDTHH:MM:SS"
_DAY_TEXT: dict[int, str] = {}  # days since the epoch -> "YYYY-MM-DDT"
_CACHE_MAX = 32768
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _second_text(secs: int) -> str:
    day, second = divmod(secs, 86400)
    day_text = _DAY_TEXT.get(day)
    if day_text is None:
        day_text = date.fromordinal(_EPOCH_ORDINAL + day).isoformat() + "T"
        if len(_DAY_TEXT) >= _CACHE_MAX:
            _DAY_TEXT.clear()
        _DAY_TEXT[day] = day_text
    hour, rest = divmod(second, 3600)
    text = f"{day_text}{hour:02d}:{rest // 60:02d}:{rest % 60:02d}"
    if len(_SECOND_TEXT) >= _CACHE_MAX:
        _SECOND_TEXT.clear()
    _SECOND_TEXT[secs] = text
    return text


def iso_utc(ns: int | None, digits: int = 9) -> str | None:
    """Render nanoseconds since the epoch as ISO-8601 UTC with ``digits`` fractional digits.

    ``digits`` is the source's precision (ext4 9, NTFS 7, FAT 0 or 2, ...); no digit is invented
    and none is dropped.
    """
    if ns is None:
        return None
    secs, frac = divmod(ns, 1_000_000_000)
    base = _SECOND_TEXT.get(secs)
    if base is None:
        try:
            base = _second_text(secs)
        except (OverflowError, ValueError):  # outside years 1-9999: say so, do not guess
            return f"@{ns}ns"
    if digits >= 9:
        return f"{base}.{frac:09d}Z"
    if digits <= 0:
        return base + "Z"
    return f"{base}.{frac:09d}"[: 20 + digits] + "Z"


def parse_iso_utc(text: str) -> int:
    """Inverse of :func:`iso_utc` (accepts ``Z`` or an explicit offset); returns nanoseconds."""
    text = text.strip()
    frac = "0"
    main, _, rest = text.partition(".")
    zone = ""
    if rest:
        digits = ""
        for i, ch in enumerate(rest):
            if not ch.isdigit():
                zone = rest[i:]
                break
            digits += ch
        frac = digits or "0"
    else:
        for sep in ("Z", "+", "-"):
            idx = main.find(sep, 10)
            if idx > 0:
                main, zone = main[:idx], main[idx:]
                break
    dt = datetime.fromisoformat(main + (zone.replace("Z", "+00:00") or "+00:00"))
    return int(dt.timestamp()) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


def zone(name: str) -> tzinfo:
    """An IANA zone (``UTC``, ``Asia/Almaty``, ...); ValidationError when unknown."""
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValidationError("--tz {name!r}: not an IANA time zone: use a name such as Asia/Almaty",
                              name=name) from err


def render(ns: int, digits: int, tz: tzinfo) -> str:
    """ISO-8601 in ``tz`` with the source's precision and an explicit offset (``Z`` for UTC)."""
    if tz is UTC:
        return iso_utc(ns, digits) or ""
    secs, frac = divmod(ns, 1_000_000_000)
    local = datetime.fromtimestamp(secs, tz=tz)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits > 0:
        text += "." + f"{frac:09d}"[:digits]
    offset = local.strftime("%z")
    return f"{text}{offset[:3]}:{offset[3:]}"


def to_datetime(ns: int | None) -> datetime | None:
    """An aware UTC ``datetime`` of ``ns`` (to the microsecond: what ``datetime`` holds; the int
    nanoseconds stay the exact value)."""
    if ns is None:
        return None
    secs, frac = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(secs, UTC).replace(microsecond=frac // 1000)


def to_ns(value: int | datetime | None) -> int | None:
    """ns UTC from ns or an aware ``datetime`` (a naive one is refused: its zone is unknown)."""
    if value is None or isinstance(value, int):
        return value
    if value.tzinfo is None:
        raise ValidationError("{value}: a datetime without a time zone; give tzinfo (e.g. UTC)",
                              value=value.isoformat())
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
