"""Streaming hashes: several algorithms in one read pass.

Small inputs (the inventory hashes one file at a time) are hashed sequentially in the calling
thread: no thread is started. Once a stream has delivered more than ``THREAD_THRESHOLD`` bytes,
the rest is hashed by :class:`ParallelHasher`: one thread per algorithm (hashlib releases the GIL
on large buffers), fed from a ring of page-aligned, reusable buffers that the calling thread
fills with ``readinto``. The hash objects carry over, so the result is the same digest either
way.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import queue
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

CHUNK = 1 << 20  # sequential read size
BLOCK = 4 << 20  # one buffer of the parallel ring
RING = 4  # buffers in flight
THREAD_THRESHOLD = 8 << 20  # bytes hashed sequentially before switching to threads

Progress = Callable[[int], None]

# --- the hash vocabulary: every other module takes these from here --------------------------------
ALGORITHMS = ("md5", "sha1", "sha256")  # what evidencekit computes, weakest first
STRONGEST_FIRST = tuple(reversed(ALGORITHMS))
HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
HEX_ALGORITHMS = {length: name for name, length in HEX_LENGTHS.items()}
DEFAULT_FILE_HASHES = ("md5", "sha256")  # per-file hashes of a listing or inventory (CLI and library)
CONSTRUCTORS: dict[str, Callable[..., Any]] = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256}


# --- the one canonical digest of stored rows -------------------------------------------------------


def canonical_json(value: object) -> bytes:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` in UTF-8, the bytes a
    digest is taken over. orjson writes the same bytes for ints, strings and nulls (a test checks
    it on every escaping case) about five times faster; what it refuses goes through json."""
    import orjson

    try:
        return orjson.dumps(value)
    except TypeError:  # e.g. a lone surrogate
        import json

        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


class RowDigest:
    """sha256 of stored rows in the canonical form every layer signs: the canonical JSON of each
    consecutive chunk of at most :data:`ROW_CHUNK` rows (a JSON array of row arrays), and of any
    section marker or trailing value added with :meth:`value`. The rows' order and columns are
    fixed by the table's owner; a verifier recomputes the same bytes from the stored rows."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._pending: list[Any] = []

    def rows(self, rows: Iterable[Any]) -> None:
        pending = self._pending
        for row in rows:
            pending.append(row)
            if len(pending) == ROW_CHUNK:
                self._sha.update(canonical_json(pending))
                pending.clear()

    def value(self, value: object) -> None:
        self._flush()
        self._sha.update(canonical_json(value))

    def _flush(self) -> None:
        if self._pending:
            self._sha.update(canonical_json(self._pending))
            self._pending = []

    def hexdigest(self) -> str:
        self._flush()
        return self._sha.hexdigest()


ROW_CHUNK = 4096


def parse_hash_list(text: str) -> tuple[str, ...]:
    """``"md5,sha256"`` -> ("md5", "sha256"); ``"none"`` or ``""`` -> (). ValidationError when unknown."""
    from evidencekit.errors import ValidationError

    names = tuple(n.strip().lower() for n in text.split(",") if n.strip() and n.strip().lower() != "none")
    unknown = [n for n in names if n not in ALGORITHMS]
    if unknown:
        raise ValidationError("unknown hash algorithm {unknown!r}: choose from {listing} or none",
                              unknown=unknown[0], listing=', '.join(ALGORITHMS))
    return names


def parse_hash_value(text: str, option: str = "--expect") -> tuple[str, str]:
    """``ALG:HEX`` (or a bare HEX whose length names the algorithm) -> (alg, lower-case hex)."""
    from evidencekit.errors import ValidationError

    alg_text, sep, hex_text = text.strip().rpartition(":")
    value = hex_text.strip().lower()
    by_length = HEX_ALGORITHMS.get(len(value))
    alg = normalise_algorithm(alg_text) if sep else by_length
    if not alg or by_length != alg or any(c not in "0123456789abcdef" for c in value):
        raise ValidationError("{option} {text!r}: give ALG:HEX with ALG md5, sha1 or sha256 and a hex "
                              "value of its length", option=option, text=text)
    return alg, value


class MultiHasher:
    """Feeds each chunk to every algorithm. ``hexdigests()`` returns {"md5": hex, ...}."""

    def __init__(self, algorithms: Iterable[str]):
        self._hashes = {name: hashlib.new(name) for name in algorithms}

    @property
    def hashes(self) -> dict[str, Any]:
        """The live hashlib objects by algorithm name (for continuing elsewhere)."""
        return self._hashes

    def update(self, data: bytes | memoryview) -> None:
        for h in self._hashes.values():
            h.update(data)

    def hexdigests(self) -> dict[str, str]:
        return {name: h.hexdigest() for name, h in self._hashes.items()}


class _Worker(threading.Thread):
    """Applies one hash object to every buffer view it is given, in order."""

    def __init__(self, name: str, hasher: Any):
        super().__init__(name=f"hash-{name}", daemon=True)
        self.hasher = hasher
        self.inbox: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
        self.done = threading.Semaphore(0)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (view := self.inbox.get()) is not None:
            try:
                if self.error is None:
                    self.hasher.update(view)
            except BaseException as err:  # reported by the feeding thread
                self.error = err
            finally:
                self.done.release()


class ParallelHasher:
    """One thread per algorithm over a ring of page-aligned buffers filled by the caller."""

    def __init__(self, hashes: dict[str, Any], block: int = BLOCK, ring: int = RING):
        self._workers = [_Worker(name, h) for name, h in hashes.items()]
        self._block = block
        self._buffers = [mmap.mmap(-1, block) for _ in range(ring)]
        self._views: list[memoryview | None] = [None] * ring

    def feed(self, stream: BinaryIO, progress: Progress | None = None) -> int:
        """Hash ``stream`` to its end; returns the number of bytes read."""
        for w in self._workers:
            w.start()
        total = issued = 0
        try:
            while True:
                slot = issued % len(self._buffers)
                if issued >= len(self._buffers):
                    self._wait_one()  # every worker is done with the buffer in this slot
                    self._release(slot)
                n = _fill(stream, self._buffers[slot], self._block)
                if not n:
                    break
                view = self._views[slot] = memoryview(self._buffers[slot])[:n]
                for w in self._workers:
                    w.inbox.put(view)
                issued += 1
                total += n
                if progress:
                    progress(n)
                if n < self._block:  # short read: end of stream
                    break
        finally:
            self._stop()
        return total

    def _wait_one(self) -> None:
        for w in self._workers:
            w.done.acquire()

    def _stop(self) -> None:
        for w in self._workers:
            w.inbox.put(None)
        for w in self._workers:
            w.join()
        for slot, buf in enumerate(self._buffers):
            self._release(slot)
            with contextlib.suppress(BufferError):  # a reader kept a view (a traceback): GC frees it
                buf.close()
        for w in self._workers:
            if w.error is not None:
                raise w.error

    def _release(self, slot: int) -> None:
        view, self._views[slot] = self._views[slot], None
        if view is not None:
            view.release()


def _fill(stream: BinaryIO, buf: mmap.mmap, size: int) -> int:
    """Fill ``buf`` from ``stream`` (``readinto`` when offered); returns bytes placed (0 at end)."""
    filled = 0
    readinto = getattr(stream, "readinto", None)
    with memoryview(buf) as view:
        while filled < size:
            with view[filled:size] as part:
                if readinto is not None:
                    n = readinto(part) or 0
                else:
                    data = stream.read(size - filled)
                    n = len(data) if data else 0
                    part[:n] = data[:n] if n else b""
            if not n:
                break
            filled += n
    return filled


def hash_stream(
    stream: BinaryIO,
    algorithms: Iterable[str],
    progress: Progress | None = None,
    *,
    threshold: int = THREAD_THRESHOLD,
) -> dict[str, str]:
    """Hash ``stream`` from its current position to its end.

    Reads sequentially up to ``threshold`` bytes; a longer stream is continued by
    :class:`ParallelHasher` with the same hash objects (``threshold=0`` goes parallel at once).
    """
    hasher = MultiHasher(algorithms)
    seen = 0
    while seen < threshold:
        chunk = stream.read(min(CHUNK, threshold - seen))
        if not chunk:
            return hasher.hexdigests()
        hasher.update(chunk)
        seen += len(chunk)
        if progress:
            progress(len(chunk))
    ParallelHasher(hasher.hashes).feed(stream, progress)
    return hasher.hexdigests()


def hash_file(path: str, algorithms: Iterable[str], progress: Progress | None = None) -> dict[str, str]:
    """Hash a regular file's bytes, opened read-only and unbuffered (``readinto`` straight into the ring)."""
    with open(path, "rb", buffering=0) as fh:
        return hash_stream(fh, algorithms, progress)  # type: ignore[arg-type]


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a regular file: exports, bundles, rule files, hash lists, built images."""
    return hash_file(os.fspath(path), ("sha256",))["sha256"]


def checksum_line(hexdigest: str, name: str) -> str:
    """One ``sha256sum`` line for the file ``name`` (no folder: it is checked from its own
    folder). A name with a backslash, newline or carriage return is escaped as GNU coreutils
    does it: the line starts with ``\\`` and those characters become ``\\\\``, ``\\n``, ``\\r``."""
    if not any(ch in name for ch in "\\\n\r"):
        return f"{hexdigest}  {name}\n"
    escaped = name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return f"\\{hexdigest}  {escaped}\n"


# --- acquisition-hash sidecars -------------------------------------------------------------
# Text written by acquisition tools next to an image: md5sum/sha*sum and BSD "MD5 (f) = h" lists,
# a bare hex value, FTK Imager ".txt" reports ("MD5 checksum:    h [: verified]"), Guymager ".info"
# files ("MD5 hash verified image : h"), ewfacquire/ewfverify logs ("MD5 hash calculated over
# data: h", "MD5 hash stored in file: h"), dc3dd logs ("   h (md5)", "[ok] h (md5)"; piecewise
# "h (md5), sectors a - b" lines are skipped) and dcfldd hash logs ("Total (md5): h"). The parsers
# read every line they recognise and tolerate spacing, tabs, case, CRLF and extra text.

_ALG = r"(?P<alg>MD5|SHA-?1|SHA-?256|SHA2-256)"
_HEX = r"(?P<hex>[0-9A-Fa-f]{64}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{32})(?![0-9A-Fa-f])"
_LABELLED = re.compile(rf"^\s*{_ALG}(?![0-9A-Za-z])(?P<label>[^:=\n]{{0,60}}?)\s*:\s*{_HEX}(?P<rest>.*)$", re.I)
_BSD = re.compile(rf"^\s*{_ALG}\s*\((?P<name>.+)\)\s*=\s*{_HEX}\s*$", re.I)
_GNU = re.compile(rf"^\\?{_HEX}[ \t]+\*?(?P<name>\S.*?)\s*$")
_BARE = re.compile(rf"^\s*{_HEX}\s*$")
_DC3DD = re.compile(rf"^\s*(?P<tag>\[[^]]*\])?\s*{_HEX}\s+\({_ALG}\)(?P<rest>.*)$", re.I)  # "   <h> (md5)"
_DCFLDD = re.compile(rf"^\s*Total\s*\({_ALG}\)\s*:\s*{_HEX}\s*$", re.I)  # "Total (md5): <h>"


@dataclass(frozen=True)
class SidecarHash:
    """One hash value found in a sidecar text, with where it came from."""

    algorithm: str  # md5 | sha1 | sha256
    value: str  # lower-case hex
    line: int  # 1-based line number in the sidecar
    label: str  # e.g. "md5sum line", "MD5 checksum", "MD5 hash verified image"
    filename: str | None = None  # the file the line names (md5sum/BSD lists); None: the image itself


def normalise_algorithm(name: str) -> str | None:
    """'SHA-256', 'sha2-256', 'SHA256' -> 'sha256'; 'MD5' -> 'md5'; unknown -> None."""
    key = name.lower().replace("-", "").replace("_", "")
    return {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "sha2256": "sha256"}.get(key)


def sidecar_tool(text: str) -> str:
    """Name the tool whose format ``text`` looks like (for human output and the record)."""
    low = text.lower()
    if "guymager" in low or "hash verified image" in low:
        return "Guymager info file"
    if "ftk" in low or "accessdata" in low or "[computed hashes]" in low or " checksum" in low:
        return "FTK Imager report"
    if "calculated over data" in low or "stored in file" in low or "ewfacquire" in low:
        return "libewf log"
    if "dc3dd" in low or "sectors in" in low:
        return "dc3dd log"
    if "total (" in low:
        return "dcfldd hash log"
    return "hash list"


def parse_hash_text(text: str) -> list[SidecarHash]:
    """Every distinct hash value ``text`` states, at its first line.

    Values given as '--', of a length no supported algorithm has, or of a length that disagrees
    with the algorithm named on the line are skipped. A value repeated (Guymager states it up to
    three times) is kept once per named file.
    """
    found: dict[tuple[str, str, str | None], SidecarHash] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        item = _parse_line(raw.strip("\ufeff").rstrip(), number)
        if item is not None:
            found.setdefault((item.algorithm, item.value, item.filename), item)
    return list(found.values())


def _parse_line(line: str, number: int) -> SidecarHash | None:
    if m := _DC3DD.match(line):
        if "sector" in m["rest"].lower():
            return None  # a piecewise hash of some sectors, not of the whole media
        tag = f" {m['tag']}" if m["tag"] else ""
        return _item(m, number, f"{m['alg']} hash line{tag}", None)
    if m := _DCFLDD.match(line):
        return _item(m, number, f"Total ({m['alg']})", None)
    if m := _BSD.match(line):
        return _item(m, number, f"{m['alg']} (name) = hash line", m["name"])
    if m := _LABELLED.match(line):
        label = f"{m['alg']}{m['label']}".strip()
        rest = m["rest"].strip(" :\t")
        return _item(m, number, f"{label} ({rest})" if rest else label, None)
    if m := _BARE.match(line):
        return _item(m, number, "bare hash", None)
    if m := _GNU.match(line):
        return _item(m, number, "checksum list line", m["name"])
    return None


def _item(m: re.Match[str], number: int, label: str, filename: str | None) -> SidecarHash | None:
    value = m["hex"].lower()
    by_length = HEX_ALGORITHMS[len(value)]
    named = normalise_algorithm(m["alg"]) if "alg" in m.groupdict() and m["alg"] else by_length
    if named != by_length:
        return None  # e.g. "SHA1 ...: <32 hex>": not a value of the algorithm named
    return SidecarHash(by_length, value, number, label, filename)
