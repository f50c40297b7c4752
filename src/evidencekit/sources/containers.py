"""Facts about the container itself: its segment files and the acquisition metadata it stores."""

from __future__ import annotations

import glob
import os
import re
from typing import Any

from dfvfs.lib import definitions as dd

from evidencekit.models import AcquisitionInfo

_SPLIT_RAW = re.compile(r"^(?P<stem>.*?)(?P<num>\.\d{3}|\.[a-z]{2}|_\d{3})$")


def segment_files(path: str, media_spec: Any) -> list[str]:
    """Every file the evidence consists of, in order (E01 segments, split raw parts, VHD parents)."""
    kind = media_spec.type_indicator if media_spec is not None else None
    if _in_tar(media_spec):  # an image inside a tar (sources/tar_image.py): the tar is the one file
        return [path]
    if kind == dd.TYPE_INDICATOR_EWF:
        import pyewf

        return [os.path.abspath(p) for p in pyewf.glob(path)]
    if kind == dd.TYPE_INDICATOR_RAW:
        return _split_raw_parts(path)
    if kind == dd.TYPE_INDICATOR_VHDI:
        return _vhd_chain(path)
    return [path]


def _in_tar(spec: Any) -> bool:
    while spec is not None:
        if spec.type_indicator == dd.TYPE_INDICATOR_TAR:
            return True
        spec = getattr(spec, "parent", None)
    return False


def _split_raw_parts(path: str) -> list[str]:
    match = _SPLIT_RAW.match(path)
    if not match:
        return [path]
    stem, num = match.group("stem"), match.group("num")
    pattern = stem + (".[0-9][0-9][0-9]" if num[1:].isdigit() and num[0] == "." else
                      "_[0-9][0-9][0-9]" if num[0] == "_" else ".[a-z][a-z]")
    parts = sorted(glob.glob(glob.escape(stem) + pattern[len(stem):]))
    return parts or [path]


def _vhd_chain(path: str) -> list[str]:
    import pyvhdi

    chain: list[str] = []
    current = path
    while current and len(chain) < 32:
        chain.append(os.path.abspath(current))
        handle = pyvhdi.file()
        handle.open(current)
        try:
            parent = handle.parent_filename if handle.disk_type == 4 else None  # 4: differential
        finally:
            handle.close()
        if not parent:
            break
        parent = parent.replace("\\", "/").split("/")[-1]
        current = os.path.join(os.path.dirname(current), parent)
        if not os.path.exists(current):
            break
    return chain


def acquisition_info(media_spec: Any, segments: list[str]) -> AcquisitionInfo | None:
    """E01 header values and stored hashes; None for containers that store none."""
    if media_spec is None or media_spec.type_indicator != dd.TYPE_INDICATOR_EWF:
        return None
    import pyewf

    handle = pyewf.handle()
    if _in_tar(media_spec):  # the E01 is a tar member: pyewf reads it through dfvfs's TAR layer
        from dfvfs.resolver import resolver

        handle.open_file_objects([resolver.Resolver.OpenFileObject(media_spec.parent)], "r")
    else:
        handle.open(segments, "r")
    try:
        header = handle.get_header_values()
        stored = {k.lower().replace("-", ""): v.lower() for k, v in handle.get_hash_values().items() if v}
    finally:
        handle.close()
    return AcquisitionInfo(
        case_number=header.get("case_number"),
        examiner=header.get("examiner_name"),
        evidence_number=header.get("evidence_number"),
        description=header.get("description"),
        notes=header.get("notes"),
        acquisition_date=header.get("acquiry_date"),
        system_date=header.get("system_date"),
        acquisition_software=header.get("acquiry_software") or header.get("acquiry_operating_system"),
        acquisition_software_version=header.get("acquiry_software_version"),
        stored_hashes=stored,
    )
