"""Frozen records shared by every layer. Times are integers of nanoseconds since 1970-01-01 UTC."""

from __future__ import annotations

import datetime as _dt
import json
import stat
from dataclasses import MISSING, asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

from evidencekit.times import iso_utc, parse_iso_utc, to_datetime  # noqa: E402,F401 - re-exported

TIME_FIELDS = ("mtime", "atime", "ctime", "crtime", "dtime", "fn_mtime", "fn_atime", "fn_ctime", "fn_crtime")


@dataclass(frozen=True)
class Locator:
    """A serialisable address that reopens exactly one entry (and stream) of one piece of evidence.

    ``spec`` is a dfvfs path specification in dfvfs's own JSON form (so any dfvfs user can reopen
    it); ``evidence`` is the evidence path as opened.
    """

    evidence: str
    spec: dict[str, Any]

    def to_json(self) -> str:
        """The one text form: compact JSON, keys sorted (what the case stores and listings print)."""
        text = self.__dict__.get("_text")
        if text is None:
            text = json.dumps({"evidence": self.evidence, "spec": self.spec}, sort_keys=True, separators=(",", ":"))
            object.__setattr__(self, "_text", text)
        return text  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, text: str) -> Locator:
        """The locator a :meth:`to_json` text describes (that text is kept: stored rows re-export as read)."""
        data = json.loads(text)
        locator = cls(evidence=data["evidence"], spec=data["spec"])
        object.__setattr__(locator, "_text", text)
        return locator


_json_str = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


class LocatorText:
    """``Locator.to_json()``, byte for byte, with each volume's shared parent chain encoded once.

    The case finds ``files`` rows by this exact text (e.g. scan results) and listings print it, so it
    must equal ``to_json()``; a test checks that on every record of real images.
    """

    def __init__(self) -> None:
        self._parents: dict[int, tuple[object, str]] = {}
        self._plans: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        self._evidence: dict[str, str] = {}

    def __call__(self, locator: Any) -> str:
        spec = locator.spec
        keys = tuple(spec)
        plan = self._plans.get(keys)
        if plan is None:
            plan = self._plans[keys] = [(k, f"{_json_str(k)}:") for k in sorted(keys)]
        parts = [prefix + (self._parent(spec[k]) if k == "parent" else _scalar(spec[k])) for k, prefix in plan]
        evidence = self._evidence.get(locator.evidence)
        if evidence is None:
            evidence = self._evidence[locator.evidence] = f'{{"evidence":{_json_str(locator.evidence)},"spec":{{'
        return f'{evidence}{",".join(parts)}}}}}'

    def _parent(self, value: Any) -> str:
        if not isinstance(value, dict):
            return _scalar(value)
        cached = self._parents.get(id(value))
        if cached is None or cached[0] is not value:
            cached = self._parents[id(value)] = (value, json.dumps(value, sort_keys=True, separators=(",", ":")))
        return cached[1]


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _json_str(value)  # type: ignore[no-any-return]
    if type(value) is int:
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Migration:
    """One change of the case database schema: SQL run in one transaction, numbered globally
    (the case store runs every layer's migrations in number order; see case/schema.py)."""

    number: int
    description: str
    sql: str


@dataclass(frozen=True)
class VolumeInfo:
    """One volume of a piece of evidence: a partition, a VSS store, an LVM volume, or the whole media."""

    name: str  # "p1", "p2", "vss1", "lvm1", "" for an unpartitioned file system
    index: int
    offset: int | None  # bytes from the start of the decoded media; None where not meaningful
    length: int | None
    type: str  # partition type or volume system, e.g. "mbr:0x83", "gpt:Basic data", "vss", "whole"
    label: str | None = None
    filesystem: str | None = None  # "ntfs", "ext4", "fat32", ... None when none was found
    fs_label: str | None = None
    encryption: str | None = None  # "bitlocker", "luks", "filevault"; None when clear
    locked: bool = False
    encryption_details: dict[str, Any] | None = None  # LUKS: cipher, key derivation, payload offset, decrypted size


@dataclass(frozen=True)
class AcquisitionInfo:
    """Metadata stored by the acquisition container (E01 header and hash sections)."""

    case_number: str | None = None
    examiner: str | None = None
    evidence_number: str | None = None
    description: str | None = None
    notes: str | None = None
    acquisition_date: str | None = None  # as stored by the container
    system_date: str | None = None
    acquisition_software: str | None = None
    acquisition_software_version: str | None = None
    stored_hashes: dict[str, str] = field(default_factory=dict)  # {"md5": hex, ...}


@dataclass(frozen=True)
class FileRecord:
    """One entry of a file system or extraction: a file, directory, link, or an NTFS data stream."""

    volume: str
    path: str
    inode: int | None
    type: str  # file, dir, symlink, socket, fifo, chardev, blockdev, virtual, unknown
    deleted: bool
    size: int | None
    locator: Locator
    mtime: int | None = None
    atime: int | None = None
    ctime: int | None = None
    crtime: int | None = None
    dtime: int | None = None
    fn_mtime: int | None = None
    fn_atime: int | None = None
    fn_ctime: int | None = None
    fn_crtime: int | None = None
    time_digits: int = 9  # fractional digits the file system stores
    assumed_zone: str | None = None  # FAT/exFAT store local time: the zone it was read as (None: stored UTC)
    stream: str | None = None  # NTFS alternate data stream name
    orphan: bool = False
    filesystem: str | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    link_target: str | None = None
    attributes: tuple[str, ...] = ()  # hidden, system, read_only, ... (FAT attribute byte, NTFS $SI flags)
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    warnings: tuple[str, ...] = ()
    raw_name: str | None = None  # hex of the stored name's bytes when they are not UTF-8 (path shows an escaped form)

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> FileRecord:
        """A record from a dict of field values, defaults filled in: what ``FileRecord(**fields)``
        makes, at a fifth of the cost of the frozen dataclass __init__ (a walk makes one per entry).
        The caller passes field names only; a test holds walkers to that."""
        new = object.__new__(cls)
        new.__dict__.update(_RECORD_DEFAULTS)
        new.__dict__.update(fields)
        return new

    def with_changes(self, **changes: Any) -> FileRecord:
        """A copy with some fields changed (what ``dataclasses.replace`` does, without its cost
        on the hot path of a listing: no re-validation, the record has no __post_init__)."""
        new = object.__new__(FileRecord)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def datetime(self, name: str) -> _dt.datetime | None:
        """The time field ``name`` (``mtime``, ``crtime``, ``fn_mtime``, ...) as an aware UTC
        ``datetime`` (microseconds); the int nanoseconds of the field stay the exact value."""
        if name not in TIME_FIELDS:
            raise ValueError(f"{name!r} is not a time field ({', '.join(TIME_FIELDS)})")
        return to_datetime(getattr(self, name))

    @property
    def datetimes(self) -> dict[str, _dt.datetime]:
        """Every time the record has, as aware UTC ``datetime`` values, by field name."""
        return {name: to_datetime(value) for name in TIME_FIELDS if (value := getattr(self, name)) is not None}  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: times as ISO-8601 UTC strings at the source's precision."""
        out = asdict(self)
        for key in TIME_FIELDS:
            out[key] = iso_utc(out[key], self.time_digits)
        out["locator"] = json.loads(self.locator.to_json())
        out["warnings"] = list(self.warnings)
        out["attributes"] = list(self.attributes)
        return out


_RECORD_DEFAULTS = {f.name: f.default for f in dataclass_fields(FileRecord) if f.default is not MISSING}



# TSK's name-type letters (tsk_fs_name_type_str): what fls -m and mactime print.
TYPE_LETTERS = {"file": "r", "dir": "d", "symlink": "l", "fifo": "p", "chardev": "c", "blockdev": "b",
                "socket": "s", "virtual": "v", "virtual_dir": "V", "hardlink": "h"}


def mode_string(entry_type: str | None, mode: int | None) -> str:
    """``r/rrw-r--r--`` as ``fls -m`` writes it: the name type, then the metadata type and permissions."""
    letter = TYPE_LETTERS.get(entry_type or "", "-")
    perms = stat.filemode(mode)[1:] if mode is not None else "---------"
    return f"{letter}/{letter}{perms}"
