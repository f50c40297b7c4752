"""Path look-up on an opened evidence: ``ev.entry("/Users/x/file.doc")`` without listing it all.

On a TSK file system only the directories along the path are read (one directory listing per
component); other sources (extractions, dfvfs file systems) are searched in walk order and the
search stops at the first match. Names compare as the file system does: case-insensitively on
FAT, exFAT, NTFS and HFS+, exactly elsewhere. An allocated entry wins over a deleted one of the
same name; ``deleted=True`` asks for the deleted one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from evidencekit.errors import EvidenceError

CASE_INSENSITIVE = ("fat", "exfat", "ntfs", "hfs", "iso9660")


def _same(record: Any, wanted: str, stream: str | None) -> bool:
    if (record.stream or None) != stream:
        return False
    fs = (record.filesystem or "").lower()
    if fs.startswith(CASE_INSENSITIVE):
        return str(record.path).casefold() == wanted.casefold()
    return bool(record.path == wanted)


def _best(entries: Iterable[Any], wanted: str, stream: str | None, deleted: bool) -> Any | None:
    found = [e for e in entries if _same(e.record, wanted, stream)]
    found.sort(key=lambda e: e.record.deleted != deleted)
    return found[0] if found else None


def _tsk_lookup(evidence_path: str, reader: Any, wanted: str, stream: str | None, deleted: bool) -> Any | None:
    _, inode, parent, chain = reader.root()
    parts = [p for p in wanted.split("/") if p]
    for depth, part in enumerate(parts):
        target = f"{parent}/{part}"
        last = depth == len(parts) - 1
        listing = list(reader.segment_entries(evidence_path, ("dir", inode, parent, chain)))
        found = _best(listing, target, stream if last else None, deleted if last else False)
        if found is None or last:
            return found
        if found.record.type != "dir" or found.record.inode is None:
            return None
        inode, parent, chain = found.record.inode, str(found.record.path), (*chain, found.record.inode)
    return None


def find_entry(ev: Any, path: str, volume: str | None = None, deleted: bool = False) -> Any:
    """The entry at ``path`` (``/dir/file`` or ``/dir/file:stream``) of ``ev``; EvidenceError if none."""
    name, _, stream = path.partition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "")
    wanted = "/" + name.strip("/")
    for vol, reader in ev.readers():
        if volume is not None and vol != volume:
            continue
        if hasattr(reader, "segment_entries") and hasattr(reader, "root") and wanted != "/":
            found = _tsk_lookup(ev.path, reader, wanted, stream or None, deleted)
        else:
            found = _best(reader.entries(ev.path), wanted, stream or None, deleted)
        if found is not None:
            return found
    if volume is not None:
        raise EvidenceError("{path}: no entry {entry!r} on volume {volume!r}", path=ev.path, entry=path,
                            volume=volume)
    raise EvidenceError("{path}: no entry {entry!r}", path=ev.path, entry=path)
