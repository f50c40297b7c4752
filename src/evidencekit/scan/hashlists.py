"""Readers of hash lists: plain MD5/SHA1/SHA256 lists, CSV with a header, hashdeep/md5deep, NSRL RDS
(SQLite and CSV). Text lists may start with a UTF-8 byte order mark and end lines with CRLF (as
Windows tools write them).

Each reader yields ``(algorithm, raw digest)`` pairs and reports malformed lines through a
:class:`Malformed` collector (line numbers are 1-based lines of the file). :func:`read_hash_list`
detects the format from the file's first bytes.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from evidencekit.errors import ValidationError

ALGORITHM_BY_HEX_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
DIGEST_SIZES = {"md5": 16, "sha1": 20, "sha256": 32}
NSRL_CSV_COLUMNS = {"SHA-1": "sha1", "MD5": "md5", "SHA-256": "sha256"}
_TEXT = "utf-8-sig"  # UTF-8, with or without a byte order mark
_SPLIT = re.compile(r"[\s,;]")
KEEP_LINES = 20
_HEX = re.compile(r"[0-9a-f]+")


@dataclass
class Malformed:
    """Malformed lines met while reading: their count and the first few (line number, reason)."""

    count: int = 0
    lines: list[tuple[int, str]] = field(default_factory=list)
    unit: str = "line"  # "row" for SQLite releases (rowid)

    def add(self, line_no: int, reason: str) -> None:
        self.count += 1
        if len(self.lines) < KEEP_LINES:
            self.lines.append((line_no, reason))

    def summary(self, path: Path) -> str:
        shown = "; ".join(f"{self.unit} {n}: {why}" for n, why in self.lines[:5])
        more = f" ({self.count} malformed {self.unit}s in all)" if self.count > 5 else ""
        return f"{path}: {shown}{more}"


def _digest(token: str) -> tuple[str, bytes] | None:
    algorithm = ALGORITHM_BY_HEX_LENGTH.get(len(token))
    if algorithm is None or not _HEX.fullmatch(token):  # fromhex alone takes "00 11 ..." as fewer bytes
        return None
    return algorithm, bytes.fromhex(token)


def _show(text: str) -> str:
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


def detect_format(path: Path) -> str:
    """``nsrl-sqlite``, ``nsrl-csv``, ``hashdeep``, ``csv`` or ``plain`` from the first bytes of ``path``."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as err:
        raise ValidationError("{path}: cannot read hash list: {cause}", path=path, cause=err.strerror) from err
    if head.startswith(b"SQLite format 3\x00"):
        return "nsrl-sqlite"
    first = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").strip()
    if first.startswith(b"%%%% HASHDEEP"):
        return "hashdeep"
    if b'"SHA-1"' in first and b'"MD5"' in first:
        return "nsrl-csv"
    if _csv_hash_columns(first.decode("utf-8", "replace")):
        return "csv"
    return "plain"


def _column_algorithm(name: str) -> str | None:
    """``MD5``, ``SHA-256``, ``sha1 hash``, ``SHA256Hash`` -> the algorithm; anything else None."""
    key = re.sub(r"[\s_\-\"']|hash|digest", "", name.lower())
    return key if key in DIGEST_SIZES else None


def _delimiter(header: str) -> str:
    return max(",;\t", key=header.count)


def _csv_hash_columns(header: str) -> list[tuple[int, str]]:
    """(column index, algorithm) of a CSV header line naming hash columns; [] when it is not one."""
    if not any(sep in header for sep in ",;\t"):
        return []
    names = next(csv.reader([header], delimiter=_delimiter(header)), [])
    return [(i, alg) for i, name in enumerate(names) if (alg := _column_algorithm(name))]


def read_csv(path: Path, bad: Malformed) -> Iterator[tuple[str, bytes]]:
    """CSV (``,``, ``;`` or tab separated) whose header names its hash columns (``md5``, ``SHA-256``, ...)."""
    with path.open("r", encoding=_TEXT, errors="replace", newline="") as fh:
        header = fh.readline()
        wanted = _csv_hash_columns(header.strip())
        reader = csv.reader(fh, delimiter=_delimiter(header))
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line_no = reader.line_num + 1
            if len(row) <= max(i for i, _ in wanted):
                bad.add(line_no, f"{len(row)} fields where the header names a hash in column {max(i for i, _ in wanted) + 1}")
                continue
            yield from _nsrl_fields(row, wanted, line_no, bad)


def read_plain(path: Path, bad: Malformed) -> Iterator[tuple[str, bytes]]:
    """One digest per line, optionally followed by a file name (md5sum/md5deep style); # comments."""
    with path.open("r", encoding=_TEXT, errors="replace", newline=None) as fh:
        for line_no, line in enumerate(fh, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            token = _SPLIT.split(text, 1)[0].strip("\"'").lstrip("\\").lower()
            found = _digest(token)
            if found is None:
                bad.add(line_no, f"{_show(token)} is not an MD5, SHA1 or SHA256 hex digest")
                continue
            yield found


def _hashdeep_columns(header: str) -> list[str]:
    return [c.strip() for c in header[len("%%%%"):].strip().split(",")]


def read_hashdeep(path: Path, bad: Malformed) -> Iterator[tuple[str, bytes]]:
    """hashdeep files: ``%%%% size,md5,sha256,filename`` header, CSV rows, ``##`` comments."""
    columns: list[str] = []
    with path.open("r", encoding=_TEXT, errors="replace", newline="") as fh:
        for line_no, line in enumerate(fh, 1):
            text = line.rstrip("\r\n")
            if text.startswith("%%%% size") or text.startswith("%%%% md5") or text.startswith("%%%% sha"):
                columns = _hashdeep_columns(text)
                continue
            if not text or text.startswith("%%%%") or text.startswith("##"):
                continue
            fields = text.split(",", len(columns) - 1) if columns else []
            if len(fields) < len(columns) or not columns:
                bad.add(line_no, f"{_show(text)} does not have the {len(columns)} columns of the header")
                continue
            yield from _hashdeep_row(columns, fields, line_no, bad)


def _hashdeep_row(columns: list[str], fields: list[str], line_no: int, bad: Malformed) -> Iterator[tuple[str, bytes]]:
    for name, value in zip(columns, fields, strict=False):
        if name not in DIGEST_SIZES:
            continue
        found = _digest(value.strip().lower())
        if found is None or found[0] != name:
            bad.add(line_no, f"{_show(value)} is not a {name} hex digest")
            return
        yield found


def read_nsrl_csv(path: Path, bad: Malformed) -> Iterator[tuple[str, bytes]]:
    """Legacy NSRL RDS ``NSRLFile.txt``: quoted CSV with ``"SHA-1","MD5",...`` header."""
    with path.open("r", encoding=_TEXT, errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, [])
            wanted = [(i, NSRL_CSV_COLUMNS[name]) for i, name in enumerate(header) if name in NSRL_CSV_COLUMNS]
            for row in reader:
                line_no = reader.line_num
                if len(row) < len(header):
                    bad.add(line_no, f"{len(row)} fields where the header has {len(header)}")
                    continue
                yield from _nsrl_fields(row, wanted, line_no, bad)
        except csv.Error as err:  # e.g. a field over csv's size limit: not an NSRL file
            raise ValidationError("{path}: line {line_num}: not readable as NSRL CSV ({cause})",
                                  path=path, line_num=reader.line_num, cause=err) from None


def _nsrl_fields(row: list[str], wanted: list[tuple[int, str]], line_no: int, bad: Malformed) -> Iterator[tuple[str, bytes]]:
    for index, algorithm in wanted:
        value = row[index].strip().lower()
        if not value:
            continue
        found = _digest(value)
        if found is None or found[0] != algorithm:
            bad.add(line_no, f"{_show(value)} is not a {algorithm} hex digest")
            return
        yield found


def read_nsrl_sqlite(path: Path, bad: Malformed) -> Iterator[tuple[str, bytes]]:
    """Modern NSRL RDS (v3) SQLite release: table ``FILE`` (or ``DISTINCT_HASH``) with sha256/sha1/md5."""
    uri = f"file:{path}?mode=ro&immutable=1"
    try:
        db = sqlite3.connect(uri, uri=True)
        tables = {r[0].upper(): r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view')")}
    except sqlite3.Error as err:
        raise ValidationError("{path}: not a readable SQLite NSRL RDS: {cause}", path=path, cause=err) from err
    table = tables.get("DISTINCT_HASH") or tables.get("FILE")
    if table is None:
        raise ValidationError("{path}: SQLite file has no FILE or DISTINCT_HASH table (not an NSRL RDS v3 "
                              "release)", path=path)
    cols = {r[1].lower(): r[1] for r in db.execute(f'PRAGMA table_info("{table}")')}
    present = [a for a in ("sha256", "sha1", "md5") if a in cols]
    if not present:
        raise ValidationError("{path}: table {table} has no sha256, sha1 or md5 column", path=path,
                              table=table)
    bad.unit = "row"
    query = f'SELECT rowid, {", ".join(cols[a] for a in present)} FROM "{table}"'
    try:
        for row in db.execute(query):
            yield from _nsrl_fields([str(v or "") for v in row[1:]], list(enumerate(present)), row[0], bad)
    finally:
        db.close()


READERS = {"plain": read_plain, "csv": read_csv, "hashdeep": read_hashdeep, "nsrl-csv": read_nsrl_csv, "nsrl-sqlite": read_nsrl_sqlite}


def read_hash_list(path: Path, bad: Malformed, fmt: str | None = None) -> Iterator[tuple[str, bytes]]:
    """Digests of the hash list at ``path`` in format ``fmt`` (detected when ``None``)."""
    fmt = fmt or detect_format(path)
    if fmt not in READERS:
        raise ValidationError("{path}: unknown hash list format {fmt!r} (known: {listing})", path=path,
                              fmt=fmt, listing=', '.join(READERS))
    return READERS[fmt](path, bad)
