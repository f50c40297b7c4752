"""Listing: every entry of a piece of evidence with its content hashes.

The walk itself lives with each source (pytsk3 where TSK reads the file system, dfvfs or the
standard library elsewhere); this module adds hashing and turns read failures into warnings
on the records they touch, so that one damaged file never stops the listing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from evidencekit.errors import EvidenceError, one_line
from evidencekit.hashing import ALGORITHMS, CONSTRUCTORS, DEFAULT_FILE_HASHES, hash_stream
from evidencekit.models import FileRecord

WHOLE_READ = 1 << 20  # files up to this size are read in one call

if TYPE_CHECKING:
    from evidencekit.sources.base import Entry, Evidence


def files(
    evidence: Evidence,
    hashes: tuple[str, ...] = DEFAULT_FILE_HASHES,
    progress: Callable[[FileRecord], None] | None = None,
    volume: str | None = None,
    jobs: int = 1,
) -> Iterator[FileRecord]:
    """Every entry of ``evidence`` with its content hashed; a read failure is a warning on that record.

    ``jobs`` > 1 lists large file systems with that many worker processes (same records, same order).
    """
    return hashed_records(evidence, hashes, progress=progress, volume=volume, jobs=jobs)


def hashed_records(
    evidence: Evidence,
    hashes: tuple[str, ...],
    progress: Callable[[FileRecord], None] | None = None,
    volume: str | None = None,
    jobs: int = 1,
) -> Iterator[FileRecord]:
    """Yield each entry's record with the requested hashes of its content filled in.

    With ``jobs`` > 1, large file systems are listed by that many worker processes; the records
    and their order are the same as with one.
    """
    if jobs > 1:
        from evidencekit.inventory.parallel import segments

        for records, _count in segments(evidence, hashes, jobs, volume):
            for record in records:
                if progress is not None:
                    progress(record)
                yield record
        return
    for record in hash_entries(evidence.entries(volume), hashes):
        if progress is not None:
            progress(record)
        yield record


def hash_entries(entries: Iterable[Entry], hashes: tuple[str, ...]) -> Iterator[FileRecord]:
    """Each entry's record, with its content hashed when it has content and hashes are asked for."""
    makers = tuple((name, CONSTRUCTORS[name]) for name in hashes)
    for entry in entries:
        if makers and entry.has_content:
            record = _hashed(entry, makers)
            yield _check_stated(record, entry.stated) if entry.stated else record
        else:
            yield entry.record


def _check_stated(record: FileRecord, stated: tuple[str, dict[str, str]]) -> FileRecord:
    """A warning on the record for each hash its source states that the content does not match."""
    who, values = stated
    notes = [f"{alg} {getattr(record, alg)} differs from the {alg} {value} {who} states"
             for alg, value in sorted(values.items())
             if alg in ALGORITHMS and getattr(record, alg) and getattr(record, alg) != value.lower()]
    return record.with_changes(warnings=(*record.warnings, *notes)) if notes else record


def batches(items: Iterable[FileRecord], size: int) -> Iterator[list[FileRecord]]:
    """Consecutive lists of at most ``size`` items."""
    batch: list[FileRecord] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _hashed(entry: Entry, makers: tuple[tuple[str, Callable], ...]) -> FileRecord:
    record, size = entry.record, entry.record.size
    try:
        if size is not None and size <= WHOLE_READ:
            # Most files are small: one read, one call per algorithm, no streaming machinery.
            if entry.read_at is not None:
                data = entry.read_at(0, size) if size > 0 else b""
            else:
                with entry.open() as stream:
                    data = stream.read(size + 1)  # one byte more: a source longer than its size shows
            read = len(data)
            digests = {name: make(data).hexdigest() for name, make in makers}
        else:
            counted = [0]

            def count(n: int) -> None:
                counted[0] += n

            with entry.open() as stream:
                digests = hash_stream(stream, tuple(name for name, _ in makers), progress=count)
            read = counted[0]
    except (EvidenceError, OSError, RuntimeError, EOFError) as err:
        return record.with_changes(warnings=(*record.warnings, f"content unreadable: {one_line(err)}"))
    if size is not None and read != size:
        # A hash of part of the content must not pass for the file's hash: none is recorded.
        note = f"read {read} of {size} bytes: content incomplete, not hashed"
        return record.with_changes(warnings=(*record.warnings, note))
    return record.with_changes(**digests)


def expected_entries(evidence: Evidence, volume: str | None = None) -> int | None:
    """A progress total for listing ``evidence`` (or its ``volume``): the metadata entries its file
    systems say are in use (ext inodes, NTFS MFT records). None when one of them does not say
    (FAT, exFAT, archives, folders): the entry count is not known before the walk. The listing
    can differ from it a little (deleted names, NTFS streams, hard links, reserved inodes)."""
    total = 0
    for name, reader in evidence.readers():
        if volume is not None and name != volume:
            continue
        used = reader.used_hint() if hasattr(reader, "used_hint") else None
        if used is None:
            return None
        total += used
    return total
