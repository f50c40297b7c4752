"""Turn ``psort -o json_line`` output into :class:`TimelineEvent` objects.

Each plaso event keeps its parser, its ``timestamp_desc``, the source path (innermost path
spec location, relative to a directory exhibit), plaso's own fields in ``extra`` and its path
spec as the locator. iOS backups store files under hashed names; a map read from the backup's
``Manifest.db`` (iOS 10 and later) or ``Manifest.mbdb`` (iOS 5 to 9) restores the real names.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import struct
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from evidencekit.models import Locator
from evidencekit.timeline.anomalies import AnomalyContext, event_future
from evidencekit.timeline.events import SOURCE_PLASO, TimelineEvent

FILETIME_EPOCH_DELTA = 116_444_736_000_000_000  # 100 ns units from 1601-01-01 to 1970-01-01
MACB = {"Content Modification Time": "m", "Last Access Time": "a", "Metadata Modification Time": "c",
        "Creation Time": "b"}
DIGITS = {"Filetime": 7, "PosixTimeInNanoseconds": 9, "PosixTime": 0, "JavaTime": 3, "TimeElements": 0,
          "TimeElementsInMilliseconds": 3, "FATDateTime": 0, "HFSTime": 0, "OLEAutomationDate": 6}
SKIP = {"__container_type__", "__type__", "date_time", "pathspec", "message", "timestamp", "timestamp_desc",
        "parser", "sha256_hash"}
VOLUME_TYPES = {"TSK_PARTITION", "GPT", "APFS_CONTAINER", "LVM", "VSHADOW", "CS"}
HEX = set("0123456789abcdef")
# dfdatetime's classes for "no date could be formed" (e.g. Feb 29 given a non-leap --year): plaso
# writes timestamp 0 for them. The event is kept, flagged, at 0 (the epoch) so nothing is lost.
NO_TIME_CLASSES = {"InvalidTime", "NotSet"}
NO_VALID_TIME = "no_valid_time"


def event_time(record: Mapping[str, Any]) -> tuple[int, int]:
    """(ns UTC, fractional digits) from plaso's normalised µs and, where finer, its date_time."""
    micros = int(record.get("timestamp") or 0)
    dt = record.get("date_time") or {}
    cls = dt.get("__class_name__", "")
    if cls == "Filetime" and isinstance(dt.get("timestamp"), int) and dt["timestamp"] > 0:
        return (dt["timestamp"] - FILETIME_EPOCH_DELTA) * 100, 7
    if cls == "PosixTimeInNanoseconds" and isinstance(dt.get("timestamp"), int):
        return dt["timestamp"], 9
    return micros * 1000, DIGITS.get(cls, 6)


def _chain(spec: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    while spec:
        yield spec
        spec = spec.get("parent")


def spec_path(spec: Mapping[str, Any] | None, root: str | None) -> tuple[str, str, int | None]:
    """(path, volume, inode) from a plaso path spec; paths of a directory exhibit become relative."""
    nodes = list(_chain(spec))
    if not nodes:
        return "", "", None
    inner = nodes[0]
    path = str(inner.get("location") or "")
    if inner.get("type_indicator") == "OS" and root and (path == root or path.startswith(root.rstrip("/") + "/")):
        path = "/" + path[len(root.rstrip("/")):].lstrip("/")
    volume = ""
    for node in nodes[1:]:
        if node.get("type_indicator") in VOLUME_TYPES and node.get("location"):
            volume = str(node["location"]).strip("/")
            break
    inode = inner.get("inode")
    return path, volume, inode if isinstance(inode, int) else None


def to_event(record: Mapping[str, Any], exhibit: str | None, evidence: str, root: str | None,
             ctx: AnomalyContext | None = None, names: Mapping[str, str] | None = None) -> TimelineEvent:
    """One plaso json_line record as a TimelineEvent."""
    time_ns, digits = event_time(record)
    spec = record.get("pathspec")
    path, volume, inode = spec_path(spec, root)
    extra = {k: v for k, v in record.items() if k not in SKIP}
    path = path or str(record.get("display_name") or "")
    real = real_name(path, names)
    if real is not None:
        extra["backup_path"] = path
        path = real
    desc = str(record.get("timestamp_desc") or "")
    dt = record.get("date_time") or {}
    flags = (NO_VALID_TIME,) if dt.get("__class_name__") in NO_TIME_CLASSES else event_future(time_ns, ctx)
    return TimelineEvent(
        time=time_ns, timestamp_desc=desc, source=SOURCE_PLASO, path=path, exhibit=exhibit, volume=volume,
        macb=MACB.get(desc, ""), time_digits=digits, parser=str(record.get("parser") or "unknown"),
        inode=inode, message=str(record.get("message") or ""), sha256=record.get("sha256_hash"),
        locator=Locator(evidence, spec) if isinstance(spec, dict) else None,
        assumed_zone="UTC" if dt.get("is_local_time") else None, flags=flags, extra=extra,
    )


def read_jsonl(path: Path, exhibit: str | None, evidence: str, root: str | None,
               ctx: AnomalyContext | None = None, names: Mapping[str, str] | None = None,
               bad: list[str] | None = None) -> Iterator[TimelineEvent]:
    """Events of a psort json_line file; undecodable lines are reported in ``bad``, not raised."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if record.get("__container_type__", "event") != "event":
                    continue
                yield to_event(record, exhibit, evidence, root, ctx, names)
            except (ValueError, TypeError, AttributeError) as err:
                if bad is not None:
                    bad.append(f"{path.name} line {number}: {err}")


def real_name(path: str, names: Mapping[str, str] | None) -> str | None:
    """The domain/relativePath of an iOS backup file stored under its hashed name, else None."""
    if not names:
        return None
    base = path.rsplit("/", 1)[-1].lower()
    if len(base) != 40 or not set(base) <= HEX:
        return None
    return names.get(base)


def manifest_names(db_path: Path) -> dict[str, str]:
    """fileID -> "domain/relativePath" from an iOS backup's Manifest.db (iOS 10 and later)."""
    # immutable: SQLite must not create -wal/-shm files beside evidence, nor take locks on it.
    db = sqlite3.connect(f"{db_path.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        rows = db.execute("SELECT fileID, domain, relativePath FROM Files").fetchall()
    finally:
        db.close()
    return {str(fid).lower(): f"{domain}/{rel}" if rel else str(domain) for fid, domain, rel in rows}


MBDB_MAGIC = b"mbdb\x05\x00"
_MBDB_FIXED = struct.Struct(">HQIIIIIQBB")  # mode, inode, uid, gid, mtime, atime, ctime, size, class, properties


def mbdb_names(data: bytes) -> dict[str, str]:
    """fileID -> "domain/relativePath" from an iOS 5-9 backup's Manifest.mbdb.

    Each record: domain, path, link target, data hash and encryption key as (big-endian 16-bit
    length, bytes; 0xFFFF for none), then the fixed fields above and that many (name, value)
    property strings. A damaged file gives the names read before the damage.
    """
    if not data.startswith(MBDB_MAGIC):
        raise ValueError("not a Manifest.mbdb (no mbdb 5.0 signature)")
    pos, names = len(MBDB_MAGIC), {}

    def string() -> bytes:
        nonlocal pos
        (length,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if length == 0xFFFF:
            return b""
        if pos + length > len(data):
            raise struct.error("string runs past the end")
        pos += length
        return data[pos - length:pos]

    try:
        while pos < len(data):
            domain, path = string(), string()
            for _ in range(3):
                string()
            fixed = _MBDB_FIXED.unpack_from(data, pos)
            pos += _MBDB_FIXED.size
            for _ in range(2 * fixed[-1]):
                string()
            fid = hashlib.sha1(domain + b"-" + path).hexdigest()
            text_domain, text_path = domain.decode("utf-8", "replace"), path.decode("utf-8", "replace")
            names[fid] = f"{text_domain}/{text_path}" if text_path else text_domain
    except struct.error:
        pass  # truncated: keep what was read
    return names


MANIFESTS = ("Manifest.db", "Manifest.mbdb")


def backup_names(evidence: Path) -> dict[str, str]:
    """The fileID map of an iOS backup given as a folder, zip or tar; {} when there is none.

    Reads Manifest.db (iOS 10+) or Manifest.mbdb (iOS 5-9). A Manifest.db inside an archive is
    copied to a temporary file (the evidence is only read).
    """
    try:
        if evidence.is_dir():
            # A backup folder, or a folder holding backups (MobileSync/Backup/<UDID>/): not deeper.
            found = [p for name in MANIFESTS for pattern in (name, f"*/{name}", f"*/*/{name}")
                     for p in sorted(evidence.glob(pattern))]
            names: dict[str, str] = {}
            for manifest in found:  # fileIDs hash domain-path, so several backups merge safely
                with contextlib.suppress(sqlite3.Error, ValueError):
                    names.update(mbdb_names(manifest.read_bytes()) if manifest.name == "Manifest.mbdb"
                                 else manifest_names(manifest))
            return names
        member = archive_member(evidence, lambda name: name.rsplit("/", 1)[-1] in MANIFESTS)
    except (OSError, sqlite3.Error, zipfile.BadZipFile, tarfile.TarError):
        return {}
    if member is None:
        return {}
    name, data = member[0].rsplit("/", 1)[-1], member[1]
    try:
        if name == "Manifest.mbdb":
            return mbdb_names(data)
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "Manifest.db"
            copy.write_bytes(data)
            return manifest_names(copy)
    except (sqlite3.Error, ValueError):
        return {}


def archive_member(evidence: Path, wanted: Callable[[str], bool]) -> tuple[str, bytes] | None:
    """(name, bytes) of the shortest-named zip/tar member for which ``wanted(name)`` holds."""
    if zipfile.is_zipfile(evidence):
        with zipfile.ZipFile(evidence) as zf:
            names = sorted((n for n in zf.namelist() if not n.endswith("/") and wanted(n)), key=len)
            return (names[0], zf.read(names[0])) if names else None
    if evidence.is_file() and tarfile.is_tarfile(evidence):
        with tarfile.open(evidence) as tf:
            for member in sorted(tf.getmembers(), key=lambda m: len(m.name)):
                if member.isfile() and wanted(member.name):
                    fh = tf.extractfile(member)
                    return (member.name, fh.read()) if fh else None
    return None


def file_id(domain: str, relative: str) -> str:
    """The name an iOS backup stores a file under: SHA1 of "domain-relativePath"."""
    return hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()
