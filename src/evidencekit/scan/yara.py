"""YARA rules: compile a file or folder, scan buffers and streams in overlapping chunks.

Rules compile from one ``.yar``/``.yara`` file or every such file under a folder (each file its
own namespace, named by its path relative to the folder). Every file is compiled on its own first
so that *all* syntax errors are reported, each with file and line; if any fails nothing is scanned.
Included files are read through ``yara_includes.IncludeReader``: each is hashed with the rules
and named in the ledger, and one outside the rules folder is refused unless allowed.

Files up to ``whole_limit`` bytes are scanned in one buffer, so conditions on ``filesize`` and
absolute offsets mean what the rule author meant. Larger files are streamed in chunks of
``chunk_size`` bytes that overlap by ``overlap`` bytes (at least the longest literal or hex
string of the rules), offsets are made absolute and matches found twice in an overlap are kept
once. Rule externals ``filename``, ``filepath``, ``extension`` and ``filetype`` are set per file,
as Loki/THOR-style rule sets expect.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import yara

from evidencekit.errors import ValidationError
from evidencekit.scan.yara_includes import IncludeReader

RULE_SUFFIXES = (".yar", ".yara")
EXTERNALS = {"filename": "", "filepath": "", "extension": "", "filetype": ""}
MATCH_DATA_BYTES = 64  # bytes of matched data kept per string hit (hex in reports)
MAX_HITS_PER_STRING = 100  # offsets kept per string of a match; more are counted in a warning
WHOLE_LIMIT = 64 << 20
CHUNK_SIZE = 16 << 20
MIN_OVERLAP = 1 << 20
_ERROR_RE = re.compile(r"^(?P<file>.*)\((?P<line>\d+)\): (?P<msg>.*)$")
_TEXT_STRING_RE = re.compile(r'^\s*\$\w*\s*=\s*"((?:[^"\\]|\\.)*)"(.*)$', re.M)
_HEX_STRING_RE = re.compile(r"^\s*\$\w*\s*=\s*\{([^}]*)\}", re.M)


@dataclass(frozen=True)
class StringHit:
    """One occurrence of a rule string: identifier (``$s1``), absolute offset, length, data head."""

    identifier: str
    offset: int
    length: int
    data: bytes

    def to_dict(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "offset": self.offset, "length": self.length,
                "data_hex": self.data.hex()}


@dataclass(frozen=True)
class YaraMatch:
    """A rule that matched one file's content."""

    rule: str
    namespace: str
    tags: tuple[str, ...]
    meta: dict[str, Any]
    strings: tuple[StringHit, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "namespace": self.namespace, "tags": list(self.tags),
                "meta": self.meta, "strings": [s.to_dict() for s in self.strings]}


@dataclass
class ScanOutcome:
    """Matches of one file plus what stopped or limited its scan (recorded as warnings)."""

    matches: list[YaraMatch] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    scanned_bytes: int = 0


@dataclass(frozen=True)
class RuleSet:
    """Compiled rules plus what identifies them in the custody record."""

    rules: yara.Rules
    source: str
    files: tuple[tuple[str, str], ...]  # (path relative to source, sha256)
    sha256: str
    rule_count: int
    overlap: int
    longest: int
    included: tuple[tuple[str, str], ...] = ()  # (path relative to the rules folder or absolute, sha256)

    def describe(self) -> dict[str, Any]:
        out = {"source": self.source, "sha256": self.sha256, "rule_count": self.rule_count,
               "files": [{"path": p, "sha256": h} for p, h in self.files],
               "yara_version": yara.YARA_VERSION}
        if self.included:
            out["included"] = [{"path": p, "sha256": h} for p, h in self.included]
        return out


def rule_files(path: Path) -> list[Path]:
    """The rule files at ``path``: the file itself, or every .yar/.yara under a folder, sorted."""
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in RULE_SUFFIXES)
        if found:
            return found
        raise ValidationError("{path}: no .yar or .yara rule files in this folder", path=path)
    raise ValidationError("{path}: rules not found", path=path)


def _namespace(root: Path, file: Path) -> str:
    if root.is_file():
        return "default"
    return file.relative_to(root).with_suffix("").as_posix()


def _error_line(err: Exception, file: Path) -> str:
    text = str(err)
    found = _ERROR_RE.match(text)
    if found:
        line = found["line"]
        if line == "0":  # yara's line for an error at the end of the file
            line = f"{len(Path(found['file']).read_bytes().splitlines())} (end of file)"
        return f"{found['file']} line {line}: {found['msg']}"
    return f"{file}: {text}"


def _check_each(files: list[Path], includes: IncludeReader) -> None:
    errors = []
    for file in files:
        seen = len(includes.problems)
        try:
            yara.compile(filepath=str(file), externals=EXTERNALS, include_callback=includes)
        except yara.SyntaxError as err:
            errors.append("; ".join(includes.problems[seen:]) or _error_line(err, file))
        except yara.Error as err:
            errors.append(f"{file}: {err}")
        else:
            errors += includes.problems[seen:]
    if errors:
        raise ValidationError("YARA rules do not compile, nothing scanned: " + "; ".join(errors))


def longest_string(sources: Iterable[str]) -> int:
    """Upper estimate of the longest literal or hex string (wide doubles a text string)."""
    longest = 0
    for text in sources:
        for lit, mods in _TEXT_STRING_RE.findall(text):
            n = len(lit.encode("utf-8", "replace")) * (2 if "wide" in mods else 1)
            longest = max(longest, n)
        for body in _HEX_STRING_RE.findall(text):
            jumps = sum(int(x) for x in re.findall(r"-\s*(\d+)\s*\]", body) + re.findall(r"\[\s*(\d+)\s*\]", body))
            plain = re.sub(r"\[[^\]]*\]", " ", body)
            longest = max(longest, len(re.findall(r"[0-9A-Fa-f?~]{2}", plain)) + jumps)
    return longest


def compile_rules(path: str | Path, allow_outside_includes: bool = False) -> RuleSet:
    """Compile the rules at ``path`` (file or folder); ValidationError naming file and line.

    The rules hash covers every file the compiler read, included ones too (``include "..."``);
    an include outside the rules folder (the folder, or a single file's folder) is refused unless
    ``allow_outside_includes``.
    """
    root = Path(path).resolve()
    files = rule_files(root)
    includes = IncludeReader(root.parent if root.is_file() else root, allow_outside_includes)
    _check_each(files, includes)
    includes = IncludeReader(includes.folder, allow_outside_includes)  # what the real compile reads
    filepaths = {_namespace(root, f): str(f) for f in files}
    try:
        rules = yara.compile(filepaths=filepaths, externals=EXTERNALS, include_callback=includes)
    except yara.Error as err:
        why = "; ".join(includes.problems) or _error_line(err, root)
        raise ValidationError("YARA rules do not compile, nothing scanned: {why}", why=why) from err
    if includes.problems:
        raise ValidationError("YARA rules do not compile, nothing scanned: " + "; ".join(includes.problems))
    rule_count = sum(1 for _ in rules)  # once: a yara.Rules is its own iterator
    if not rule_count:  # scanning with no rule would report "no match" for everything
        raise ValidationError("{root}: holds no YARA rule (empty, or only comments and imports): nothing "
                              "scanned", root=root)
    digests = []
    for f in files:
        rel = f.name if root.is_file() else f.relative_to(root).as_posix()
        digests.append((rel, hashlib.sha256(f.read_bytes()).hexdigest()))
    included = tuple(includes.manifest_names())
    manifest = "".join(f"{rel}\0{digest}\n" for rel, digest in digests)
    manifest += "".join(f"include\0{rel}\0{digest}\n" for rel, digest in included)  # none: the hash as before
    sources = [f.read_text(errors="replace") for f in files] + [d.decode() for d in includes.read.values()]
    longest = longest_string(sources)
    return RuleSet(rules, str(root), tuple(digests), hashlib.sha256(manifest.encode()).hexdigest(),
                   rule_count, max(MIN_OVERLAP, 2 * longest), longest, included)


def externals_for(path: str, filetype: str = "") -> dict[str, str]:
    """Per-file values of the externals every rule set is compiled with."""
    name = path.rsplit("/", 1)[-1]
    ext = name.rpartition(".")[2].lower() if "." in name.strip(".") else ""
    return {"filename": name, "filepath": path, "extension": ext, "filetype": filetype}


def _convert(raw: Any, base: int, notes: list[str]) -> YaraMatch:
    hits = []
    for string in raw.strings:
        for inst in string.instances[:MAX_HITS_PER_STRING]:
            hits.append(StringHit(string.identifier, base + inst.offset, inst.matched_length,
                                  bytes(inst.matched_data[:MATCH_DATA_BYTES])))
        if len(string.instances) > MAX_HITS_PER_STRING:
            notes.append(f"yara: {raw.namespace}:{raw.rule} {string.identifier} matched {len(string.instances)} "
                         f"times at offsets from {base}; the first {MAX_HITS_PER_STRING} are stored")
    return YaraMatch(raw.rule, raw.namespace, tuple(raw.tags), dict(raw.meta), tuple(hits))


def merge_matches(found: Iterable[YaraMatch]) -> list[YaraMatch]:
    """Join the per-chunk matches of one file: one match per rule, each string hit once."""
    merged: dict[tuple[str, str], YaraMatch] = {}
    for m in found:
        key = (m.namespace, m.rule)
        prev = merged.get(key)
        strings = m.strings if prev is None else prev.strings + m.strings
        unique = sorted({(s.identifier, s.offset): s for s in strings}.values(), key=lambda s: (s.offset, s.identifier))
        merged[key] = YaraMatch(m.rule, m.namespace, m.tags, m.meta, _capped(unique))
    return list(merged.values())


def _capped(hits: list[StringHit]) -> tuple[StringHit, ...]:
    """The first MAX_HITS_PER_STRING hits of each string identifier, order kept."""
    kept: dict[str, int] = {}
    out = []
    for hit in hits:
        kept[hit.identifier] = kept.get(hit.identifier, 0) + 1
        if kept[hit.identifier] <= MAX_HITS_PER_STRING:
            out.append(hit)
    return tuple(out)


class YaraScanner:
    """Scans file contents with one :class:`RuleSet` under a per-file time-out and size limit.

    ``timeout`` is seconds per file (all chunks together); ``max_size`` skips larger files. Both
    outcomes, and unreadable content, are warnings of the file's :class:`ScanOutcome`, never
    exceptions: the scan of the other files goes on.
    """

    def __init__(self, ruleset: RuleSet, timeout: int = 60, max_size: int | None = None,
                 whole_limit: int = WHOLE_LIMIT, chunk_size: int = CHUNK_SIZE, overlap: int | None = None):
        self.ruleset = ruleset
        self.timeout = timeout
        self.max_size = max_size
        self.whole_limit = whole_limit
        self.chunk_size = chunk_size
        self.overlap = ruleset.overlap if overlap is None else overlap
        if self.overlap < ruleset.longest:
            raise ValidationError("{source}: chunk overlap {overlap} is shorter than the longest rule "
                                  "string ({longest} bytes)", source=ruleset.source,
                                  overlap=self.overlap, longest=ruleset.longest)

    def parameters(self) -> dict[str, Any]:
        """The settings that shape results, for the ledger entry."""
        return {"timeout_s": self.timeout, "max_size": self.max_size, "whole_limit": self.whole_limit,
                "chunk_size": self.chunk_size, "overlap": self.overlap}

    def _match(self, data: bytes, externals: dict[str, str], deadline: float, notes: list[str]) -> list[Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise yara.TimeoutError("time-out")

        def warned(kind: int, what: Any) -> int:
            if kind == yara.CALLBACK_TOO_MANY_MATCHES:
                notes.append(f"yara: {what.namespace}:{what.rule} {what.string} has more matches than YARA's "
                             "limit; the rule was evaluated on the first ones")
            return yara.CALLBACK_CONTINUE

        return self.ruleset.rules.match(data=data, externals=externals, timeout=max(1, int(remaining + 0.999)),
                                        warnings_callback=warned)

    def scan_bytes(self, data: bytes, path: str = "", filetype: str = "") -> ScanOutcome:
        """Scan an in-memory buffer holding a whole file."""
        out = ScanOutcome(scanned_bytes=len(data))
        if self.max_size is not None and len(data) > self.max_size:
            out.warnings.append(f"yara: not scanned, {len(data)} bytes exceed the size limit {self.max_size}")
            out.scanned_bytes = 0
            return out
        try:
            raw = self._match(data, externals_for(path, filetype), time.monotonic() + self.timeout, out.warnings)
        except yara.TimeoutError:
            out.warnings.append(f"yara: time-out after {self.timeout} s, no result for this file")
            return out
        except yara.Error as err:
            out.warnings.append(f"yara: scan failed: {err}")
            return out
        out.matches = merge_matches([_convert(m, 0, out.warnings) for m in raw])
        return out

    def scan_stream(self, stream: BinaryIO, size: int | None, path: str = "", filetype: str = "") -> ScanOutcome:
        """Scan a content reader from its current position; large files in overlapping chunks."""
        if size is not None and self.max_size is not None and size > self.max_size:
            return ScanOutcome(warnings=[f"yara: not scanned, {size} bytes exceed the size limit {self.max_size}"])
        if size is not None and size <= self.whole_limit:
            try:
                data = stream.read(size) if size else b""
            except Exception as err:  # any reader failure is a recorded warning, not a stop
                return ScanOutcome(warnings=[f"yara: content unreadable: {err}"])
            return self.scan_bytes(data, path, filetype)
        return self._scan_chunks(stream, externals_for(path, filetype))

    def _scan_chunks(self, stream: BinaryIO, externals: dict[str, str]) -> ScanOutcome:
        out = ScanOutcome()
        found: list[YaraMatch] = []
        deadline = time.monotonic() + self.timeout
        base, tail = 0, b""
        while True:
            try:
                piece = stream.read(self.chunk_size)
            except Exception as err:  # keep what was found before the unreadable part
                out.warnings.append(f"yara: content unreadable at offset {base + len(tail)}: {err}")
                break
            if not piece and (tail or out.scanned_bytes):
                break
            buf = tail + piece
            try:
                found.extend(_convert(m, base, out.warnings) for m in self._match(buf, externals, deadline, out.warnings))
            except yara.TimeoutError:
                out.warnings.append(f"yara: time-out after {self.timeout} s at offset {base}, later content not scanned")
                break
            out.scanned_bytes += len(piece)
            if len(piece) < self.chunk_size:
                break
            keep = min(self.overlap, len(buf))
            base, tail = base + len(buf) - keep, buf[-keep:]
        out.matches = merge_matches(found)
        return out
