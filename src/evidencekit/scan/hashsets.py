"""Hash sets (known-good, known-bad) stored for fast look-up at NSRL size.

A set lives under ``$EVIDENCEKIT_HOME/hashsets/<name>/``: ``manifest.json`` plus, per algorithm,
two files of the sorted, de-duplicated digests: ``<alg>.keys`` (the first 8 bytes of each digest
as little-endian uint64, so that byte order and numeric order agree) and ``<alg>.rest`` (the
remaining bytes, fixed width). Nothing is stored twice. A look-up memory-maps the keys and
binary-searches a whole batch at once (``numpy.searchsorted``), then compares the rest: a few
page reads per digest however big the set. Importing never holds the set in memory: digests
are spilled into 64 buckets by their first bits, and each bucket is sorted on its own.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from evidencekit import settings
from evidencekit._version import version
from evidencekit.errors import ValidationError
from evidencekit.hashing import sha256_file
from evidencekit.scan.hashlists import DIGEST_SIZES, Malformed, detect_format, read_hash_list

KINDS = ("known-good", "known-bad")
STORE_FORMAT = 1
BUCKET_BITS = 6
FLUSH_DIGESTS = 1 << 20
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def store_dir() -> Path:
    return settings.get().home / "hashsets"


def _to_rows(raw: bytes, width: int) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, width)


def _keys_of(rows: np.ndarray) -> np.ndarray:
    """First 8 bytes of each row as a native uint64 in big-endian (lexicographic) order."""
    return np.ascontiguousarray(rows[:, :8]).view(">u8").ravel().astype(np.uint64)


def sort_unique(rows: np.ndarray) -> np.ndarray:
    """Rows (digests) sorted bytewise, duplicates removed."""
    if len(rows) == 0:
        return rows
    width = rows.shape[1]
    padded = np.zeros((len(rows), (width + 7) // 8 * 8), dtype=np.uint8)
    padded[:, :width] = rows
    words = padded.view(">u8").astype(np.uint64)
    order = np.lexsort(tuple(words[:, i] for i in reversed(range(words.shape[1]))))
    rows = rows[order]
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = np.any(rows[1:] != rows[:-1], axis=1)
    return rows[keep]


class _Spill:
    """Buffers digests of one algorithm and spills them into bucket files by their first bits."""

    def __init__(self, work: Path, algorithm: str):
        self.work, self.algorithm, self.width = work, algorithm, DIGEST_SIZES[algorithm]
        self.buffer = bytearray()
        self.files: dict[int, BinaryIO] = {}

    def add(self, digest: bytes) -> None:
        self.buffer += digest
        if len(self.buffer) >= FLUSH_DIGESTS * self.width:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        rows = _to_rows(bytes(self.buffer), self.width)
        self.buffer.clear()
        buckets = rows[:, 0] >> (8 - BUCKET_BITS)
        order = np.argsort(buckets, kind="stable")
        rows, buckets = rows[order], buckets[order]
        bounds = np.searchsorted(buckets, np.arange((1 << BUCKET_BITS) + 1))
        for b in range(1 << BUCKET_BITS):
            lo, hi = int(bounds[b]), int(bounds[b + 1])
            if hi > lo:
                self._file(b).write(rows[lo:hi].tobytes())

    def _file(self, bucket: int) -> BinaryIO:
        if bucket not in self.files:
            self.files[bucket] = (self.work / f"{self.algorithm}.{bucket:03d}.spill").open("wb")
        return self.files[bucket]

    def finish(self, dest: Path) -> int:
        """Sort each bucket, write ``<alg>.keys`` and ``<alg>.rest`` into ``dest``; unique count."""
        self.flush()
        for fh in self.files.values():
            fh.close()
        total = 0
        with (dest / f"{self.algorithm}.keys").open("wb") as keys, (dest / f"{self.algorithm}.rest").open("wb") as rest:
            for b in sorted(self.files):
                spill = self.work / f"{self.algorithm}.{b:03d}.spill"
                rows = sort_unique(_to_rows(spill.read_bytes(), self.width))
                spill.unlink()
                keys.write(_keys_of(rows).astype("<u8").tobytes())
                rest.write(np.ascontiguousarray(rows[:, 8:]).tobytes())
                total += len(rows)
        return total


@dataclass
class ImportReport:
    """What an import did: the stored set's manifest and the malformed lines met."""

    manifest: dict[str, Any]
    malformed: Malformed




def check_name(name: str) -> None:
    if not _NAME_RE.match(name):
        raise ValidationError("hash set name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)",
                              name=name)


def _spill_all(path: Path, fmt: str, work: Path, bad: Malformed) -> dict[str, _Spill]:
    spills: dict[str, _Spill] = {}
    for algorithm, digest in read_hash_list(path, bad, fmt):
        spill = spills.get(algorithm)
        if spill is None:
            spill = spills[algorithm] = _Spill(work, algorithm)
        spill.add(digest)
    return spills


def _manifest(name: str, kind: str, description: str, fmt: str, path: Path, counts: dict[str, int],
              bad: Malformed, started: int) -> dict[str, Any]:
    return {
        "name": name, "kind": kind, "description": description, "format": fmt,
        "source": str(path.resolve()), "source_sha256": sha256_file(path), "source_size": path.stat().st_size,
        "counts": counts, "malformed_lines": bad.count, "malformed_first": bad.lines,
        "imported_ns": started, "import_seconds": round((time.time_ns() - started) / 1e9, 3),
        "evidencekit_version": version(), "store_format": STORE_FORMAT,
    }


def import_hash_set(name: str, source: str | Path, kind: str, *, description: str = "", fmt: str | None = None,
                    skip_malformed: bool = False, replace: bool = False, root: Path | None = None) -> ImportReport:
    """Read the hash list ``source`` and store it as hash set ``name`` of ``kind``.

    Malformed lines make it a ValidationError naming the lines, and nothing is stored, unless
    ``skip_malformed``: then the rest is stored and the malformed lines are kept in the manifest.
    """
    check_name(name)
    if kind not in KINDS:
        raise ValidationError("hash set kind {kind!r}: use one of {listing}", kind=kind,
                              listing=', '.join(KINDS))
    path = Path(source)
    if not path.is_file():
        raise ValidationError("{path}: hash list not found", path=path)
    root = root or store_dir()
    dest = root / name
    if dest.exists() and not replace:
        raise ValidationError("hash set {name!r} exists at {dest} (use --replace to import it again)",
                              name=name, dest=dest)
    root.mkdir(parents=True, exist_ok=True)
    fmt = fmt or detect_format(path)
    work = Path(tempfile.mkdtemp(dir=root, prefix=f".import-{name}-"))
    try:
        started = time.time_ns()
        bad = Malformed()
        spills = _spill_all(path, fmt, work, bad)
        if bad.count and not skip_malformed:
            raise ValidationError(bad.summary(path) + "; nothing imported (--skip-malformed imports the rest)")
        counts = {alg: spills[alg].finish(work) for alg in sorted(spills)}
        if not any(counts.values()):
            raise ValidationError("{path}: no MD5, SHA1 or SHA256 digests found ({format} format)", path=path, format=fmt)
        manifest = _manifest(name, kind, description, fmt, path, counts, bad, started)
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        if dest.exists():
            shutil.rmtree(dest)
        work.rename(dest)
        return ImportReport(manifest, bad)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


class HashSet:
    """An imported hash set, opened for look-ups (memory-mapped; cheap to open)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.manifest_bytes = (path / "manifest.json").read_bytes()
            self.manifest: dict[str, Any] = json.loads(self.manifest_bytes)
        except (OSError, ValueError) as err:
            raise ValidationError("{path}: not a hash set (manifest.json unreadable: {cause})",
                                  path=path, cause=err) from err
        self.name: str = self.manifest["name"]
        self.kind: str = self.manifest["kind"]
        self.counts: dict[str, int] = self.manifest["counts"]
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_bytes).hexdigest()

    def describe(self) -> dict[str, Any]:
        """Identification for a ledger entry: name, kind, counts, source and manifest hashes."""
        return {"name": self.name, "kind": self.kind, "counts": self.counts,
                "source_sha256": self.manifest["source_sha256"], "manifest_sha256": self.manifest_sha256}

    def _maps(self, algorithm: str) -> tuple[np.ndarray, np.ndarray]:
        if algorithm not in self._arrays:
            n, width = self.counts[algorithm], DIGEST_SIZES[algorithm]
            keys = np.memmap(self.path / f"{algorithm}.keys", dtype="<u8", mode="r", shape=(n,))
            rest = np.memmap(self.path / f"{algorithm}.rest", dtype=np.uint8, mode="r", shape=(n, width - 8))
            self._arrays[algorithm] = (keys, rest)
        return self._arrays[algorithm]

    def contains(self, algorithm: str, digests: Sequence[bytes]) -> np.ndarray:
        """Boolean array: which of ``digests`` (raw bytes of ``algorithm``) are in the set."""
        return self._contains_raw(algorithm, b"".join(digests), len(digests))

    def contains_hex(self, algorithm: str, digests: Sequence[str]) -> np.ndarray:
        """:meth:`contains` for hex digests (decoded in one call: the inventory holds hex)."""
        raw = bytes.fromhex("".join(digests))
        if len(raw) != len(digests) * DIGEST_SIZES[algorithm]:
            raise ValueError(f"not every digest is a {algorithm} digest")
        return self._contains_raw(algorithm, raw, len(digests))

    def _contains_raw(self, algorithm: str, raw: bytes, count: int) -> np.ndarray:
        if not count or not self.counts.get(algorithm):
            return np.zeros(count, dtype=bool)
        keys, rest = self._maps(algorithm)
        query = _to_rows(raw, DIGEST_SIZES[algorithm])
        qkeys = _keys_of(query)
        order = np.argsort(qkeys, kind="stable")  # probes in key order: neighbouring pages, warm cache
        idx = np.empty(len(qkeys), dtype=np.int64)
        idx[order] = np.searchsorted(keys, qkeys[order])
        idx = np.minimum(idx, len(keys) - 1)
        same_key = keys[idx] == qkeys
        hit = same_key & np.all(rest[idx] == query[:, 8:], axis=1)
        for i in np.nonzero(same_key & ~hit)[0]:  # 64-bit prefix shared by two digests: rare
            j = int(idx[i]) + 1
            while j < len(keys) and keys[j] == qkeys[i] and not hit[i]:
                hit[i] = bool(np.array_equal(rest[j], query[i, 8:]))
                j += 1
        return hit



def open_hash_set(name: str, root: Path | None = None) -> HashSet:
    """The imported set ``name``; ValidationError naming the store when there is none."""
    check_name(name)
    path = (root or store_dir()) / name
    if not (path / "manifest.json").is_file():
        raise ValidationError("hash set {name!r} not found in {folder} (import it with 'evidencekit hashset import')",
                          name=name, folder=path.parent)
    return HashSet(path)


def list_hash_sets(root: Path | None = None) -> list[HashSet]:
    """Every imported set, by name."""
    base = root or store_dir()
    if not base.is_dir():
        return []
    return [HashSet(p) for p in sorted(base.iterdir()) if (p / "manifest.json").is_file()]
