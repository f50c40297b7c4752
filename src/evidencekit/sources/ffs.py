"""Full file system extractions (GrayKey, Cellebrite FFS, checkm8 tools) delivered as a zip or tar.

Such an archive holds a phone's tree under some prefix (``filesystem1/private/var/...``,
``Dump/data/data/...``). The root is the prefix before the first marker path of either system;
the OS version comes from ``SystemVersion.plist`` (iOS) or ``build.prop`` (Android) when the
archive holds it. The archive is still listed as it is: the labels name the device tree.
"""

from __future__ import annotations

import plistlib
import re
from collections.abc import Callable, Iterable

MARKERS = (
    ("iOS", re.compile(r"^(.*?/)?private/var/(?:mobile|containers|root)/")),
    ("Android", re.compile(r"^(.*?/)?data/(?:data|app|system|user(?:_de)?|media)/")),
)
VERSION_FILES = {"iOS": "System/Library/CoreServices/SystemVersion.plist", "Android": "system/build.prop"}


def detect(names: Iterable[str]) -> tuple[str, str] | None:
    """(OS, root prefix with a trailing "/" or "") of the first name that shows a phone tree."""
    for name in names:
        clean = name.replace("\\", "/").lstrip("/")
        if "private/var/" not in clean and "data/" not in clean:
            continue  # cheap test first: most names of a big archive are neither
        for system, pattern in MARKERS:
            match = pattern.match(clean)
            if match:
                return system, match.group(1) or ""
    return None


def os_version(system: str, root: str, read: Callable[[str], bytes | None]) -> str:
    """The OS version the extraction's own files state, or ""."""
    data = read(root + VERSION_FILES[system])
    if not data:
        return ""
    if system == "iOS":
        try:
            return str(plistlib.loads(data).get("ProductVersion", ""))
        except (plistlib.InvalidFileException, ValueError, AttributeError):
            return ""
    match = re.search(rb"^ro\.build\.version\.release=(.+)$", data, re.M)
    return match.group(1).decode("utf-8", "replace").strip() if match else ""


def label(evidence: object, names: list[str], read: Callable[[str], bytes | None]) -> None:
    """Add ``ffs:<os>`` to the format chain and the device facts, when the archive is a phone tree."""
    found = detect(names)
    if found is None:
        return
    system, root = found
    evidence.format_chain.append(f"ffs:{system.lower()}")  # type: ignore[attr-defined]
    facts = {"os": system, "extraction_type": "full file system", "root": "/" + root}
    version = os_version(system, root, read)
    if version:
        facts["os_version"] = version
    evidence.device.update(facts)  # type: ignore[attr-defined]
