"""One pass over a piece of evidence: libmagic type and YARA matches of every file's content.

The main thread walks the evidence and reads content (readers of images are not shared between
threads); libmagic and YARA run in worker threads (both release the GIL), so the walk, the type
tests and the rule scan overlap on every core. Files larger than the scanner's whole-file limit
are streamed in overlapping chunks on the main thread. A read failure, a time-out or the size
limit is a warning on that file's result; the pass goes on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from evidencekit.models import FileRecord
from evidencekit.scan.magic import HEAD_BYTES, FileType, identifier
from evidencekit.scan.yara import ScanOutcome, YaraScanner

DEFAULT_WORKERS = 2
BATCH_FILES = 64  # small files go to the workers in batches: one hand-off per batch
BATCH_BYTES = 8 << 20
BATCHES_PER_WORKER = 2
IN_FLIGHT_BYTES = 256 << 20  # content held for the workers at most (files up to 64 MiB each)


@dataclass
class FileResult:
    """What the pass found for one file: its type, its YARA outcome, and warnings."""

    record: FileRecord
    type: FileType | None = None
    yara: ScanOutcome | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def all_warnings(self) -> list[str]:
        return self.warnings + (self.yara.warnings if self.yara else [])


def scannable(record: FileRecord) -> bool:
    """Regular files and NTFS data streams have content to type and scan; nothing else does."""
    return record.type == "file"


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


@dataclass
class ContentPass:
    """Settings of one pass: a scanner (``None``: types only), type identification on/off."""

    scanner: YaraScanner | None = None
    types: bool = True
    head_bytes: int = HEAD_BYTES
    workers: int = DEFAULT_WORKERS

    def analyse(self, record: FileRecord, data: bytes, warning: str | None = None) -> FileResult:
        """Type and scan one whole file held in memory (runs in a worker thread)."""
        result = FileResult(record, warnings=[warning] if warning else [])
        if self.types:
            result.type = identifier(self.head_bytes).identify(record.path, data)
        if self.scanner is not None:
            mime = result.type.mime if result.type else ""
            result.yara = self.scanner.scan_bytes(data, record.path, mime)
        return result

    def _whole_limit(self) -> int:
        if self.scanner is None:
            return self.head_bytes
        limit = self.scanner.whole_limit
        if self.scanner.max_size is not None:
            limit = min(limit, self.scanner.max_size)
        return limit

    def _read(self, entry: Any, limit: int) -> tuple[bytes | None, str | None]:
        """Content up to ``limit`` bytes; ``None`` with no warning: larger, stream it; ``None``
        with a warning: unreadable."""
        size = entry.record.size
        if (size is None or size > limit) and self.scanner is not None:
            return None, None
        try:
            with entry.open() as fh:
                data = fh.read(min(size, limit) if size is not None else limit)
        except Exception as err:  # a damaged or unreadable entry is a warning, never a stop
            return None, f"content unreadable: {_one_line(err)}"
        if size is not None and len(data) < min(size, limit):
            return data, f"read {len(data)} of {min(size, limit)} bytes: content incomplete"
        return data, None

    def stream(self, entry: Any) -> FileResult:
        """Type from the head, then the YARA scan streamed in chunks (large files, main thread)."""
        record = entry.record
        result = FileResult(record)
        assert self.scanner is not None
        try:
            with entry.open() as fh:
                head = fh.read(self.head_bytes)
                if self.types:
                    result.type = identifier(self.head_bytes).identify(record.path, head)
                fh.seek(0)
                result.yara = self.scanner.scan_stream(fh, record.size, record.path,
                                                       result.type.mime if result.type else "")
        except Exception as err:  # unreadable content: recorded, the pass goes on
            result.warnings.append(f"content unreadable: {_one_line(err)}")
        return result

    def analyse_batch(self, batch: list[tuple[FileRecord, bytes, str | None]]) -> list[FileResult]:
        """:meth:`analyse` of several small files: one hand-off to a worker per batch."""
        return [self.analyse(*item) for item in batch]

    def run(self, entries: Iterator[Any], progress: Callable[[FileRecord], None] | None = None) -> Iterator[FileResult]:
        """Results of every scannable entry, in walk order."""
        limit = self._whole_limit()
        pending: deque[tuple[Future[list[FileResult]], int]] = deque()
        batch: list[tuple[FileRecord, bytes, str | None]] = []
        held = 0
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            for entry in entries:
                if not scannable(entry.record) or not entry.has_content:
                    continue
                if progress is not None:
                    progress(entry.record)
                data, warning = self._read(entry, limit)
                if data is not None:
                    batch.append((entry.record, data, warning))
                    held += len(data)
                if batch and (data is None or len(batch) >= BATCH_FILES or held >= BATCH_BYTES):
                    pending.append((pool.submit(self.analyse_batch, batch), held))
                    batch, held = [], 0
                    yield from _drain(pending, 0 if data is None else self.workers * BATCHES_PER_WORKER)
                if data is None:
                    yield FileResult(entry.record, warnings=[warning]) if warning else self.stream(entry)
            if batch:
                pending.append((pool.submit(self.analyse_batch, batch), held))
            yield from _drain(pending, 0)


def _drain(pending: deque[tuple[Future[list[FileResult]], int]], keep: int) -> Iterator[FileResult]:
    """Yield finished results in order until at most ``keep`` batches and IN_FLIGHT_BYTES are held."""
    held = sum(n for _, n in pending) if keep else 0
    while len(pending) > keep or held > IN_FLIGHT_BYTES:
        future, size = pending.popleft()
        held -= size
        yield from future.result()
