"""DFXML (Digital Forensics XML) of a file listing, laid out as ``fiwalk`` writes it.

One ``<fileobject>`` per entry with the children in the order the DFXML schema fixes (fiwalk's):
``filename`` (no leading ``/``, a stream as ``name:stream``), ``partition`` (the volume's number),
``name_type``, ``filesize``, ``unalloc``/``alloc``, ``orphan``, ``inode``, ``meta_type`` (TSK's
numbering), ``mode``, ``uid``, ``gid``, the times (ISO-8601 UTC at the source's precision),
``link_target`` and a ``hashdigest`` per hash. What DFXML has no element for (the volume name,
NTFS ``$FILE_NAME`` times, the locator, read warnings) is in the evidencekit namespace, which the
schema admits after the DFXML children. Byte runs are not in the inventory, so none are written.
The header lists the source image and its volumes. Control characters in names are written
``\\x0A`` as fiwalk does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from evidencekit.exporters.files import Renderer, utf8
from evidencekit.models import FileRecord, VolumeInfo
from evidencekit.textout import escape_control
from evidencekit.times import iso_utc

DFXML_NS = "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML"
EK_NS = "https://evidencekit.org/ns/dfxml/1"
DFXML_VERSION = "1.2.0"
NAME_TYPES = {"file": "r", "dir": "d", "symlink": "l", "fifo": "p", "chardev": "c", "blockdev": "b",
              "socket": "s", "virtual": "v", "virtual_dir": "V", "hardlink": "h"}
META_TYPES = {"file": 1, "dir": 2, "fifo": 3, "chardev": 4, "blockdev": 5, "symlink": 6, "socket": 8,
              "virtual": 10, "virtual_dir": 11}
FOOTER = "</dfxml>\n"


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _text(value: object) -> str:
    """XML text; control characters as fiwalk writes them (``\\x0A``: XML 1.0 cannot carry most)."""
    return escape(escape_control(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02X}", str(value))))


def header(source: str | None, volumes: Iterable[VolumeInfo], version: str, command: str | None = None) -> str:
    """The document up to the first ``fileobject``: metadata, creator, source and volumes."""
    lines = ["<?xml version='1.0' encoding='UTF-8'?>",
             f"<dfxml xmlns='{DFXML_NS}' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:ek='{EK_NS}' "
             f"version='{DFXML_VERSION}'>",
             "  <metadata>", "    <dc:type>File system listing</dc:type>", "  </metadata>",
             "  <creator version='1.0'>", "    <program>evidencekit</program>", f"    <version>{_text(version)}</version>"]
    if command:
        lines += ["    <execution_environment>", f"      <command_line>{_text(command)}</command_line>",
                  "    </execution_environment>"]
    lines.append("  </creator>")
    if source:
        lines += ["  <source>", f"    <image_filename>{_text(source)}</image_filename>", "  </source>"]
    for vol in volumes:
        offset = f" offset='{vol.offset}'" if vol.offset is not None else ""
        lines.append(f"  <volume{offset}>")
        if vol.offset is not None:
            lines.append(f"    <partition_offset>{vol.offset}</partition_offset>")
        if vol.filesystem:
            lines.append(f"    <ftype_str>{_text(vol.filesystem)}</ftype_str>")
        lines.append(f"    <ek:name>{_text(vol.name)}</ek:name>")
        lines.append("  </volume>")
    return "\n".join(lines) + "\n"


def _time(tag: str, ns: int | None, digits: int) -> str:
    return "" if ns is None else f"    <{tag}>{iso_utc(ns, digits)}</{tag}>\n"


def fileobject(rec: FileRecord, partitions: dict[str, int]) -> str:
    """One ``<fileobject>`` element (with its trailing newline)."""
    name = rec.path.lstrip("/") + (f":{rec.stream}" if rec.stream else "")
    parts = ["  <fileobject>\n", f"    <filename>{_text(name)}</filename>\n"]
    if rec.volume in partitions:
        parts.append(f"    <partition>{partitions[rec.volume]}</partition>\n")
    if rec.type in NAME_TYPES:
        parts.append(f"    <name_type>{NAME_TYPES[rec.type]}</name_type>\n")
    if rec.size is not None:
        parts.append(f"    <filesize>{rec.size}</filesize>\n")
    parts.append("    <unalloc>1</unalloc>\n" if rec.deleted else "    <alloc>1</alloc>\n")
    if rec.orphan:
        parts.append("    <orphan>1</orphan>\n")
    for tag, value in (("inode", rec.inode), ("meta_type", META_TYPES.get(rec.type or "")), ("mode", rec.mode),
                       ("uid", rec.uid), ("gid", rec.gid)):
        if value is not None and (tag == "uid" or value >= 0):
            parts.append(f"    <{tag}>{value}</{tag}>\n")
    digits = rec.time_digits
    parts += [_time("mtime", rec.mtime, digits), _time("ctime", rec.ctime, digits), _time("atime", rec.atime, digits),
              _time("crtime", rec.crtime, digits), _time("dtime", rec.dtime, digits)]
    if rec.link_target:
        parts.append(f"    <link_target>{_text(rec.link_target)}</link_target>\n")
    for alg in ("md5", "sha1", "sha256"):
        value = getattr(rec, alg)
        if value:
            parts.append(f"    <hashdigest type='{alg}'>{value}</hashdigest>\n")
    parts += _extensions(rec, digits)
    parts.append("  </fileobject>\n")
    return "".join(parts)


def _extensions(rec: FileRecord, digits: int) -> list[str]:
    parts = [f"    <ek:volume>{_text(rec.volume)}</ek:volume>\n"]
    for tag in ("fn_mtime", "fn_atime", "fn_ctime", "fn_crtime"):
        parts.append(_time(f"ek:{tag}", getattr(rec, tag), digits))
    if rec.assumed_zone:
        parts.append(f"    <ek:assumed_zone>{_text(rec.assumed_zone)}</ek:assumed_zone>\n")
    parts.append(f"    <ek:locator evidence={quoteattr(escape_control(rec.locator.evidence))}>"
                 f"{_text(json.dumps(rec.locator.spec, sort_keys=True))}</ek:locator>\n")
    parts += [f"    <ek:warning>{_text(w)}</ek:warning>\n" for w in rec.warnings]
    return parts


class DfxmlRenderer(Renderer):
    """The ``files`` renderer of ``dfxml``: header, fileobjects, footer; picklable for workers."""

    def __init__(self, source: str | None = None, volumes: tuple[VolumeInfo, ...] = (), version: str = "",
                 command: str | None = None):
        super().__init__("dfxml")
        self.source, self.volumes, self.version, self.command = source, tuple(volumes), version, command
        self._partitions = {v.name: i for i, v in enumerate(self.volumes, 1)}

    def __getstate__(self) -> dict:
        return {"source": self.source, "volumes": self.volumes, "version": self.version, "command": self.command}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def header(self) -> bytes:
        return utf8(header(self.source, self.volumes, self.version, self.command))

    def footer(self) -> bytes:
        return FOOTER.encode()

    def __call__(self, records: Iterable[FileRecord]) -> tuple[bytes, int]:
        text = [fileobject(record, self._partitions) for record in records]
        return utf8("".join(text)), len(text)
