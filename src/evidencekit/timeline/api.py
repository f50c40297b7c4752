"""Case-level entry points: build, query and export a case's timeline (what the CLI calls)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evidencekit.errors import ValidationError
from evidencekit.hashing import checksum_line
from evidencekit.timeline import store
from evidencekit.timeline.build import PartResult, build_fs, build_native, build_plaso
from evidencekit.timeline.events import TimelineEvent
from evidencekit.timeline.export import check_format, write_export, zone


def timeline(case: Any, *, start: int | None = None, end: int | None = None, exhibit: str | None = None,
             source: str | None = None, grep: str | None = None, flagged: bool = False,
             limit: int | None = None) -> Iterator[TimelineEvent]:
    """The case's events in time order, filtered; ``start``/``end`` are ns UTC (end exclusive).

    An ``exhibit`` the case does not have, or a ``source`` that is neither a kind (fs, plaso,
    native) nor a parser of the timeline, is a ValidationError naming those that exist."""
    store.ensure_schema(case.db)
    q = store.Query(start, end, exhibit, source, grep, flagged, limit)
    check_selection(case, q)
    return store.query(case.db, q)


SOURCE_KINDS = ("fs", "plaso", "native")


def check_selection(case: Any, q: store.Query) -> None:
    """ValidationError when ``q.exhibit`` or ``q.source`` can match nothing, naming what exists."""
    ids = [ex.id for ex in case.exhibits()]
    if q.exhibit is not None and q.exhibit not in ids:
        raise ValidationError(f"{case.root}: no exhibit {q.exhibit!r}; the case has {', '.join(ids) or 'none'}")
    if q.source and q.source not in SOURCE_KINDS:
        parsers = sorted({p for (p,) in case.db.execute("SELECT DISTINCT parser FROM timeline_events") if p})
        names = set(parsers) | {p.split("/", 1)[0] for p in parsers}
        if q.source not in names:
            raise ValidationError(f"--source {q.source!r}: not a kind ({', '.join(SOURCE_KINDS)}) nor a parser of "
                                  f"this timeline ({', '.join(parsers) or 'none yet'})")


def build(case: Any, examiner: Any, exhibits: list[str] | None = None, artifacts: str = "default",
          workers: int = 1, timeout: float | None = None, year: int | None = None) -> list[tuple[str, PartResult]]:
    """File system timeline of each exhibit, then plaso and native artefacts unless ``artifacts`` is "none".

    ``year``: the year plaso gives timestamps that carry none (syslog); recorded in the ledger."""
    ids = exhibits or [ex.id for ex in case.exhibits()]
    if not ids:
        raise ValidationError(f"{case.root}: the case has no exhibits to build a timeline of")
    now = time.time_ns()
    results: list[tuple[str, PartResult]] = []
    for exhibit_id in ids:
        results.append((exhibit_id, build_fs(case, exhibit_id, examiner, now)))
        if artifacts.lower() != "none":
            results.append((exhibit_id, build_plaso(case, exhibit_id, examiner, artifacts, workers, timeout, now,
                                                    year)))
            native = build_native(case, exhibit_id, examiner, now)
            if native is not None:
                results.append((exhibit_id, native))
    return results


def export(case: Any, examiner: Any, fmt: str, out: Path, *, tz: str = "UTC", group: bool = True,
           query: store.Query | None = None, excel: bool = False) -> tuple[str, int]:
    """Write an export and ``out``.sha256 beside it; one ledger entry carries the hash.

    Returns (sha256, number of events). The file is written under a temporary name and renamed
    into place only when the ledger entry commits. ``out``.sha256 names the file without its
    folder, so ``sha256sum -c timeline.csv.sha256`` works in the folder of both. ``excel``: the
    CSV formats with a byte order mark, ``;`` and CRLF (see ``evidencekit.textout``).
    """
    check_format(fmt, Path(out))
    zone(tz)
    store.ensure_schema(case.db)
    q = query or store.Query()
    check_selection(case, q)
    out = out.absolute()
    tmp = out.with_name(f".{out.name}.partial")
    sha, count = write_export(fmt, tmp, lambda order: store.query(case.db, q, order), tz, group, excel)
    details = {"export": "timeline", "format": fmt, "zone": tz, "events": count,
               "macb_grouped": group and fmt in ("csv", "jsonl", "l2tcsv"), **({"excel": True} if excel else {}),
               "filters": {k: v for k, v in vars(q).items() if v not in (None, False)}, "file": out.name}
    try:
        with case.action("exported", examiner=examiner, details=details) as act:
            act.outputs[_display(out, case.root)] = sha
        os.replace(tmp, out)
        out.with_name(out.name + ".sha256").write_text(checksum_line(sha, out.name), encoding="utf-8")
    finally:
        tmp.unlink(missing_ok=True)
    return sha, count


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
