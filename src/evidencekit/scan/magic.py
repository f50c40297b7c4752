"""File type identification with libmagic, and the extension-mismatch rule.

Every file gets libmagic's description and MIME type, computed from its first ``head_bytes``
bytes (8 KiB by default: the window libmagic's text and script tests search). A file's name
extension is then checked against :data:`EXTENSION_TYPES`, a table of extensions and the MIME
types their content may legitimately have. ``mismatch`` is ``True`` when the extension is in the
table and the content is none of its types (a JPEG named ``.txt``, a PE executable named
``.pdf``), ``False`` when it agrees, and ``None`` when the extension is not in the table or the
file is empty (nothing to judge). The table is reproduced in ``docs/scan.md``.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import magic

HEAD_BYTES = 8192
EMPTY_TYPES = frozenset({"application/x-empty", "inode/x-empty"})
# libmagic's own fallbacks: when no test matched it says "data" (binary) or "empty", and its MIME
# answer is then always the one below, so the second libmagic call is skipped (tests check it).
DEFAULT_MIMES = {"data": "application/octet-stream", "empty": "application/x-empty"}

_TEXT = ("text/*", "application/json", "application/csv", "application/x-ndjson")
_OOXML = ("application/vnd.openxmlformats-officedocument.*", "application/zip", "application/octet-stream")
_OLE = ("application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
        "application/vnd.ms-outlook", "application/x-ole-storage", "application/CDFV2",
        "application/vnd.ms-office")
_PE = ("application/vnd.microsoft.portable-executable", "application/x-dosexec", "application/x-msdownload")

# (extensions, accepted MIME types; "type/*" accepts a whole top-level type), one row per kind.
EXTENSION_TABLE: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("jpg", "jpeg", "jpe", "jfif"), ("image/jpeg",)),
    (("png",), ("image/png",)),
    (("gif",), ("image/gif",)),
    (("bmp",), ("image/bmp", "image/x-ms-bmp")),
    (("tif", "tiff"), ("image/tiff",)),
    (("webp",), ("image/webp",)),
    (("heic",), ("image/heic", "image/heif")),
    (("ico",), ("image/vnd.microsoft.icon", "image/x-icon")),
    (("pdf",), ("application/pdf",)),
    (("rtf",), ("text/rtf", "application/rtf")),
    (("docx", "xlsx", "pptx", "docm", "xlsm", "pptm"), _OOXML),
    (("odt", "ods", "odp"), ("application/vnd.oasis.opendocument.*", "application/zip")),
    (("doc", "xls", "ppt", "msg"), _OLE),
    (("zip", "jar", "apk"), ("application/zip", "application/java-archive", "application/vnd.android.package-archive")),
    (("gz", "tgz"), ("application/gzip", "application/x-gzip")),
    (("bz2",), ("application/x-bzip2",)),
    (("xz",), ("application/x-xz",)),
    (("7z",), ("application/x-7z-compressed",)),
    (("rar",), ("application/x-rar", "application/vnd.rar", "application/x-rar-compressed")),
    (("tar",), ("application/x-tar",)),
    (("exe", "dll", "sys", "scr", "ocx", "cpl", "efi"), _PE),
    (("lnk",), ("application/x-ms-shortcut",)),
    (("sqlite", "sqlite3", "db"), ("application/vnd.sqlite3", "application/x-sqlite3", "application/octet-stream")),
    (("mp3",), ("audio/mpeg",)),
    (("wav",), ("audio/x-wav", "audio/wav", "audio/vnd.wave")),
    (("mp4", "m4v", "m4a", "mov"), ("video/mp4", "video/quicktime", "audio/x-m4a", "audio/mp4", "video/x-m4v")),
    (("avi",), ("video/x-msvideo",)),
    (("mkv", "webm"), ("video/x-matroska", "video/webm")),
    (("txt", "log", "csv", "md", "ini", "cfg", "conf", "json", "xml", "htm", "html", "css"), _TEXT),
    (("ps1", "bat", "cmd", "vbs", "js", "py", "sh", "php", "asp", "aspx", "jsp", "pl"), _TEXT),
)

EXTENSION_TYPES: dict[str, tuple[str, ...]] = {ext: mimes for exts, mimes in EXTENSION_TABLE for ext in exts}


@dataclass(frozen=True)
class FileType:
    """What libmagic says about a file, and whether its name's extension agrees."""

    mime: str
    description: str
    extension: str | None
    mismatch: bool | None


def extension_of(name: str) -> str | None:
    """Lower-case extension of the last path component, without the dot (``None`` if it has none)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem or not ext or len(ext) > 10:
        return None
    return ext.lower()


def mime_accepted(mime: str, accepted: tuple[str, ...]) -> bool:
    """``mime`` is one of ``accepted`` (a ``"type/*"`` or ``"prefix.*"`` entry matches by prefix)."""
    for pattern in accepted:
        if pattern.endswith("*"):
            if mime.startswith(pattern[:-1]):
                return True
        elif mime == pattern:
            return True
    return False


def extension_mismatch(name: str, mime: str) -> bool | None:
    """Apply :data:`EXTENSION_TYPES` to a file name and the MIME type found in its content."""
    ext = extension_of(name)
    accepted = EXTENSION_TYPES.get(ext) if ext else None
    if accepted is None or mime in EMPTY_TYPES:
        return None
    return not mime_accepted(mime, accepted)


class TypeIdentifier:
    """libmagic description and MIME type of file heads, with an exact result cache.

    libmagic's answer depends only on the bytes it is given, so identical heads (duplicate files,
    common headers of small files) are identified once. One instance per thread: each holds its
    own libmagic handles.
    """

    def __init__(self, head_bytes: int = HEAD_BYTES, cache_entries: int = 50_000):
        self.head_bytes = head_bytes
        self._mime = magic.Magic(mime=True)
        self._desc = magic.Magic()
        self._cache: dict[bytes, tuple[str, str]] = {}
        self._cache_entries = cache_entries

    def identify_head(self, head: bytes) -> tuple[str, str]:
        """(MIME type, description) of ``head`` (at most ``head_bytes`` of it are looked at)."""
        head = head[: self.head_bytes]
        key = hashlib.blake2b(head, digest_size=16).digest()
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        description = self._desc.from_buffer(head)
        mime = DEFAULT_MIMES.get(description) or self._mime.from_buffer(head)
        result = (mime, description)
        if len(self._cache) >= self._cache_entries:
            self._cache.clear()
        self._cache[key] = result
        return result

    def identify(self, name: str, head: bytes) -> FileType:
        """Type of a file called ``name`` whose content starts with ``head``."""
        mime, description = self.identify_head(head)
        return FileType(mime, description, extension_of(name), extension_mismatch(name, mime))


_local = threading.local()


def identifier(head_bytes: int = HEAD_BYTES) -> TypeIdentifier:
    """The calling thread's :class:`TypeIdentifier` (created on first use)."""
    ident = getattr(_local, "identifier", None)
    if ident is None or ident.head_bytes != head_bytes:
        ident = TypeIdentifier(head_bytes)
        _local.identifier = ident
    return ident


def libmagic_version() -> str:
    """libmagic's version as ``5.44`` (recorded in ledger entries)."""
    version = magic.version() if hasattr(magic, "version") else 0
    return f"{version // 100}.{version % 100:02d}" if version else "unknown"
