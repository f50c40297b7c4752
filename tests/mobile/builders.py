"""Test inputs built from the formats' public descriptions: a UFDR (zip + report.xml)."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

NS = "http://pa.cellebrite.com/report/2.0"
DEVICE = {"DeviceInfoSelectedManufacturer": "Samsung GSM", "DeviceInfoSelectedDeviceName": "SM-A525F Galaxy A52",
          "IMEI": "356938035643809", "DeviceInfoOSVersion": "12", "DeviceInfoOSType": "Android"}


@dataclass
class UfdrFile:
    device_path: str
    local_path: str  # files\\Database\\msgstore.db (Windows separators, as Cellebrite writes)
    data: bytes
    modified: str = "2021-06-14T17:30:09.007+00:00"
    created: str = "2021-06-01T08:00:00+03:00"
    deleted: bool = False
    stated_sha256: str | None = None  # None: the real one
    stated_size: int | None = None
    extraction: str = "0"  # the extractionId of <extractionInfo> it came from


@dataclass
class UfdrSpec:
    files: list[UfdrFile]
    decoded: str = ""  # <modelType> elements
    device: dict[str, str] = field(default_factory=lambda: dict(DEVICE))
    break_xml_after_files: int | None = None  # cut report.xml after this many <file> elements
    # several extractions: (id, name, type, that extraction's Device Info items); None: one, of `device`
    extractions: list[tuple[str, str, str, dict[str, str]]] | None = None


def _item(name: str, value: str, source: str = "0") -> str:
    return f'<item name={quoteattr(name)} sourceExtraction="{source}"><![CDATA[{value}]]></item>'


def _file(f: UfdrFile, idx: int) -> str:
    sha = f.stated_sha256 or hashlib.sha256(f.data).hexdigest()
    md5 = hashlib.md5(f.data).hexdigest()
    size = len(f.data) if f.stated_size is None else f.stated_size
    name = f.device_path.rsplit("/", 1)[-1]
    return (f'<file fs="userdata (ExtX)" fsid="fs{idx}" path={quoteattr(f.device_path)} name={quoteattr(name)} '
            f'size="{size}" id="f{idx}" extractionId="{f.extraction}" deleted="{"Deleted" if f.deleted else "Intact"}" '
            f'embedded="false" isrelated="False"><accessInfo>'
            f'<timestamp name="CreationTime" format="TimeStampKnown">{f.created}</timestamp>'
            f'<timestamp name="ModifyTime" format="TimeStampKnown">{f.modified}</timestamp>'
            f'</accessInfo><metadata section="File">{_item("Local Path", f.local_path)}{_item("SHA256", sha)}'
            f'{_item("MD5", md5)}{_item("Tags", "Database")}</metadata></file>')


def report_xml(spec: UfdrSpec) -> bytes:
    files = [_file(f, i) for i, f in enumerate(spec.files)]
    if spec.break_xml_after_files is not None:
        body = "".join(files[: spec.break_xml_after_files]) + "<file path='/broken' <<<"
        tail = ""
    else:
        body = "".join(files)
        tail = f"</taggedFiles><decodedData>{spec.decoded}</decodedData></project>"
    extractions = spec.extractions or [("0", "Advanced Logical", "AdvancedLogical", spec.device)]
    infos = "".join(f'<extractionInfo id="{i}" name={quoteattr(name)} type="{kind}" index="{n}" '
                    f'deviceName={quoteattr(dev.get("DeviceInfoSelectedDeviceName", ""))}/>'
                    for n, (i, name, kind, dev) in enumerate(extractions))
    device = "".join(_item(k, v, i) for i, _n, _k, dev in extractions for k, v in dev.items())
    head = (f'<?xml version="1.0" encoding="utf-8"?>\n<project id="p1" name="Exhibit 7" reportVersion="7.60.0.0" '
            f'extractionType="{extractions[0][2]}" xmlns="{NS}"><sourceExtractions>{infos}</sourceExtractions>'
            f'<metadata section="Additional Fields">{_item("UFED_PA_Version", "7.60.0.114", "")}</metadata>'
            f'<metadata section="Extraction Data">'
            f'{_item("DeviceInfoExtractionStartDateTime", "15/06/2021 10:12:00(UTC+3)", "")}</metadata>'
            f'<metadata section="Device Info">{device}</metadata><taggedFiles>')
    return (head + body + tail).encode("utf-8")


def write_ufdr(path: Path, spec: UfdrSpec, extra_members: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("report.xml", report_xml(spec))
        for f in spec.files:
            zf.writestr(f.local_path.replace("\\", "/"), f.data)
        for name, data in (extra_members or {}).items():
            zf.writestr(name, data)
    return path


def value(v: str, kind: str = "String") -> str:
    return f'<value type="{kind}"><![CDATA[{v}]]></value>'


def fld(name: str, v: str, kind: str = "String") -> str:
    return f'<field name="{name}" type="{kind}">{value(v, kind)}</field>'


def party(name: str, identifier: str, display: str, role: str = "") -> str:
    inner = fld("Identifier", identifier) + fld("Name", display) + (fld("Role", role) if role else "")
    return f'<modelField name="{name}" type="Party"><model type="Party" id="p-{identifier}">{inner}</model></modelField>'


def chat(source: str, chat_id: str, messages: list[tuple[str, str, str, str]]) -> str:
    """A Chat model with InstantMessages (time ISO, from id, from name, body)."""
    msgs = "".join(
        f'<model type="InstantMessage" id="m{chat_id}{i}">{fld("TimeStamp", t, "TimeStamp")}'
        f'{party("From", who, name)}{fld("Body", escape(body))}{fld("Source", source)}</model>'
        for i, (t, who, name, body) in enumerate(messages))
    return (f'<modelType type="Chat"><model type="Chat" id="c{chat_id}">{fld("Source", source)}{fld("Id", chat_id)}'
            f'<multiModelField name="Messages" type="InstantMessage">{msgs}</multiModelField></model></modelType>')


def call(when: str, number: str, kind: str, duration: str) -> str:
    return (f'<modelType type="Call"><model type="Call" id="call1">{fld("Source", "Phone")}'
            f'{fld("Type", kind)}{fld("TimeStamp", when, "TimeStamp")}{fld("Duration", duration, "TimeSpan")}'
            f'<multiModelField name="Parties" type="Party"><model type="Party" id="pp1">{fld("Identifier", number)}'
            f'{fld("Role", "To")}</model></multiModelField></model></modelType>')


def ffs_members(system: str) -> dict[str, bytes]:
    """A few files of a phone's tree as FFS tools lay it out (with the tool's own top folder)."""
    if system == "ios":
        import plistlib

        version = plistlib.dumps({"ProductName": "iPhone OS", "ProductVersion": "15.4.1", "ProductBuildVersion": "19E258"})
        return {"filesystem1/System/Library/CoreServices/SystemVersion.plist": version,
                "filesystem1/private/var/mobile/Library/SMS/sms.db": b"SQLite format 3\x00",
                "filesystem1/private/var/mobile/Containers/Shared/AppGroup/X/ChatStorage.sqlite": b"SQLite format 3\x00"}
    return {"Dump/system/build.prop": b"ro.build.version.release=12\nro.product.model=SM-A525F\n",
            "Dump/data/data/com.whatsapp/databases/msgstore.db": b"SQLite format 3\x00",
            "Dump/data/media/0/DCIM/Camera/IMG_1.jpg": b"\xff\xd8"}


def contact(name: str, number: str, created: str | None = None) -> str:
    times = fld("TimeCreated", created, "TimeStamp") if created else ""
    return (f'<modelType type="Contact"><model type="Contact" id="k{number}">{fld("Name", name)}'
            f'{fld("Source", "Phone")}{times}<multiModelField name="Entries" type="ContactEntry">'
            f'<model type="PhoneNumber" id="pn{number}">{fld("Value", number)}</model></multiModelField>'
            '</model></modelType>')
