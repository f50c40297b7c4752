"""Cellebrite UFDR reports: a zip whose ``report.xml`` maps category folders to device paths.

A UFDR stores each extracted file under a category folder (``files/Database/msgstore.db``) and
names its device path in report.xml (``<taggedFiles><file path="/data/data/...">`` with a
``Local Path`` item; public descriptions: UFDR2DIR, IPED's UFED reader). Entries are listed under
their device paths with the times, size and deletion state report.xml states; the category path
stays in the locator (it is the zip member). The stated size and hashes are checked against the
content: a mismatch is a warning on that entry. Zip members report.xml does not map are listed
by their zip paths afterwards; a malformed report.xml is a warning and the rest is listed by
zip path. A report of several extractions (``<sourceExtractions>``: logical and file system, or
two devices) is one volume per extraction (``e<id>``), each with its own device record
(``Evidence.devices``); each file goes to the volume its ``extractionId`` names. report.xml is
streamed (``sources.ufdr_report``), so memory does not grow with the report (zipfile's own member
index does, as for ``unzip -l``).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from functools import lru_cache, partial
from typing import Any

from evidencekit.errors import EvidenceError
from evidencekit.models import FileRecord, Locator, VolumeInfo
from evidencekit.sources.base import Credentials, Entry
from evidencekit.sources.extraction import ZipExtraction, member_path
from evidencekit.sources.ufdr_report import (
    DEVICE_ITEMS,
    ParseErrors,
    ReportHead,
    file_elements,
    parse_time,
    read_head,
)

__all__ = ["DEVICE_ITEMS", "REPORT", "UfdrReport", "local", "parse_time", "parse_ufd", "ufd_file"]
REPORT = "report.xml"
_TIMES = {"CreationTime": "crtime", "ModifyTime": "mtime", "AccessTime": "atime", "ChangeTime": "ctime",
          "MetadataChangeTime": "ctime", "DeletedTime": "dtime"}
_HASHES = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA-256": "sha256"}
_UNMAPPED = ""  # the volume of zip members no extraction claims


@lru_cache(maxsize=256)
def local(tag: str) -> str:
    """An ElementTree tag without its namespace (report.xml uses http://pa.cellebrite.com/report/2.0)."""
    return tag.rsplit("}", 1)[-1]


def device_path(text: str) -> tuple[str, list[str]]:
    """The listed form of a report's device path, and its warnings. Device paths are absolute and
    Unicode already: the common clean one is joined as is; anything odd goes through
    ``member_path`` (``..`` and drive letters flagged, never resolved)."""
    body = text.lstrip("/")
    if "\\" in body or "//" in body or "/." in "/" + body or body.endswith("/") or body[1:2] == ":":
        path, _raw, warnings = member_path(body.encode("utf-8", "surrogateescape"))
        return path, warnings
    return "/" + body, []


class UfdrReport(ZipExtraction):
    """A ``.ufdr`` (zip + report.xml), listed under device paths."""

    phone_tree_detection = False

    def __init__(self, path: str, credentials: Credentials | None = None):
        super().__init__(path, credentials)
        self.kind = "ufdr"
        self.format_chain = ["zip", "ufdr"]
        self._parent = {"__type__": "PathSpec", "type_indicator": "OS", "location": path}  # shared: encoded once
        head = ReportHead()
        try:
            with self._zip.open(REPORT) as fh:
                head = read_head(fh)
        except KeyError:
            self.warnings.append(f"no {REPORT} in the UFDR: files are listed by their zip paths")
        except (*ParseErrors, OSError, zipfile.BadZipFile) as err:
            self.warnings.append(f"{REPORT} unreadable ({_short(err)}): device details unknown")
        self.device, self.report_items = head.device(), head.items
        self._volume_of = {e.get("id", ""): f"e{e.get('id', '')}" for e in head.extractions} \
            if len(head.extractions) > 1 else {}
        if self._volume_of:
            self.volumes = [VolumeInfo(name=f"e{e.get('id', '')}", index=i, offset=None, length=None,
                                       type=f"ufdr:{e.get('type') or 'extraction'}", label=e.get("name") or None,
                                       filesystem="ufdr") for i, e in enumerate(head.extractions)]
            self.devices = {f"e{e.get('id', '')}": head.device(e.get("id", "")) for e in head.extractions}
        else:
            self.volumes = [VolumeInfo(name="", index=0, offset=None, length=None, type="ufdr", filesystem="ufdr")]

    def readers(self) -> list[tuple[str, Any]]:
        """One reader per extraction (and ``''`` for what no extraction claims) when there are several."""
        if not self._volume_of:
            return super().readers()
        return [(name, _ExtractionReader(self, name)) for name in [v.name for v in self.volumes] + [_UNMAPPED]]

    def entries(self, volume: str | None = None) -> Iterator[Entry]:
        listed: set[str] = {REPORT}
        try:
            with self._zip.open(REPORT) as fh:
                for attrs, times, items in file_elements(fh):
                    entry = self._mapped(attrs, times, items, listed)
                    if entry is not None and volume in (None, entry.record.volume):
                        yield entry
        except KeyError:
            pass  # no report.xml: warned when opened
        except (*ParseErrors, OSError, zipfile.BadZipFile) as err:
            self.warnings.append(f"{REPORT} malformed ({_short(err)}): the files it does not map are listed "
                                 "by their zip paths")
        if volume not in (None, _UNMAPPED):
            return
        parent = self._parent
        for index, info in enumerate(self._zip.infolist()):
            if info.filename not in listed:
                yield self._entry(info, parent, index)

    def _volume(self, attrs: dict[str, str], warnings: list[str]) -> str:
        if not self._volume_of:
            return ""
        name = self._volume_of.get(attrs.get("extractionId", ""))
        if name is None:
            warnings.append(f"extractionId {attrs.get('extractionId')!r} names no extraction of the report")
            return _UNMAPPED
        return name

    def _mapped(self, attrs: dict[str, str], stamps: list[tuple[str, str]], file_meta: dict[str, str],
                listed: set[str]) -> Entry | None:
        member_name = file_meta.get("Local Path", "").replace("\\", "/").lstrip("/")
        raw_path = attrs.get("path") or ""
        name = attrs.get("name") or ""
        if name and not raw_path.endswith("/" + name) and raw_path.rstrip("/") != name:
            raw_path = raw_path.rstrip("/") + "/" + name  # some reports give the folder in path
        if not raw_path:
            return None
        path, warnings = device_path(raw_path)
        times, digits = _times(stamps)
        info = self._zip.NameToInfo.get(member_name) if member_name else None
        stated_size = _int(attrs.get("size"))
        if info is None:
            warnings.append(f"not in the report's zip: {member_name or '(no Local Path)'}")
        else:
            listed.add(member_name)
            if stated_size is not None and stated_size != info.file_size:
                warnings.append(f"report.xml states {stated_size} bytes, the zip member holds {info.file_size}")
        volume = self._volume(attrs, warnings)
        spec = {"__type__": "PathSpec", "type_indicator": "ZIP", "location": "/" + member_name, "parent": self._parent}
        record = FileRecord(
            volume=volume, path=path, inode=None, type="file", deleted=attrs.get("deleted", "Intact") == "Deleted",
            size=info.file_size if info else stated_size, locator=Locator(self.path, spec), time_digits=digits,
            filesystem=attrs.get("fs") or "ufdr", warnings=tuple(warnings), **times)
        stated = {_HASHES[k]: v for k, v in file_meta.items() if k in _HASHES and v}
        return Entry(record, partial(self._open, info) if info else None,
                     stated=(REPORT, stated) if stated and info else None)


class _ExtractionReader:
    """The files of one extraction of a UFDR, as a volume's file system reader."""

    def __init__(self, report: UfdrReport, volume: str):
        self._report, self._volume = report, volume
        self.warnings: list[str] = []

    def entries(self, evidence_path: str) -> Iterator[Entry]:
        return self._report.entries(self._volume)


def _times(stamps: list[tuple[str, str]]) -> tuple[dict[str, Any], int]:
    times: dict[str, Any] = {}
    digits = 0
    for name, text in stamps:
        key = _TIMES.get(name)
        if key:
            ns, d = parse_time(text)
            if ns is not None:
                times[key] = ns
                digits = max(digits, d)
    return times, digits


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
        raise EvidenceError("{path}: unreadable UFD file: {cause}", path=path, cause=_short(err)) from err
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

