"""Member and file names as evidence: the bytes as stored, and a text form that can be shown.

A name that is not valid UTF-8 (a Russian-locale machine writes cp1251, cp866 or koi8-r bytes) is
shown with its undecodable bytes as ``\\xNN`` escapes, or decoded in the code page the examiner
names; either way the record keeps the raw bytes (``FileRecord.raw_name``, hex) and a warning
says so. A valid UTF-8 name gives no raw bytes and no warning, so its record is as it always was.
"""

from __future__ import annotations

from dataclasses import dataclass

from evidencekit.errors import ValidationError

NAME_ENCODINGS = ("cp1251", "cp866", "koi8-r")


def check_name_encoding(encoding: str | None) -> str | None:
    """``encoding`` lower-cased when it is one of NAME_ENCODINGS (None stays None); ValidationError otherwise."""
    if encoding is None:
        return None
    if encoding.lower() not in NAME_ENCODINGS:
        raise ValidationError("name encoding {encoding!r}: use one of {listing}", encoding=encoding,
                              listing=', '.join(NAME_ENCODINGS))
    return encoding.lower()


@dataclass(frozen=True)
class Name:
    """A name to show (``text``), its raw bytes in hex when it is not UTF-8, and the warning then."""

    text: str
    raw_hex: str | None = None
    warning: str | None = None


def decode_name(raw: bytes, encoding: str | None = None, what: str = "name") -> Name:
    """The shown form of a stored name: UTF-8 when it is valid UTF-8, else ``encoding`` or escapes."""
    try:
        return Name(raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if encoding:
        text = raw.decode(encoding, "backslashreplace")  # cp1251 leaves 0x98 undefined
        how = f"decoded as {encoding}"
    else:
        text = raw.decode("utf-8", "backslashreplace")
        how = "undecodable bytes shown as \\xNN"
    return Name(text, raw.hex(), f"{what} is not valid UTF-8 (raw bytes {raw.hex()}): {how}")


def os_name(text: str, encoding: str | None = None, what: str = "name") -> Name:
    """The shown form of a name Python decoded with ``surrogateescape`` (os, tarfile)."""
    if text.isascii():  # the common case, and no surrogate can hide in it
        return Name(text)
    return decode_name(text.encode("utf-8", "surrogateescape"), encoding, what)
