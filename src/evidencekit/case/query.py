"""Reading a case back: status summary and the stored inventory with filters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from evidencekit.case.rows import FILE_COLUMNS
from evidencekit.case.store import Case
from evidencekit.errors import ValidationError
from evidencekit.models import FileRecord, Locator, iso_utc


@dataclass
class FileFilter:
    """Filters of ``case files``; ``extra`` holds (SQL fragment, parameters) from other layers."""

    pattern: str | None = None
    exhibit: str | None = None
    volume: str | None = None
    deleted: bool = False
    exts: tuple[str, ...] = ()
    min_size: int | None = None
    extra: list[tuple[str, list[Any]]] = field(default_factory=list)

    def where(self) -> tuple[str, list[Any]]:
        """SQL WHERE clause over ``files`` (aliased ``f``) and its parameters."""
        parts: list[str] = []
        params: list[Any] = []
        for sql, value, present in (
            ("f.path GLOB ?", self.pattern, self.pattern), ("f.exhibit = ?", self.exhibit, self.exhibit),
            ("f.volume = ?", self.volume, self.volume is not None), ("f.deleted = 1", None, self.deleted),
            ("f.size >= ?", self.min_size, self.min_size is not None),
        ):
            if present:
                parts.append(sql)
                if value is not None:
                    params.append(value)
        if self.exts:
            parts.append(f"f.ext IN ({', '.join('?' * len(self.exts))})")
            params += [e.lower().lstrip(".") for e in self.exts]
        for sql, extra_params in self.extra:
            parts.append(f"({sql})")
            params += extra_params
        return (" WHERE " + " AND ".join(parts)) if parts else "", params


def select_files(case: Case, flt: FileFilter) -> Iterator[tuple[str, FileRecord]]:
    """(exhibit, record) for each matching inventory row, in exhibit and walk order."""
    where, params = flt.where()
    cols = ", ".join(f"f.{c}" for c in FILE_COLUMNS)
    sql = f"SELECT {cols} FROM files f{where} ORDER BY f.exhibit, f.seq"
    for row in case.db.execute(sql, params):
        data = dict(zip(FILE_COLUMNS, row, strict=True))
        yield data["exhibit"], _record(data)


def _record(d: dict[str, Any]) -> FileRecord:
    loc = json.loads(d["locator"])
    return FileRecord(
        volume=d["volume"], path=d["path"], inode=d["inode"], type=d["type"], deleted=bool(d["deleted"]),
        size=d["size"], locator=Locator(loc["evidence"], loc["spec"]), mtime=d["mtime"], atime=d["atime"],
        ctime=d["ctime"], crtime=d["crtime"], dtime=d["dtime"], fn_mtime=d["fn_mtime"], fn_atime=d["fn_atime"],
        fn_ctime=d["fn_ctime"], fn_crtime=d["fn_crtime"], time_digits=d["time_digits"],
        assumed_zone=d["assumed_zone"], stream=d["stream"] or None, orphan=bool(d["orphan"]),
        filesystem=d["filesystem"], mode=d["mode"], uid=d["uid"], gid=d["gid"], link_target=d["link_target"],
        md5=d["md5"], sha1=d["sha1"], sha256=d["sha256"], warnings=tuple(json.loads(d["warnings"])),
        attributes=tuple(d["attributes"].split()), raw_name=d["raw_name"],
    )


def check_selection(case: Case, exhibit: str | None, volume: str | None = None) -> None:
    """ValidationError naming what exists when ``exhibit`` or ``volume`` matches nothing in the case."""
    ids = [ex.id for ex in case.exhibits()]
    if exhibit is not None and exhibit not in ids:
        raise ValidationError("{path}: no exhibit {exhibit!r}; the case has {listing}", path=case.root, exhibit=exhibit,
                              listing=_listing(ids))
    if volume is not None:
        sql, args = "SELECT DISTINCT volume FROM files", []
        if exhibit is not None:
            sql, args = sql + " WHERE exhibit = ?", [exhibit]
        volumes = sorted(v or "" for (v,) in case.db.execute(sql, args))
        if volume not in volumes:
            where = f"exhibit {exhibit}" if exhibit else "the inventory"
            raise ValidationError("{path}: no volume {volume!r} in {where}; it has {listing}", path=case.root,
                                  volume=volume, where=where, listing=_listing(volumes))


def _listing(names: list[str]) -> str:
    return ", ".join(repr(n) if n == "" else n for n in names) if names else "none"


def status(case: Case) -> dict[str, Any]:
    """Case metadata, exhibits with hashes, file counts, ledger length and any unfinished run."""
    counts = dict(case.db.execute("SELECT exhibit, count(*) FROM files GROUP BY exhibit").fetchall())
    unfinished = dict(case.db.execute("SELECT exhibit, count(*) FROM runs WHERE done = 0 GROUP BY exhibit").fetchall())
    exhibits = []
    for ex in case.exhibits():
        exhibits.append({"id": ex.id, "path": ex.path, "kind": ex.kind, "status": ex.status,
                         "description": ex.description, "media_size": ex.media_size, "hashes": ex.hashes,
                         "files": counts.get(ex.id, 0), "runs_in_progress": unfinished.get(ex.id, 0),
                         "custody": _custody_state(case, ex.id)})
    last = case.db.execute("SELECT count(*), max(time_ns) FROM ledger").fetchone()
    meta = {k: v for k, v in case.meta.items() if k not in ("format",)}
    meta["created"] = iso_utc(int(meta.pop("created_ns", 0)))
    return {"case": meta, "path": str(case.root), "exhibits": exhibits,
            "ledger": {"entries": last[0], "last": iso_utc(last[1]) if last[1] else None}}


CUSTODY_ACTIONS = ("received", "sealed", "transferred", "returned", "disposed")


def _custody_state(case: Case, exhibit: str) -> dict[str, Any] | None:
    """The exhibit's last custody movement (received, sealed, transferred, returned, disposed)."""
    marks = ", ".join("?" * len(CUSTODY_ACTIONS))
    row = case.db.execute(f"SELECT seq, time_ns, examiner, action, body FROM ledger WHERE exhibit = ? AND action IN "
                          f"({marks}) ORDER BY seq DESC LIMIT 1", (exhibit, *CUSTODY_ACTIONS)).fetchone()
    if row is None:
        return None
    details = json.loads(row[4]).get("details", {})
    return {"entry": row[0], "time": iso_utc(row[1]), "examiner": row[2], "action": row[3], "to": details.get("to")}


def status_lines(data: dict[str, Any]) -> list[str]:
    c = data["case"]
    lines = [f"Case:       {c['number']}  {c['title']}", f"Authority:  {c['authority']} {c['authority_date']}".rstrip(),
             f"Directory:  {data['path']}", f"Case id:    {c['id']}  (created {c['created']})",
             f"Ledger:     {data['ledger']['entries']} entries, last {data['ledger']['last']}", "Exhibits:"]
    for ex in data["exhibits"]:
        unfinished = " (a run is in progress or was interrupted)" if ex["runs_in_progress"] else ""
        lines.append(f"  {ex['id']:<8} {ex['status']:<11} {ex['files']:>8} files{unfinished}  {ex['path']}")
        lines += [f"           {alg:<7}{value}" for alg, value in ex["hashes"].items()]
        if ex["custody"]:
            c = ex["custody"]
            where = f" to {c['to']}" if c["to"] else ""
            lines.append(f"           custody: {c['action']}{where} by {c['examiner']} {c['time']} (entry {c['entry']})")
    return lines
