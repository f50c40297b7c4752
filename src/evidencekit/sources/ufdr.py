"""Cellebrite UFDR reports: a zip whose ``report.xml`` maps category folders to device paths.

A UFDR stores each extracted file under a category folder (``files/Database/msgstore.db``) and
names its device path in report.xml (``<taggedFiles><file path="/data/data/...">`` with a
``Local Path`` item; public descriptions: UFDR2DIR, IPED's UFED reader). Entries are listed under
their device paths with the times, size and deletion state report.xml states; the category path
stays in the locator (it is the zip member). The stated size and hashes are checked against the
content: a mismatch is a warning on that entry. Zip members report.xml does not map are listed
by their zip paths afterwards; a malformed report.xml is a warning and the rest is listed by
zip path. report.xml is read with ``iterparse`` and each element is cleared once used, so memory
does not grow with the report (zipfile's own member index does, as for ``unzip -l``).
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache, partial
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, iterparse

from evidencekit.errors import EvidenceError
from evidencekit.models import FileRecord, Locator, VolumeInfo
from evidencekit.sources.base import Credentials, Entry
from evidencekit.sources.extraction import ZipExtraction, member_path

REPORT = "report.xml"
_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")
_TIMES = {"CreationTime": "crtime", "ModifyTime": "mtime", "AccessTime": "atime", "ChangeTime": "ctime",
          "MetadataChangeTime": "ctime", "DeletedTime": "dtime"}
_HASHES = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA-256": "sha256"}
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


@lru_cache(maxsize=256)
def local(tag: str) -> str:
    """A tag without its namespace (report.xml uses http://pa.cellebrite.com/report/2.0)."""
    return tag.rsplit("}", 1)[-1]


def parse_time(text: str | None) -> tuple[int | None, int]:
    """(ns UTC, fractional digits) of an ISO-8601 time with an offset, as report.xml writes them
    (up to 9 fractional digits kept exactly; a time without an offset is not guessed: None)."""
    match = _ISO.match((text or "").strip())
    if not match:
        return None, 0
    base, frac, zone = match.groups()
    try:
        dt = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None, 0
    frac = frac or ""
    return int(dt.timestamp()) * 1_000_000_000 + int(frac[:9].ljust(9, "0")), min(len(frac), 9)


def items(element: Element) -> dict[str, str]:
    """name -> text of the ``<item>`` children of a ``<metadata>`` element."""
    return {c.get("name", ""): (c.text or "").strip() for c in element if local(c.tag) == "item"}


def read_device(stream: IO[bytes]) -> tuple[dict[str, str], dict[str, str]]:
    """(device fields, all metadata items) from the report head, stopping at the file list."""
    found: dict[str, str] = {}
    project: dict[str, str] = {}
    for event, element in iterparse(stream, events=("start", "end")):
        tag = local(element.tag)
        if event == "start":
            if tag == "project":
                project = dict(element.attrib)
            if tag in ("taggedFiles", "decodedData"):
                break
            continue
        if tag == "metadata":
            found.update(items(element))
        elif tag == "extractionInfo":
            found.setdefault("ExtractionInfoType", element.get("type", ""))
            found.setdefault("ExtractionInfoName", element.get("name", ""))
    device = {key: next((found[n] for n in names if found.get(n)), "") for key, names in DEVICE_ITEMS.items()}
    device["extraction_type"] = project.get("extractionType") or found.get("ExtractionInfoType", "")
    device["report_version"] = project.get("reportVersion", "")
    return {k: v for k, v in device.items() if v}, found


class UfdrReport(ZipExtraction):
    """A ``.ufdr`` (zip + report.xml), listed under device paths."""

    def __init__(self, path: str, credentials: Credentials | None = None):
        super().__init__(path, credentials)
        self.kind = "ufdr"
        self.format_chain = ["zip", "ufdr"]
        self.volumes = [VolumeInfo(name="", index=0, offset=None, length=None, type="ufdr", filesystem="ufdr")]
        self._parent = {"__type__": "PathSpec", "type_indicator": "OS", "location": path}  # shared: encoded once
        try:
            with self._zip.open(REPORT) as fh:
                self.device, self.report_items = read_device(fh)
        except KeyError:
            self.device, self.report_items = {}, {}
            self.warnings.append(f"no {REPORT} in the UFDR: files are listed by their zip paths")
        except (ParseError, OSError, zipfile.BadZipFile) as err:
            self.device, self.report_items = {}, {}
            self.warnings.append(f"{REPORT} unreadable ({_short(err)}): device details unknown")

    def entries(self, volume: str | None = None) -> Iterator[Entry]:
        if volume not in (None, ""):
            return
        listed: set[str] = {REPORT}
        try:
            with self._zip.open(REPORT) as fh:
                for element in _file_elements(fh):
                    entry = self._mapped(element, listed)
                    if entry is not None:
                        yield entry
        except KeyError:
            pass  # no report.xml: warned when opened
        except (ParseError, OSError, zipfile.BadZipFile) as err:
            self.warnings.append(f"{REPORT} malformed ({_short(err)}): the files it does not map are listed "
                                 "by their zip paths")
        parent = self._parent
        for index, info in enumerate(self._zip.infolist()):
            if info.filename not in listed:
                yield self._entry(info, parent, index)

    def _mapped(self, element: Element, listed: set[str]) -> Entry | None:
        meta = {local(c.get("section", "")): items(c) for c in element if local(c.tag) == "metadata"}
        file_meta = meta.get("File", {})
        member_name = file_meta.get("Local Path", "").replace("\\", "/").lstrip("/")
        device_path = element.get("path") or ""
        name = element.get("name") or ""
        if name and not device_path.endswith("/" + name) and device_path.rstrip("/") != name:
            device_path = device_path.rstrip("/") + "/" + name  # some reports give the folder in path
        if not device_path:
            return None
        # device paths are absolute by nature; report.xml text is Unicode already
        path, _raw, warnings = member_path(device_path.lstrip("/").encode("utf-8", "surrogateescape"))
        times, digits = self._times(element)
        info = self._info(member_name)
        stated_size = _int(element.get("size"))
        if info is None:
            warnings.append(f"not in the report's zip: {member_name or '(no Local Path)'}")
        else:
            listed.add(info.filename)
            if stated_size is not None and stated_size != info.file_size:
                warnings.append(f"report.xml states {stated_size} bytes, the zip member holds {info.file_size}")
        location = "/" + (info.filename if info else member_name)
        spec = {"__type__": "PathSpec", "type_indicator": "ZIP", "location": location, "parent": self._parent}
        record = FileRecord(
            volume="", path=path, inode=None, type="file", deleted=element.get("deleted", "Intact") == "Deleted",
            size=info.file_size if info else stated_size, locator=Locator(self.path, spec), time_digits=digits,
            filesystem=element.get("fs") or "ufdr", warnings=tuple(warnings), **times)
        stated = {_HASHES[k]: v for k, v in file_meta.items() if k in _HASHES and v}
        return Entry(record, partial(self._open, info) if info else None,
                     stated=(REPORT, stated) if stated and info else None)

    def _info(self, name: str) -> zipfile.ZipInfo | None:
        if not name:
            return None
        try:
            return self._zip.getinfo(name)
        except KeyError:
            return None

    @staticmethod
    def _times(element: Element) -> tuple[dict[str, Any], int]:
        times: dict[str, Any] = {}
        digits = 0
        for child in element:
            if local(child.tag) != "accessInfo":
                continue
            for stamp in child:
                key = _TIMES.get(stamp.get("name", ""))
                ns, d = parse_time(stamp.text)
                if key and ns is not None:
                    times[key] = ns
                    digits = max(digits, d)
        return times, digits


def _file_elements(stream: IO[bytes]) -> Iterator[Element]:
    """Each ``<file>`` of ``<taggedFiles>``, complete, in document order; each is dropped from the
    tree once the caller is done with it, so memory does not grow with the report."""
    tagged: Element | None = None
    for event, element in iterparse(stream, events=("start", "end")):
        tag = local(element.tag)
        if tag == "taggedFiles":
            tagged = element if event == "start" else None
            continue
        if tagged is not None and tag == "file" and event == "end" and len(tagged) and tagged[0] is element:
            yield element
            del tagged[0]  # files end in order: the finished one is always the first child left
        elif tag == "decodedData" and event == "start":
            return


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _short(err: BaseException) -> str:
    return " ".join(str(err).split())[:160] or type(err).__name__


def parse_ufd(path: str) -> dict[str, str]:
    """Device fields of a ``.ufd`` file (INI: [DeviceInfo], [General], [Crime Case], hashes)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            parser.read_file(fh)
    except (configparser.Error, OSError) as err:
        raise EvidenceError(f"{path}: unreadable UFD file: {_short(err)}") from err
    dev = parser["DeviceInfo"] if parser.has_section("DeviceInfo") else {}
    gen = parser["General"] if parser.has_section("General") else {}
    out = {"make": dev.get("Vendor", ""), "model": dev.get("Model", ""), "imei": dev.get("IMEI", ""),
           "os_version": dev.get("OS", "") or dev.get("OSVersion", ""), "extraction_type": gen.get("ExtractionType", ""),
           "extraction_date": gen.get("Date", "") or gen.get("AcquisitionStartDate", ""),
           "tool_version": gen.get("Version", "") or gen.get("UfedVersion", ""), "unit": gen.get("Machine", "")}
    return {k: v for k, v in out.items() if v}


def ufd_file(folder: str) -> str | None:
    """The ``.ufd`` file of a UFD/UFDX extraction folder, if it has one."""
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(".ufd") and os.path.isfile(os.path.join(folder, n)))
    return os.path.join(folder, names[0]) if names else None

