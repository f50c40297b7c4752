"""Whole-media verification: hash the decoded media once, compare with every reference found.

References come from the container (E01 stored hashes), from the caller (``--expect``) and from
sidecar files next to the evidence (md5sum/sha*sum lists, bare values, FTK Imager reports,
Guymager info files, libewf logs). A mismatch is a result, never an exception.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evidencekit._version import version
from evidencekit.errors import EvidenceError
from evidencekit.hashing import (
    ALGORITHMS,
    HEX_ALGORITHMS,
    Progress,
    hash_file,
    hash_stream,
    normalise_algorithm,
    parse_hash_text,
    parse_hash_value,
    sidecar_tool,
)
from evidencekit.models import iso_utc
from evidencekit.references import Check, IntegrityCheck, Reference, references_from  # noqa: F401 - re-exported

SIDECAR_EXTENSIONS = ("md5", "sha1", "sha256", "md5sum", "sha1sum", "sha256sum", "txt", "info", "log")
LIST_FILES = ("md5sums", "sha1sums", "sha256sums")  # folder lists: only lines naming our files count
LIST_LEVELS = 2  # folders above the evidence searched for list files
SIDECAR_MAX_BYTES = 4 << 20


@dataclass(frozen=True)
class VerifyResult:
    """What was hashed, the digests, every reference with its status, and the overall status."""

    evidence: str
    kind: str
    format_chain: tuple[str, ...]
    subject: str  # "decoded media" | "archive file" | "directory tree manifest"
    size: int | None  # bytes hashed (media/archive) or manifest files' total (directory)
    digests: dict[str, str]
    checks: tuple[Check, ...]
    status: str  # "match" | "mismatch" | "unverified"
    notes: tuple[str, ...] = ()
    file_digests: dict[str, dict[str, str]] = field(default_factory=dict)
    started: int = 0  # ns UTC
    finished: int = 0

    @property
    def exit_code(self) -> int:
        return {"match": 0, "mismatch": 1}.get(self.status, 2)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["format_chain"] = list(self.format_chain)
        out["notes"] = list(self.notes)
        out["started"], out["finished"] = iso_utc(self.started), iso_utc(self.finished)
        out["evidencekit_version"] = version()
        return out


# --- computing ----------------------------------------------------------------------------------


def media_digests(
    ev: Any, algorithms: Sequence[str] = ALGORITHMS, progress: Progress | None = None
) -> dict[str, str]:
    """Digests of what the evidence is: the decoded media, the archive file, or the tree manifest."""
    if ev.kind == "directory":
        return tree_digests(ev.path, algorithms, progress).digests
    if ev.kind in ("zip", "tar"):
        return _read_guarded(ev.path, lambda p: hash_file(ev.path, algorithms, p), progress, None)
    try:
        stream = ev.open_media()
    except (OSError, RuntimeError, ValueError) as err:
        raise EvidenceError("{path}: cannot open the decoded media: {cause}", path=ev.path,
                            cause=_one_line(err)) from err
    if stream is None:
        raise EvidenceError("{path}: has no single media to hash", path=ev.path)
    with stream:
        if stream.seekable():  # a cached dfvfs file object may sit where its last user left it
            stream.seek(0)
        return _read_guarded(ev.path, lambda p: hash_stream(stream, algorithms, p), progress, ev.media_size)


def _read_guarded(path: str, run: Any, progress: Progress | None, expected: int | None) -> dict[str, str]:
    """Run a hashing pass, turning read failures into one-line EvidenceErrors and checking the length."""
    done = [0]

    def count(n: int) -> None:
        done[0] += n
        if progress:
            progress(n)

    try:
        digests: dict[str, str] = run(count)
    except EvidenceError:
        raise
    except (OSError, EOFError, ValueError, RuntimeError) as err:
        raise EvidenceError("{path}: reading failed after {done:,} bytes: {cause}", path=path,
                            done=done[0], cause=_one_line(err)) from err
    if expected is not None and done[0] != expected:
        raise EvidenceError("{path}: decoded media ended after {done:,} of {expected:,} bytes (truncated?)",
                            path=path, done=done[0], expected=expected)
    return digests


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


@dataclass(frozen=True)
class TreeDigest:
    digests: dict[str, str]  # of the manifest text (UTF-8)
    manifest: str
    files: int  # regular files listed
    size: int  # their total bytes
    skipped: int  # symbolic links and special files not covered


def tree_digests(
    root: str, algorithms: Sequence[str] = ALGORITHMS, progress: Progress | None = None
) -> TreeDigest:
    """Digests of a folder's canonical manifest.

    The manifest is exactly what ``find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0
    sha256sum`` prints in the folder: one ``<sha256>  <relative path>`` line per regular file,
    sorted by the path's bytes, GNU-escaped when a name holds a backslash, CR or LF. Symbolic
    links, empty folders and special files are not in it (``skipped`` counts them).
    """
    files: list[tuple[bytes, str]] = []
    skipped = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        skipped += sum(1 for d in dirnames if os.path.islink(os.path.join(dirpath, d)))
        for name in filenames:
            full = os.path.join(dirpath, name)
            if os.path.isfile(full) and not os.path.islink(full):
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                files.append((os.fsencode(rel), full))
            else:
                skipped += 1
    files.sort()
    lines = []
    for rel_bytes, full in files:
        digest = _read_guarded(full, lambda p, f=full: hash_file(f, ("sha256",), p), progress, None)["sha256"]
        lines.append(_gnu_line(digest, os.fsdecode(rel_bytes)))
    manifest = "".join(lines)
    digests = hash_stream(_BytesReader(manifest.encode("utf-8", "surrogateescape")), algorithms)  # type: ignore[arg-type]
    size = sum(os.path.getsize(full) for _, full in files)
    return TreeDigest(digests, manifest, len(files), size, skipped)


def _gnu_line(digest: str, name: str) -> str:
    if any(c in name for c in "\\\n\r"):
        escaped = name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{digest}  {escaped}\n"
    return f"{digest}  {name}\n"


class _BytesReader:
    def __init__(self, data: bytes):
        self._data, self._pos = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        out, self._pos = self._data[self._pos : end], min(end, len(self._data))
        return out


# --- references ---------------------------------------------------------------------------------


def parse_expect(values: Iterable[str]) -> list[Reference]:
    """--expect values -> references."""
    refs = []
    for raw in values:
        alg, value = parse_hash_value(raw)
        refs.append(Reference(alg, value, "expect", "--expect", f"--expect {alg}"))
    return refs


def container_references(ev: Any) -> list[Reference]:
    """Hashes the acquisition container stores (E01 MD5/SHA1/SHA256)."""
    info = getattr(ev, "acquisition", None)
    if info is None:
        return []
    outer = ("gzip", "bzip2", "xz", "tar")  # an E01 shipped in a tar: the E01 stores the hashes
    kind = next((k for k in ev.format_chain if k not in outer), "container").upper()
    refs = []
    for name, value in sorted(info.stored_hashes.items()):
        alg = normalise_algorithm(name)
        if alg and value and HEX_ALGORITHMS.get(len(value)) == alg:
            refs.append(Reference(alg, value.lower(), "container", "container", f"{kind} stored {alg.upper()}"))
    return refs


def sidecar_paths(ev: Any) -> list[Path]:
    """Files that may state the evidence's hashes, sorted: sidecars named after it in its folder,
    and the lists MD5SUMS/SHA1SUMS/SHA256SUMS there and up to ``LIST_LEVELS`` folders above."""
    target = Path(ev.path)
    own = {Path(p).name.casefold() for p in [ev.path, *getattr(ev, "segment_files", [])]}
    named = [f"{base}.{ext}" for base in _base_names(target.name) for ext in SIDECAR_EXTENSIONS]
    found: set[Path] = set()
    for level, folder in enumerate([target.parent, *target.parent.parents][: LIST_LEVELS + 1]):
        wanted = [*named, *LIST_FILES] if level == 0 else list(LIST_FILES)
        present = _listing(folder)
        found |= {folder / present[w.casefold()] for w in wanted if w.casefold() in present and w.casefold() not in own}
    return sorted(p for p in found if p.is_file())


def _listing(folder: Path) -> dict[str, str]:
    try:
        return {name.casefold(): name for name in os.listdir(folder)}
    except OSError:
        return {}


def _base_names(name: str) -> list[str]:
    """'img.raw.gz' -> ['img.raw.gz', 'img.raw', 'img']; 'img.E01' -> ['img.E01', 'img']."""
    bases = [name]
    while "." in bases[-1].lstrip("."):
        bases.append(bases[-1].rsplit(".", 1)[0])
    return bases


def sidecar_references(ev: Any, notes: list[str]) -> list[Reference]:
    """References from every sidecar file; lines naming other files are counted in a note."""
    refs: list[Reference] = []
    for path in sidecar_paths(ev):
        text = _read_text(path, notes)
        if text is None:
            continue
        tool, items, other = sidecar_tool(text), parse_hash_text(text), 0
        for item in items:
            subject = _named_subject(ev, path, item.filename) if item.filename is not None else None
            if item.filename is not None and subject is None:
                other += 1
                continue
            desc = f"{tool}: {item.label}" + (f" of {Path(subject).name}" if subject else "")
            refs.append(Reference(item.algorithm, item.value, "sidecar", f"{path}:{item.line}", desc, subject))
        if other:
            notes.append(f"{path}: {other} line(s) name files that are not part of this evidence: ignored")
        if not items and path.name.casefold() not in LIST_FILES:
            notes.append(f"{path}: no hash value recognised")
    return refs


def _named_subject(ev: Any, sidecar: Path, name: str) -> str | None:
    """The evidence file a list line names, or None.

    A relative name is resolved from the list's folder; in the evidence's own folder a name is
    also matched by its last component, case-insensitively (lists written on Windows name
    ``E:\\case\\disk.001``).
    """
    if ev.kind == "directory":
        return None
    files = [str(p) for p in [ev.path, *getattr(ev, "segment_files", [])]]
    rel = name.lstrip("*").replace("\\", "/")
    if not rel.startswith("/") and not (len(rel) > 1 and rel[1] == ":"):
        resolved = os.path.normpath(os.path.join(sidecar.parent, rel))
        for f in files:
            if os.path.normpath(os.path.abspath(f)) == resolved:
                return f
    if sidecar.parent == Path(ev.path).parent:
        last = rel.rsplit("/", 1)[-1].casefold()
        return next((f for f in files if Path(f).name.casefold() == last), None)
    return None


def _read_text(path: Path, notes: list[str]) -> str | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(SIDECAR_MAX_BYTES)
    except OSError as err:
        notes.append(f"{path}: unreadable ({err.strerror or err})")
        return None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


# --- comparing ----------------------------------------------------------------------------------


def verify_evidence(
    ev: Any, expect: Iterable[str] = (), progress: Progress | None = None, sidecars: bool = True
) -> VerifyResult:
    """Hash the evidence once and check it against the container, ``expect`` and sidecar references."""
    started = time.time_ns()
    notes: list[str] = []
    refs = container_references(ev) + parse_expect(expect)
    if sidecars:
        refs += sidecar_references(ev, notes)
    size, digests = _primary_digests(ev, progress, notes)
    file_digests = _file_digests(ev, refs, digests)
    checks = []
    for ref in refs:
        computed = (file_digests[ref.subject] if ref.subject else digests)[ref.algorithm]
        checks.append(Check(ref, computed, "match" if computed == ref.value else "mismatch"))
    status = "unverified" if not checks else "mismatch" if any(c.status == "mismatch" for c in checks) else "match"
    return VerifyResult(
        evidence=ev.path, kind=ev.kind, format_chain=tuple(ev.format_chain), subject=_subject(ev),
        size=size, digests=digests, checks=tuple(checks), status=status, notes=tuple(notes),
        file_digests={k: v for k, v in file_digests.items() if k != ev.path or not media_is_file(ev)},
        started=started, finished=time.time_ns(),
    )


def _primary_digests(ev: Any, progress: Progress | None, notes: list[str]) -> tuple[int | None, dict[str, str]]:
    if ev.kind != "directory":
        size = ev.media_size if ev.kind == "disk_image" else os.path.getsize(ev.path)
        return size, media_digests(ev, ALGORITHMS, progress)
    tree = tree_digests(ev.path, ALGORITHMS, progress)
    notes.append(f"directory tree manifest of {tree.files} regular files ({tree.skipped} links or special files not covered)")
    return tree.size, tree.digests


def _file_digests(ev: Any, refs: list[Reference], media: dict[str, str]) -> dict[str, dict[str, str]]:
    """Digests of the evidence files that references name (the media digests when they are the same bytes)."""
    out: dict[str, dict[str, str]] = {}
    for subject in sorted({r.subject for r in refs if r.subject}):
        if subject == ev.path and media_is_file(ev):
            out[subject] = media
        else:
            out[subject] = _read_guarded(subject, lambda p, s=subject: hash_file(s, ALGORITHMS, p), None, None)
    return out


def media_is_file(ev: Any) -> bool:
    """True when the hashed bytes are the evidence file itself (raw single file, zip, tar)."""
    if ev.kind in ("zip", "tar"):
        return True
    return ev.kind == "disk_image" and list(ev.format_chain[:1]) == ["raw"] and len(ev.segment_files) <= 1


def _subject(ev: Any) -> str:
    return {"directory": "directory tree manifest", "zip": "archive file", "tar": "archive file"}.get(ev.kind, "decoded media")
