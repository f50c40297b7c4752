"""Text that is safe to print or put in a cell: control characters escaped, CSV for Excel.

A file name is evidence an adversary chose: a name holding a newline and ``0|/fake|...`` must
not print as a forged line of a table, TSV or CSV. Every text writer passes names and messages
through :func:`escape_control`; JSONL keeps the exact text (JSON escapes it itself).
"""

from __future__ import annotations

import csv
import re

# C0 controls, DEL, C1 controls, and the bidirectional overrides that reorder what a terminal shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Excel opens a CSV by double-click with the Windows "list separator" of the user's locale and,
# without a byte order mark, in the ANSI code page (cp1251 on a Russian Windows, so "/Документы"
# shows as "Р”РѕРєСѓРјРµРЅС‚С‹"). Where the decimal separator is a comma (ru, kk, uz, de, ...) the
# list separator is ";", so a comma-separated file opens as one column. --excel therefore writes
# UTF-8 with a BOM, ";" between fields and CRLF line ends.
EXCEL_BOM = "\ufeff"


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def escape_control(text: str) -> str:
    """``text`` with control and bidi-override characters as ``\\n``, ``\\t``, ``\\x1b``, ``\\u202e``."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


class PlainCsv(csv.excel):
    """Comma-separated, quoted where needed, LF line ends."""

    lineterminator = "\n"


class ExcelCsv(csv.excel):
    """What Excel on a locale whose list separator is ``;`` opens as columns."""

    delimiter = ";"
    lineterminator = "\r\n"


def csv_dialect(excel: bool = False) -> type[csv.Dialect]:
    """The ``csv`` dialect of our CSV writers: :class:`PlainCsv`, or :class:`ExcelCsv` for ``--excel``."""
    return ExcelCsv if excel else PlainCsv


def safe_row(values: list[object]) -> list[object]:
    """A CSV/TSV row with every string escaped (numbers and None pass as they are)."""
    return [escape_control(v) if isinstance(v, str) else v for v in values]


def tsk_safe(text: str) -> str:
    """Control characters and the field separator as ``^``, as TSK writes names in a bodyfile
    (``mactime`` splits on every ``|``, escaped or not; plaso reads ``^`` as it is)."""
    return "".join("^" if ch < " " or ch in "|\x7f" else ch for ch in text)
