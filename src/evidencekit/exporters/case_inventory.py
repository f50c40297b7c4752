"""CASE/UCO export of a case with its inventory: the custody graph, then every file, streamed.

The custody part is ``exporters.caseuco.build_graph`` (investigation, authority, examiners, tools,
exhibits, one action per ledger entry, the output files). Then each inventory row becomes an
``observable:File`` (FileFacet: name, path, size, times, directory, allocation; ContentDataFacet:
hashes) and an ``observable:ObservableRelationship`` "Contained_Within" its exhibit; each output
file of the ledger gets an ``investigation:ProvenanceRecord`` naming its entry and exhibit. Nodes
are written one at a time from a database cursor, so memory stays flat however many files the
case holds. Identifiers are stable (uuid5 of the case id and the row's exhibit and walk order).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from evidencekit.case import custody
from evidencekit.case.examiners import Examiner
from evidencekit.case.store import Case
from evidencekit.errors import CustodyError
from evidencekit.exporters.caseuco import CONTEXT, _hashes, _Ids, _time, build_graph

_ROWS = ("exhibit", "seq", "path", "stream", "type", "deleted", "size", "mtime", "atime", "ctime", "crtime",
         "md5", "sha1", "sha256", "locator")


def file_nodes(case: Case, ids: _Ids) -> Iterator[dict[str, Any]]:
    """An ``observable:File`` and its ``Contained_Within`` relationship per inventory row."""
    cur = case.db.execute(f"SELECT {', '.join(_ROWS)} FROM files ORDER BY exhibit, seq")
    while rows := cur.fetchmany(1000):
        for row in rows:
            r = dict(zip(_ROWS, row, strict=True))
            node_id = ids("inventory", r["exhibit"], r["seq"])
            yield _file(r, node_id, (ids("inventory", r["exhibit"], r["seq"], "file"),
                                     ids("inventory", r["exhibit"], r["seq"], "content")), ids)
            yield {"@id": ids("inventory", r["exhibit"], r["seq"], "in"), "@type": "observable:ObservableRelationship",
                   "core:source": [{"@id": node_id}], "core:target": [{"@id": ids("exhibit", r["exhibit"])}],
                   "core:kindOfRelationship": "Contained_Within", "core:isDirectional": True}


def _file(r: dict[str, Any], node_id: str, facet_ids: tuple[str, str], ids: _Ids) -> dict[str, Any]:
    path = r["path"] + (f":{r['stream']}" if r["stream"] else "")
    facet: dict[str, Any] = {"@id": facet_ids[0], "@type": "observable:FileFacet",
                             "observable:fileName": path.rsplit("/", 1)[-1] or "/", "observable:filePath": path,
                             "observable:isDirectory": r["type"] == "dir",
                             "observable:allocationStatus": "unallocated" if r["deleted"] else "allocated"}
    for column, prop in (("mtime", "modifiedTime"), ("atime", "accessedTime"), ("ctime", "metadataChangeTime"),
                         ("crtime", "observableCreatedTime")):
        if r[column] is not None:
            facet[f"observable:{prop}"] = _time(r[column])
    if r["size"] is not None:
        facet["observable:sizeInBytes"] = r["size"]
    facets = [facet]
    digests = {alg: r[alg] for alg in ("md5", "sha1", "sha256") if r[alg]}
    if digests:
        facets.append({"@id": facet_ids[1], "@type": "observable:ContentDataFacet",
                       "observable:hash": _hashes(ids, digests)})
    return {"@id": node_id, "@type": "observable:File", "core:name": path,
            "core:description": f"exhibit {r['exhibit']}, locator {r['locator']}", "core:hasFacet": facets}


def provenance_nodes(case: Case, ids: _Ids) -> Iterator[dict[str, Any]]:
    """An ``investigation:ProvenanceRecord`` per output file of the ledger (exports, extractions)."""
    for e in case.entries():
        for key, value in e.body.get("outputs", {}).items():
            if custody.is_file_output(key, value):
                record: dict[str, Any] = {
                    "@id": ids("file", key, value, "provenance"), "@type": "investigation:ProvenanceRecord",
                    "core:description": f"written by ledger entry {e.seq} ({e.action})",
                    "core:object": [{"@id": ids("file", key, value)}]}
                if e.exhibit:
                    record["investigation:exhibitNumber"] = e.exhibit
                yield record


def write_graph(case: Case, out: IO[bytes]) -> str:
    """Stream the JSON-LD document to ``out``; returns its sha256."""
    digest = hashlib.sha256()

    def put(text: str) -> None:
        data = text.encode("utf-8", "backslashreplace")
        digest.update(data)
        out.write(data)

    ids = _Ids(case.id)
    put('{"@context": ' + json.dumps(CONTEXT, sort_keys=True) + ',\n "@graph": [\n')
    first = True
    for nodes in (build_graph(case)["@graph"], provenance_nodes(case, ids), file_nodes(case, ids)):
        for node in nodes:
            put(("" if first else ",\n") + "  " + json.dumps(node, sort_keys=True, ensure_ascii=False))
            first = False
    put("\n ]\n}\n")
    return digest.hexdigest()


def export_case(case: Case, out: str | Path | None, examiner: Examiner) -> dict[str, Any]:
    """Write the document (custody and inventory) and record an 'exported' entry carrying its sha256."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = Path(out).absolute() if out else case.root / "exports" / f"case-{stamp}.jsonld"
    if path.exists():
        raise CustodyError("{path}: already exists; choose a new file name", path=path)
    if not path.parent.is_dir():
        raise CustodyError("{parent}: no such directory", parent=path.parent)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with tmp.open("wb") as fh:
            digest = write_graph(case, fh)
        files = case.db.execute("SELECT count(*) FROM files").fetchone()[0]
        details = {"format": "CASE/UCO JSON-LD", "path": str(path), "sha256": digest, "inventory_files": files}
        with case.run("exported", examiner=examiner, details=details) as act:
            if path.is_relative_to(case.root):  # outside the case, the details carry its hash
                act.outputs[str(path.relative_to(case.root))] = digest
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return {"out": str(path), "sha256": digest, "files": files}
