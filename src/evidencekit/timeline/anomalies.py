"""Anomaly flags on file system times, each with the reasoning an examiner can quote.

The flags are hints for review, never conclusions; docs/timeline.md explains each one.

``si_created_before_fn``
    NTFS keeps creation times twice: in ``$STANDARD_INFORMATION`` (``$SI``) and in each
    ``$FILE_NAME`` (``$FN``). Windows sets both when a name is created; user-mode programs can
    rewrite ``$SI`` (SetFileTime, as "timestomping" tools do) but not ``$FN``, which only the
    kernel writes. An ``$SI`` creation earlier than the ``$FN`` creation is therefore the classic
    sign of a back-dated ``$SI``. Flagged on the ``$SI`` creation event.

``si_zero_fraction``
    NTFS stores times in 100 ns units; times written by the file system almost never fall on a
    whole second. Many tools that set times take whole seconds. An ``$SI`` time with a zero
    sub-second part where the ``$FN`` time of the same kind has a non-zero one suggests the
    ``$SI`` time was set by a program. Flagged on that ``$SI`` event.

``future``
    A time later than the reference time (the acquisition date when the evidence container
    records one, else the seizure date registered with the exhibit, else the time the timeline
    was built) cannot have been written by a correct clock before acquisition: clock error, a manipulated time, or a time from a scheduled or predicted
    value.

``before_fs_created``
    A changed or created time (``c`` or ``b``, either attribute) earlier than the creation of the
    file system itself. These are written by the file system driver when the entry is made or
    its metadata changes, so they cannot predate the file system unless set deliberately or by
    a wrong clock. Modified/accessed times are not flagged: copying tools (``cp -p``, archive
    extraction, robocopy) legitimately preserve older modification times. The file system
    creation time is the creation time of ``$MFT`` (NTFS) or the earlier of the root directory's
    and ``/lost+found``'s (ext), both made by mkfs; volumes without either are not checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from evidencekit.models import FileRecord

SI_TIMES = ("mtime", "atime", "ctime", "crtime")
CHANGE_BIRTH = ("ctime", "crtime", "fn_ctime", "fn_crtime")
ALL_TIMES = ("mtime", "atime", "ctime", "crtime", "dtime", "fn_mtime", "fn_atime", "fn_ctime", "fn_crtime")
NS = 1_000_000_000


@dataclass
class AnomalyContext:
    """What the checks compare against: a reference "now" and each volume's creation time."""

    reference_ns: int
    reference_source: str  # "acquisition date" | "seizure date" | "build time"
    fs_created: dict[str, int] = field(default_factory=dict)  # volume -> ns

    def to_details(self) -> dict[str, object]:
        return {"reference_ns": self.reference_ns, "reference_source": self.reference_source,
                "fs_created_ns": dict(self.fs_created)}


def fs_creation_candidate(rec: FileRecord) -> int | None:
    """The creation time that stands for the file system's own creation, if ``rec`` is one."""
    if rec.deleted or rec.stream:
        return None
    name = rec.path.rstrip("/")
    if (rec.filesystem or "").lower() == "ntfs":
        if name not in ("/$MFT", "/$Volume"):
            return None
        times = [t for t in (rec.crtime, rec.fn_crtime) if t is not None]
        return min(times) if times else None
    return rec.crtime if name in ("", "/lost+found") and rec.type == "dir" else None


def scan_fs_created(records: Iterable[FileRecord]) -> dict[str, int]:
    """Per volume, the earliest file system creation time found among ``records``."""
    found: dict[str, int] = {}
    for rec in records:
        value = fs_creation_candidate(rec)
        if value is not None:
            found[rec.volume] = min(value, found.get(rec.volume, value))
    return found


def record_flags(rec: FileRecord, ctx: AnomalyContext) -> dict[str, tuple[str, ...]]:
    """Anomaly flags per time field of ``rec`` (fields without flags are absent)."""
    out: dict[str, list[str]] = {}
    if rec.crtime is not None and rec.fn_crtime is not None and rec.crtime < rec.fn_crtime:
        out.setdefault("crtime", []).append("si_created_before_fn")
    for name in SI_TIMES:
        si, fn = getattr(rec, name), getattr(rec, "fn_" + name)
        if si is not None and fn is not None and si % NS == 0 and fn % NS != 0:
            out.setdefault(name, []).append("si_zero_fraction")
    created = ctx.fs_created.get(rec.volume)
    for name in ALL_TIMES:
        value = getattr(rec, name)
        if value is None:
            continue
        if value > ctx.reference_ns:
            out.setdefault(name, []).append("future")
        if created is not None and name in CHANGE_BIRTH and value < created:
            out.setdefault(name, []).append("before_fs_created")
    return {k: tuple(v) for k, v in out.items()}


def event_future(time_ns: int, ctx: AnomalyContext | None) -> tuple[str, ...]:
    """The flags an artefact (plaso) event can carry: only ``future``."""
    return ("future",) if ctx is not None and time_ns > ctx.reference_ns else ()
