"""Cellebrite ``report.xml`` read as a stream: the head (project, extractions, device items) and
each ``<taggedFiles><file>`` as plain dicts, for ``sources.ufdr``.

Written on ``pyexpat`` directly (the C parser under ElementTree): listing a UFDR of 100,000 files
is bound by this parse, and handlers that keep only what a listing needs (the file's attributes,
its ``accessInfo`` times, the ``File`` metadata items) build no element tree and no per-element
objects; memory stays flat whatever the report's size (the report is fed in 256 KiB pieces and
each finished file is handed on). lxml measured no faster on such reports (bench/mobile.py).

Several extractions (a logical and a file-system extraction, or two devices) are each an
``<extractionInfo id=...>`` of ``<sourceExtractions>``; a device item names its extraction in
``sourceExtraction``, a file in ``extractionId`` (public descriptions: IPED's UfedXmlReader,
UFDR2DIR).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import IO, Any
from xml.parsers import expat

CHUNK = 1 << 18
EPOCH_DAY = date(1970, 1, 1).toordinal()
# report.xml item names -> device field; the first present wins
DEVICE_ITEMS = {
    "make": ("DeviceInfoSelectedManufacturer", "DeviceInfoDetectedPhoneVendor", "DeviceInfoDetectedManufacturer"),
    "model": ("DeviceInfoSelectedDeviceName", "DeviceInfoDetectedPhoneModel", "DeviceInfoDetectedModel"),
    "imei": ("IMEI", "DeviceInfoIMEI"),
    "os": ("DeviceInfoOSType", "OS"),
    "os_version": ("DeviceInfoOSVersion", "OSVersion"),
    "extraction_date": ("DeviceInfoExtractionStartDateTime",),
    "extraction_end": ("DeviceInfoExtractionEndDateTime",),
    "tool_version": ("UFED_PA_Version", "DeviceInfoUnitVersion", "DeviceInfoInternalVersion"),
    "unit": ("DeviceInfoUnitIdentifier",),
}
ParseErrors = (expat.ExpatError, SyntaxError)


@lru_cache(maxsize=512)
def local(name: str) -> str:
    """A tag without its prefix (report.xml uses a default namespace; a prefixed one works too)."""
    return name.rsplit(":", 1)[-1]


@lru_cache(maxsize=65536)
def _seconds(clock: str, zone: str) -> int | None:
    """Unix seconds of ``YYYY-MM-DDTHH:MM:SS`` at offset ``zone`` (``Z`` or ``+HH:MM``); None if invalid.
    Cached: a report's times share their seconds far less than their days, but often enough."""
    try:
        if zone == "Z":
            offset = 0
        elif len(zone) == 6 and zone[0] in "+-" and zone[3] == ":" and zone[1:3].isdigit() and zone[4:].isdigit():
            offset = (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60) * (-1 if zone[0] == "-" else 1)
        else:
            return None
        if clock[10] != "T" or clock[13] != ":" or clock[16] != ":" or not clock[11:19].replace(":", "").isdigit():
            return None
        hour, minute, second = int(clock[11:13]), int(clock[14:16]), int(clock[17:19])
        if hour > 23 or minute > 59 or second > 60:
            return None
        return (date.fromisoformat(clock[:10]).toordinal() - EPOCH_DAY) * 86_400 + hour * 3600 + minute * 60 \
            + second - offset
    except ValueError:
        return None


def parse_time(text: str | None) -> tuple[int | None, int]:
    """(ns UTC, fractional digits) of an ISO-8601 time with an offset, as report.xml writes them
    (``2021-06-14T17:30:09.1234567+03:00``; up to 9 fractional digits kept exactly; a time without
    an offset is not guessed: None). Sliced by hand: it runs for every time of every file."""
    s = (text or "").strip()
    if len(s) < 20:
        return None, 0
    cut = len(s) - 1 if s[-1] == "Z" else len(s) - 6
    frac = s[20:cut] if s[19:20] == "." else ""
    if cut < 19 or (frac and not frac.isdigit()) or (not frac and cut != 19):
        return None, 0
    secs = _seconds(s[:19], s[cut:])
    if secs is None:
        return None, 0
    return secs * 1_000_000_000 + int(frac[:9].ljust(9, "0")), min(len(frac), 9)


@dataclass
class ReportHead:
    """What report.xml states before its file list."""

    project: dict[str, str] = field(default_factory=dict)
    extractions: list[dict[str, str]] = field(default_factory=list)  # <extractionInfo> attributes, in order
    items: dict[str, str] = field(default_factory=dict)  # every metadata item (the last of a name wins)
    per_extraction: dict[str, dict[str, str]] = field(default_factory=dict)  # sourceExtraction -> its items
    shared: dict[str, str] = field(default_factory=dict)  # items that name no extraction

    def device(self, extraction: str | None = None) -> dict[str, str]:
        """The device fields of one extraction (None: of the report as a whole: with several
        extractions, only the fields they all state alike, and their number)."""
        if extraction is None and len(self.extractions) > 1:
            each = [self.device(e.get("id", "")) for e in self.extractions]
            common = {k: v for k, v in each[0].items() if all(d.get(k) == v for d in each[1:])}
            common.pop("extraction_id", None)
            return {**common, "extractions": str(len(each))}
        found = {**self.shared, **self.per_extraction.get(extraction, {})} if extraction is not None else self.items
        out = {key: next((found[n] for n in names if found.get(n)), "") for key, names in DEVICE_ITEMS.items()}
        info = next((e for e in self.extractions if e.get("id") == extraction), {}) if extraction is not None else {}
        out["extraction_type"] = info.get("type") or self.project.get("extractionType") or \
            (self.extractions[0].get("type", "") if self.extractions else "")
        if info:
            out["extraction_name"] = info.get("name", "")
            out["extraction_id"] = info.get("id", "")
            out["device_name"] = info.get("deviceName", "")
        out["report_version"] = self.project.get("reportVersion", "")
        return {k: v for k, v in out.items() if v}


class _Stop(Exception):
    pass


class _HeadHandler:
    def __init__(self) -> None:
        self.head = ReportHead()
        self.text: list[str] | None = None
        self.item: tuple[str, str] = ("", "")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = local(name)
        if tag == "item":
            self.text, self.item = [], (attrs.get("name", ""), attrs.get("sourceExtraction", ""))
        elif tag == "extractionInfo":
            self.head.extractions.append(dict(attrs))
        elif tag == "project":
            self.head.project = dict(attrs)
        elif tag in ("taggedFiles", "decodedData"):
            raise _Stop

    def end(self, name: str) -> None:
        if self.text is not None and local(name) == "item":
            value = "".join(self.text).strip()
            key, source = self.item
            if value:
                self.head.items[key] = value
                if source:
                    self.head.per_extraction.setdefault(source, {})[key] = value
                else:
                    self.head.shared[key] = value
            self.text = None

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.append(text)


def read_head(stream: IO[bytes]) -> ReportHead:
    """The report head; stops at the file list. ExpatError on a malformed head."""
    handler = _HeadHandler()
    parser = _parser(handler.start, handler.end)
    parser.CharacterDataHandler = handler.data
    try:
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Stop:
        pass
    return handler.head


def _parser(start: Any, end: Any) -> Any:
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    return parser


class _FileHandler:
    """Collects each finished ``<file>`` of ``<taggedFiles>`` as (attributes, times, File items)."""

    def __init__(self, parser: Any) -> None:
        self.parser = parser
        self.done: list[tuple[dict[str, str], list[tuple[str, str]], dict[str, str]]] = []
        self.in_files = self.ended = False
        self.attrs: dict[str, str] | None = None
        self.times: list[tuple[str, str]] = []
        self.items: dict[str, str] = {}
        self.section = ""
        self.key = ""
        self.text: list[str] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = local(name)
        if self.attrs is not None:
            if tag == "metadata":
                self.section = attrs.get("section", "")
            elif tag == "timestamp" or (tag == "item" and self.section == "File"):
                self.key, self.text = ("\0" if tag == "timestamp" else "") + attrs.get("name", ""), []
                self.parser.CharacterDataHandler = self.text.append
        elif tag == "file" and self.in_files:
            self.attrs, self.times, self.items, self.section = attrs, [], {}, ""
        elif tag == "taggedFiles":
            self.in_files = True
        elif tag == "decodedData":
            self.ended = True
            raise _Stop

    def end(self, name: str) -> None:
        if self.attrs is None:
            if local(name) == "taggedFiles":
                self.in_files = False
            return
        tag = local(name)
        if self.parser.CharacterDataHandler is not None and tag in ("timestamp", "item"):
            self.parser.CharacterDataHandler = None
            text = "".join(self.text)
            if self.key.startswith("\0"):
                self.times.append((self.key[1:], text))
            else:
                self.items[self.key] = text.strip()
        elif tag == "file":
            self.done.append((self.attrs, self.times, self.items))
            self.attrs = None
        elif tag == "metadata":
            self.section = ""


def file_elements(stream: IO[bytes]) -> Iterator[tuple[dict[str, str], list[tuple[str, str]], dict[str, str]]]:
    """Each ``<file>`` of ``<taggedFiles>`` in document order; on a malformed report the files
    finished before the damage come first, then the ExpatError."""
    parser = expat.ParserCreate()
    handler = _FileHandler(parser)
    parser.buffer_text = True
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    try:
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
            yield from handler.done
            handler.done.clear()
        parser.Parse(b"", True)
    except _Stop:
        pass
    except ParseErrors:
        yield from handler.done
        raise
    yield from handler.done
