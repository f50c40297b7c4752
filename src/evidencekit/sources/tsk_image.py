"""The TSK image a walk reads: a dfvfs file object, or the media file itself where possible."""

from __future__ import annotations

from typing import Any

import pytsk3
from dfvfs.lib import definitions as dd
from dfvfs.resolver import resolver


class VolumeImage(pytsk3.Img_Info):
    """A dfvfs file object (EWF, QCOW, partition, VSS store, ...) as a TSK image."""

    def __init__(self, file_object: Any):
        self._fo = file_object
        self._size = int(file_object.get_size())
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def close(self) -> None:
        self._fo = None

    def read(self, offset: int, size: int) -> bytes:
        # A layer that raises past a damaged or missing region (pybde, pyluksde on a truncated
        # image) gives TSK a short read instead: TSK then fails only what lies there, entry by entry.
        try:
            self._fo.seek(offset)
            return self._fo.read(size)
        except (OSError, RuntimeError):
            return b""

    def get_size(self) -> int:
        return self._size


def direct_image(evidence_path: str, volume_spec: Any, media_spec: Any) -> tuple[Any, int]:
    """The media without dfvfs's Python layers where that is possible: pytsk3 reads a single
    uncompressed raw file natively, and an E01 through the system libewf (sources/libewf.py)."""
    spec, offset = volume_spec, 0
    if spec.type_indicator == dd.TYPE_INDICATOR_TSK_PARTITION:
        start = getattr(spec, "start_offset", None)
        spec = spec.parent
        if start is None:
            return None, 0
        offset = int(start)
    if spec is not media_spec or spec.type_indicator not in (dd.TYPE_INDICATOR_RAW, dd.TYPE_INDICATOR_EWF):
        return None, 0
    if spec.parent.type_indicator != dd.TYPE_INDICATOR_OS or spec.parent.location != evidence_path:
        return None, 0
    from evidencekit.sources import libewf
    from evidencekit.sources.containers import segment_files

    segments = segment_files(evidence_path, spec)
    if spec.type_indicator == dd.TYPE_INDICATOR_EWF:
        handle = libewf.open_handle(segments, int(resolver.Resolver.OpenFileObject(spec).get_size()))
        return (libewf.EwfImage(handle), offset) if handle is not None else (None, 0)
    if len(segments) != 1:
        return None, 0
    return pytsk3.Img_Info(evidence_path), offset
