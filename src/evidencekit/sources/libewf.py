"""Bulk reads of EWF (E01) media through the system's libewf, when it is installed.

The libewf-python wheel on PyPI is built without zlib: it inflates every 32 KiB chunk with
libewf's own decoder, about 60 MB/s on the development machine, where the same library built
against zlib (Debian's ``libewf2``, which ``ewf-tools`` brings) reads about 900 MB/s. dfvfs and
pyewf still find, check and describe the image; only the reads of the decoded media (the walk's
TSK image, whole-media hashing) go through the system library, by ctypes. Without
``libewf.so.2``, or with ``EVIDENCEKIT_SYSTEM_LIBEWF=0``, everything reads through pyewf as
before. Both give the same bytes: tests compare them on every E01 of the corpus.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import lru_cache
from typing import Any

import pytsk3

from evidencekit import settings
from evidencekit.sources.base import ReadCallback

LIBEWF_OPEN_READ = 0x01
_ERROR_TEXT = 512


@lru_cache(maxsize=1)
def _library() -> Any:
    """The system libewf with its read function bound, or None."""
    if not settings.get().system_libewf:
        return None
    try:
        lib = ctypes.CDLL("libewf.so.2")  # Debian's soname: no search (find_library may run gcc)
    except OSError:
        name = ctypes.util.find_library("ewf")
        if name is None:
            return None
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            return None
    # read_random is the 2014 name (Debian bookworm); newer releases call it read_buffer_at_offset.
    read = getattr(lib, "libewf_handle_read_buffer_at_offset", None) or getattr(lib, "libewf_handle_read_random", None)
    if read is None:
        return None
    read.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int64, ctypes.c_void_p]
    read.restype = ctypes.c_ssize_t
    setattr(lib, "evidencekit_read", read)  # noqa: B010 - one name whichever the release calls it
    lib.libewf_handle_initialize.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.libewf_handle_open.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    lib.libewf_handle_get_media_size.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.libewf_handle_close.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.libewf_handle_free.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.libewf_error_sprint.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.libewf_error_free.argtypes = [ctypes.c_void_p]
    lib.libewf_get_version.restype = ctypes.c_char_p
    return lib


def version() -> str | None:
    """The system libewf's version (recorded in custody entries), or None when it is not used."""
    lib = _library()
    return lib.libewf_get_version().decode() if lib is not None else None


class _Handle:
    """One open libewf handle; every call checks its result and turns libewf's error into OSError."""

    def __init__(self, lib: Any, segments: list[str]):
        self._lib = lib
        self._handle = ctypes.c_void_p()
        self._buffer = ctypes.create_string_buffer(1 << 16)  # read_bytes' scratch space (TSK reads 64 KiB)
        err = ctypes.c_void_p()
        self._check(lib.libewf_handle_initialize(ctypes.byref(self._handle), ctypes.byref(err)), err,
                    "initialise a handle")
        try:
            names = (ctypes.c_char_p * len(segments))(*(os.fsencode(s) for s in segments))
            err = ctypes.c_void_p()
            self._check(lib.libewf_handle_open(self._handle, names, len(segments), LIBEWF_OPEN_READ, ctypes.byref(err)),
                        err, f"open {segments[0]}")
            size, err = ctypes.c_uint64(), ctypes.c_void_p()
            self._check(lib.libewf_handle_get_media_size(self._handle, ctypes.byref(size), ctypes.byref(err)), err,
                        "read the media size")
        except OSError:
            self.close()
            raise
        self.size = int(size.value)

    def read_bytes(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` (fewer at the end of the media)."""
        if length > len(self._buffer):
            self._buffer = ctypes.create_string_buffer(length)
        got = self.read_into(ctypes.addressof(self._buffer), length, offset)
        return ctypes.string_at(self._buffer, got)

    def read_into(self, address: int, length: int, offset: int) -> int:
        err = ctypes.c_void_p()
        got = self._lib.evidencekit_read(self._handle, address, length, offset, ctypes.byref(err))
        if got < 0:
            raise OSError(f"libewf read of {length} bytes at offset {offset} failed: {self._message(err)}")
        return int(got)

    def close(self) -> None:
        if self._handle:
            err = ctypes.c_void_p()
            self._lib.libewf_handle_close(self._handle, ctypes.byref(err))  # fails harmlessly if never opened
            self._free(err)
            err = ctypes.c_void_p()
            self._lib.libewf_handle_free(ctypes.byref(self._handle), ctypes.byref(err))
            self._free(err)
            self._handle = ctypes.c_void_p()

    def _check(self, result: int, err: ctypes.c_void_p, what: str) -> None:
        if result != 1:
            raise OSError(f"libewf cannot {what}: {self._message(err)}")

    def _message(self, err: ctypes.c_void_p) -> str:
        if not err:
            return "unknown error"
        text = ctypes.create_string_buffer(_ERROR_TEXT)
        self._lib.libewf_error_sprint(err, text, _ERROR_TEXT)
        self._free(err)
        return " ".join(text.value.decode("utf-8", "replace").split()) or "unknown error"

    def _free(self, err: ctypes.c_void_p) -> None:
        if err:
            self._lib.libewf_error_free(ctypes.byref(err))


def open_handle(segments: list[str], expected_size: int | None = None) -> _Handle | None:
    """A handle on the media of ``segments`` (all segment files, in order); None when the system
    library is not there, cannot open them, or sees another media size than pyewf did
    (``expected_size``): the caller then reads through pyewf."""
    lib = _library()
    if lib is None or not segments:
        return None
    try:
        handle = _Handle(lib, segments)
    except OSError:
        return None
    if expected_size is not None and handle.size != expected_size:
        handle.close()
        return None
    return handle


class EwfMedia(ReadCallback):
    """The decoded media as a read-only binary stream; ``readinto`` fills the caller's buffer
    directly (the whole-media hashing reads into page-aligned buffers)."""

    def __init__(self, handle: _Handle):
        super().__init__(handle.read_bytes, handle.size)
        self._handle = handle

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        length = min(len(view), max(0, self._size - self._pos))
        if length == 0:
            return 0
        if view.readonly:
            raise TypeError("readinto needs a writable buffer")
        address = ctypes.addressof(ctypes.c_char.from_buffer(view))
        got = self._handle.read_into(address, length, self._pos)
        self._pos += got
        return got

    def close(self) -> None:
        if not self.closed:
            self._handle.close()
        super().close()


class EwfImage(pytsk3.Img_Info):
    """The decoded media as a TSK image (TSK reads it in 64 KiB pieces through its own cache)."""

    def __init__(self, handle: _Handle):
        self._handle = handle
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def read(self, offset: int, size: int) -> bytes:
        return self._handle.read_bytes(offset, size)

    def get_size(self) -> int:
        return self._handle.size

    def close(self) -> None:
        self._handle.close()
