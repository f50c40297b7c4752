"""Copy entries out of evidence into a directory, safely: the evidence side of ``evidencekit extract``.

Every written file lands under the output directory and nowhere else, whatever the names in the
evidence say: each path component is escaped (``/``, ``:``, ``%``, NUL and control characters
become ``%XX``; ``.`` and ``..`` become ``%2E``/``%2E%2E``), directories are opened one level at a
time with ``O_NOFOLLOW`` relative to their parent (a symlink planted in the directory is refused,
not followed), and each file is written to a temporary name and *hard-linked* into place, which
fails when the name exists: nothing is ever overwritten, and an interrupted copy leaves no file
under the final name. Contents are hashed while written; times (access, modification) are set
to the original's; the manifest (CSV) lists every file with its original path, size, hashes and
times.
"""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from evidencekit.errors import EvidenceKitError, ValidationError
from evidencekit.hashing import MultiHasher
from evidencekit.models import TIME_FIELDS, FileRecord, iso_utc

ALGORITHMS = ("md5", "sha1", "sha256")
CHUNK = 1 << 20
NAME_MAX = 255
MANIFEST_COLUMNS = ("written", "exhibit", "volume", "path", "stream", "inode", "deleted", "size", "md5", "sha1",
                    "sha256", "expected_sha256", "check", *TIME_FIELDS, "time_zone", "error")


class ExtractError(EvidenceKitError):
    """The output directory cannot take the extraction (exists, unsafe, not writable)."""


class UnreadableError(EvidenceKitError):
    """The entry's content cannot be read from the evidence (a damaged region): a warning on that file."""


@dataclass
class Extracted:
    """One written file and what the manifest says of it."""

    record: FileRecord
    written: str  # relative to the output directory
    hashes: dict[str, str] = field(default_factory=dict)
    expected_sha256: str | None = None
    exhibit: str = ""
    error: str | None = None  # why the content could not be read (nothing written for it)

    @property
    def check(self) -> str:
        if self.error is not None:
            return "unreadable"
        if self.expected_sha256 is None:
            return "computed"
        return "match" if self.expected_sha256 == self.hashes.get("sha256") else "MISMATCH"


def escape_component(name: str) -> str:
    """One path component made safe and unambiguous (two different names never map to one)."""
    if name in (".", ".."):
        return name.replace(".", "%2E")
    out = []
    for ch in name:
        if ch in "/\\:%" or ord(ch) < 32 or ord(ch) == 127:
            out.append(f"%{ord(ch):02X}")
        else:
            out.append(ch)
    text = "".join(out) or "%00"
    if len(text.encode("utf-8", "surrogateescape")) > NAME_MAX:  # keep it unique: a hash of the full name
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        text = text.encode("utf-8", "surrogateescape")[: NAME_MAX - 20].decode("utf-8", "ignore") + "~" + digest
    return text


def target_parts(rec: FileRecord) -> list[str]:
    """The escaped components under the output directory: volume (if any), then the original path."""
    parts = [escape_component(p) for p in rec.path.split("/") if p != ""]
    if not parts:
        raise ValidationError("{path!r}: not a file path", path=rec.path)
    if rec.stream:
        parts[-1] = f"{parts[-1]}:{escape_component(rec.stream)}"
    return ([escape_component(rec.volume)] if rec.volume else []) + parts


def matches(rec: FileRecord, paths: Iterable[str], globs: Iterable[str], deleted_only: bool) -> bool:
    """Whether an entry is asked for: an exact path (``PATH:STREAM`` for a stream), or a glob."""
    full = f"{rec.path}:{rec.stream}" if rec.stream else rec.path
    if full in paths or (not rec.stream and rec.path in paths):
        return True
    if rec.type != "file" or (deleted_only and not rec.deleted):
        return False
    return any(fnmatch.fnmatchcase(full, g) for g in globs)


def select(entries: Iterable[object], paths: list[str], globs: list[str], deleted_only: bool) -> Iterator[object]:
    """Entries (``sources.base.Entry``) that :func:`matches` asks for, in walk order."""
    wanted = set(paths)
    for entry in entries:
        if matches(entry.record, wanted, globs, deleted_only):  # type: ignore[attr-defined]
            yield entry


class OutputDir:
    """The output directory, opened once; every write goes through its descriptor."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).absolute()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as err:
            raise ExtractError("{path}: cannot use as output directory: {cause}", path=self.path,
                               cause=err.strerror) from err
        self.taken: set[str] = set()

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def claim(self, parts: list[str], inode: int | None) -> list[str]:
        """Reserve a relative name: a second entry of the same path in one run (a deleted and an
        allocated file) gets ``~inodeN`` appended. A name already on disk is an error."""
        rel = "/".join(parts)
        if rel in self.taken:
            parts = [*parts[:-1], f"{parts[-1]}~inode{inode}"]
            rel = "/".join(parts)
        if rel in self.taken or os.path.lexists(self.path / rel):
            raise ExtractError("{path}: exists; extraction never overwrites (use a new --out)",
                               path=self.path / rel)
        self.taken.add(rel)
        return parts

    def _parent(self, parts: list[str]) -> int:
        fd = os.dup(self.fd)
        try:
            for part in parts[:-1]:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = nxt
        except OSError as err:
            os.close(fd)
            raise ExtractError("{path}: cannot create its directory safely: {cause}",
                               path=self.path / '/'.join(parts), cause=err.strerror) from err
        return fd

    def write(self, parts: list[str], source: BinaryIO, times: tuple[int, int] | None) -> dict[str, str]:
        """Copy ``source`` to ``parts`` (hashing it), set its times; return its hashes."""
        parent = self._parent(parts)
        tmp = f".{parts[-1][:200]}.{os.getpid()}.partial"
        hasher = MultiHasher(ALGORITHMS)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=parent)
            try:
                with os.fdopen(fd, "wb", closefd=False) as out:
                    while chunk := _read(source, parts):
                        hasher.update(chunk)
                        out.write(chunk)
                    out.flush()
                    os.fsync(fd)
                if times is not None:
                    os.utime(fd, ns=times)
            finally:
                os.close(fd)
            os.link(tmp, parts[-1], src_dir_fd=parent, dst_dir_fd=parent, follow_symlinks=False)
        except OSError as err:
            raise ExtractError("{path}: cannot write: {cause}", path=self.path / '/'.join(parts),
                               cause=err.strerror) from err
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=parent)
            os.close(parent)
        return hasher.hexdigests()

    def remove(self, parts: list[str]) -> None:
        """Remove a file this run wrote (a run that fails leaves none of its files behind)."""
        parent = self._parent(parts)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(parts[-1], dir_fd=parent)
        finally:
            os.close(parent)

    def new_file(self, name: str) -> tuple[str, BinaryIO]:
        """A new file directly under the directory (the manifest), never overwriting."""
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=self.fd)
        return name, os.fdopen(fd, "wb")


def _read(source: BinaryIO, parts: list[str]) -> bytes:
    try:
        return source.read(CHUNK)
    except (OSError, EvidenceKitError) as err:  # pytsk3 raises OSError for an unreadable run
        raise UnreadableError("{listing}: cannot read from the evidence: {cause}",
                              listing='/'.join(parts), cause=err) from err


def file_times(rec: FileRecord) -> tuple[int, int] | None:
    """(atime, mtime) to set on the copy; the modification time stands in for a missing access time."""
    if rec.mtime is None and rec.atime is None:
        return None
    mtime = rec.mtime if rec.mtime is not None else rec.atime
    atime = rec.atime if rec.atime is not None else mtime
    assert mtime is not None and atime is not None
    return atime, mtime


@dataclass
class Planned:
    """An entry whose name under the output directory is reserved, not yet written."""

    record: FileRecord
    opener: Callable[[], BinaryIO]
    parts: list[str]
    exhibit: str = ""
    expected_sha256: str | None = None


def plan(out: OutputDir, rec: FileRecord, opener: Callable[[], BinaryIO], exhibit: str = "",
         expected_sha256: str | None = None) -> Planned:
    """Check an entry can be extracted and reserve its name (all are planned before any is written)."""
    if rec.type not in ("file", "virtual"):
        raise ValidationError("{path}: is a {type}, not a file; extract its files with --glob",
                              path=rec.path, type=rec.type)
    return Planned(rec, opener, out.claim(target_parts(rec), rec.inode), exhibit, expected_sha256)


def copy_out(out: OutputDir, item: Planned) -> Extracted:
    """Write one planned entry; an unreadable one is a warning row (nothing written for it)."""
    try:
        with item.opener() as source:
            hashes = out.write(item.parts, source, file_times(item.record))
    except ExtractError:
        raise
    except EvidenceKitError as err:
        return Extracted(item.record, "", {}, item.expected_sha256, item.exhibit, error=str(err))
    return Extracted(item.record, "/".join(item.parts), hashes, item.expected_sha256, item.exhibit)


def copy_all(out: OutputDir, planned: list[Planned]) -> list[Extracted]:
    """Write every planned entry; when the output fails (disk full, unsafe directory), remove
    what this run wrote and raise: a run is complete or leaves nothing."""
    done: list[Extracted] = []
    try:
        for item in planned:
            done.append(copy_out(out, item))
    except BaseException:
        for row in done:
            if row.written:
                with contextlib.suppress(EvidenceKitError, OSError):
                    out.remove(row.written.split("/"))
        raise
    return done


def manifest_name() -> str:
    return time.strftime("manifest-%Y%m%dT%H%M%SZ.csv", time.gmtime())


def write_manifest(out: OutputDir, rows: list[Extracted]) -> Path:
    """The CSV manifest beside the files (UTC times at full precision); returns its path."""
    name = manifest_name()
    n = 1
    while os.path.lexists(out.path / name):
        n += 1
        name = manifest_name().replace(".csv", f"-{n}.csv")
    name, fh = out.new_file(name)
    with fh, _text(fh) as text:
        writer = csv.DictWriter(text, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            rec = row.record
            writer.writerow({
                "written": row.written, "exhibit": row.exhibit, "volume": rec.volume, "path": rec.path,
                "stream": rec.stream or "", "inode": "" if rec.inode is None else rec.inode,
                "deleted": "yes" if rec.deleted else "no", "size": "" if rec.size is None else rec.size,
                **row.hashes, "expected_sha256": row.expected_sha256 or "", "check": row.check,
                **{k: iso_utc(getattr(rec, k), rec.time_digits) or "" for k in TIME_FIELDS},
                "time_zone": "UTC", "error": row.error or "",
            })
    return out.path / name


def _text(fh: BinaryIO):  # type: ignore[no-untyped-def]
    import io

    return io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)


def extract_evidence(ev: object, out_dir: str | os.PathLike[str], paths: list[str], globs: list[str],
                     deleted_only: bool = False) -> tuple[list[Extracted], Path]:
    """Without a case: walk the evidence, extract what is asked for, write the manifest."""
    if not paths and not globs:
        raise ValidationError("extract: give --path or --glob")
    chosen = list(select(ev.entries(), paths, globs, deleted_only))  # type: ignore[attr-defined]
    missing = set(paths) - {_full(e.record) for e in chosen} - {e.record.path for e in chosen}  # type: ignore[attr-defined]
    if missing:
        raise ValidationError("{path}: no entry {entry!r} (see 'evidencekit files')",
                              path=ev.path, entry=sorted(missing)[0])  # type: ignore[attr-defined]
    with OutputDir(out_dir) as out:
        planned = [plan(out, e.record, e.open) for e in chosen]  # type: ignore[attr-defined]
        rows = copy_all(out, planned)
        return rows, write_manifest(out, rows)


def _full(rec: FileRecord) -> str:
    return f"{rec.path}:{rec.stream}" if rec.stream else rec.path
