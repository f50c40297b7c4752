"""CASE/UCO JSON-LD export of a case's chain of custody.

One ``investigation:Investigation`` (the case) with its ``investigation:Authorization`` (the legal
authority); each examiner an ``identity:Person``; evidencekit and every library version an
``tool:Tool``; each exhibit an ``observable:ObservableObject`` whose ``ContentDataFacet`` carries
the decoded-media hashes, wrapped in an ``investigation:ProvenanceRecord`` with its exhibit
number; each ledger entry an ``investigation:InvestigativeAction`` (performer, instruments,
objects, results, time, and ``wasInformedBy`` the previous entry) whose description keeps the
entry hash and signature; each output file an ``observable:File`` with its sha256.
Identifiers are ``urn:uuid:`` values derived from the case id (stable across exports).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

from evidencekit.case import custody
from evidencekit.case.examiners import Examiner
from evidencekit.case.ledger import LedgerEntry
from evidencekit.case.store import Case, Exhibit
from evidencekit.errors import CustodyError
from evidencekit.models import iso_utc, parse_iso_utc

CONTEXT = {
    "kb": "urn:uuid:",
    "action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "investigation": "https://ontology.caseontology.org/case/investigation/",
    "observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
HASH_NAMES = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}


class _Ids:
    """Stable identifiers: uuid5 of the case id and a local name."""

    def __init__(self, case_id: str):
        self.ns = uuid.UUID(case_id)

    def __call__(self, *parts: object) -> str:
        return f"kb:{uuid.uuid5(self.ns, '/'.join(map(str, parts)))}"


def _time(ns: int) -> dict[str, str]:
    return {"@type": "xsd:dateTime", "@value": iso_utc(ns) or ""}


def _hashes(ids: _Ids, values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"@id": ids("hash", alg, value), "@type": "types:Hash", "types:hashMethod": HASH_NAMES[alg],
             "types:hashValue": {"@type": "xsd:hexBinary", "@value": value}}
            for alg, value in sorted(values.items()) if alg in HASH_NAMES and value]


def build_graph(case: Case) -> dict[str, Any]:
    """The JSON-LD document of the case (as it is now) as a dict."""
    ids = _Ids(case.id)
    rows = case.entries()
    graph: list[dict[str, Any]] = [_authorization(case, ids)]
    graph += _people(case, ids)
    tools = _tools(rows, ids)
    graph += tools.values()
    for ex in case.exhibits():
        graph += _exhibit(ex, ids)
    files = _files(rows, ids)
    graph += files.values()
    graph += [_action(e, ids, tools, files) for e in rows]
    objects = [{"@id": node["@id"]} for node in graph]
    graph.insert(0, {
        "@id": ids("investigation"), "@type": "investigation:Investigation",
        "core:name": case.meta["number"], "core:description": case.meta["title"],
        "investigation:investigationForm": "case", "investigation:investigationStatus": "open",
        "investigation:relevantAuthorization": {"@id": ids("authorization")}, "core:object": objects,
    })
    return {"@context": CONTEXT, "@graph": graph}


def _authorization(case: Case, ids: _Ids) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": ids("authorization"), "@type": "investigation:Authorization",
        "investigation:authorizationType": "legal authority",
        "investigation:authorizationIdentifier": case.meta["authority"],
    }
    date = case.meta.get("authority_date")
    if date:
        try:
            node["core:startTime"] = _time(parse_iso_utc(date if "T" in date else date + "T00:00:00Z"))
        except ValueError:
            node["core:description"] = f"authority date: {date}"
    return node


def _people(case: Case, ids: _Ids) -> list[dict[str, Any]]:
    return [{"@id": ids("examiner", r[0]), "@type": "identity:Person", "core:name": r[1],
             "core:description": f"evidencekit examiner {r[0]}, Ed25519 key SHA256:{r[2]}"}
            for r in case.db.execute("SELECT id, name, fingerprint FROM examiners ORDER BY id")]


def _tools(rows: list[LedgerEntry], ids: _Ids) -> dict[tuple[str, str], dict[str, Any]]:
    tools: dict[tuple[str, str], dict[str, Any]] = {}
    for e in rows:
        for name, version in sorted(e.body.get("tools", {}).items()):
            key = (name, str(version))
            if key not in tools:
                tools[key] = {"@id": ids("tool", name, version), "@type": "tool:Tool", "core:name": name,
                              "tool:version": str(version),
                              "tool:toolType": "forensic" if name == "evidencekit" else "library"}
    return tools


def _exhibit(ex: Exhibit, ids: _Ids) -> list[dict[str, Any]]:
    facet: dict[str, Any] = {"@id": ids("exhibit", ex.id, "content"), "@type": "observable:ContentDataFacet",
             "observable:hash": _hashes(ids, ex.hashes)}
    if ex.media_size is not None:
        facet["observable:sizeInBytes"] = ex.media_size
    label = "; ".join(f"{k}: {v}" for k, v in (("seal", ex.seal), ("seized from", ex.seized_from),
                                                 ("seized at", ex.seized_at), ("seized on", ex.seized_on),
                                                 ("received from", ex.received_from)) if v)
    obj = {"@id": ids("exhibit", ex.id), "@type": "observable:ObservableObject", "core:name": ex.id,
           "core:description": f"{ex.description or 'exhibit'} ({ex.kind} {' > '.join(ex.format_chain)}, "
                               f"path {ex.path}; hashes of the decoded media)" + (f"; {label}" if label else ""),
           "core:hasFacet": [facet]}
    record = {"@id": ids("provenance", ex.id), "@type": "investigation:ProvenanceRecord",
              "investigation:exhibitNumber": ex.id, "investigation:rootExhibitNumber": ex.id,
              "core:object": [{"@id": obj["@id"]}]}
    return [obj, record]


def _files(rows: list[LedgerEntry], ids: _Ids) -> dict[str, dict[str, Any]]:
    files: dict[str, dict[str, Any]] = {}
    for e in rows:
        for key, value in e.body.get("outputs", {}).items():
            if custody.is_file_output(key, value):
                node_id = ids("file", key, value)
                files[f"{e.seq}:{key}"] = {
                    "@id": node_id, "@type": "observable:File", "core:name": key,
                    "core:hasFacet": [
                        {"@id": ids("file", key, value, "file"), "@type": "observable:FileFacet",
                         "observable:fileName": key.rsplit("/", 1)[-1], "observable:filePath": key},
                        {"@id": ids("file", key, value, "content"), "@type": "observable:ContentDataFacet",
                         "observable:hash": _hashes(ids, {"sha256": value})},
                    ]}
    return files


def _action(e: LedgerEntry, ids: _Ids, tools: dict[tuple[str, str], dict[str, Any]],
            files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    record = {"seq": e.seq, "entry_hash": e.entry_hash, "prev_hash": e.prev_hash, "signature": e.signature,
              "details": e.body.get("details", {}), "inputs": e.body.get("inputs", {}),
              "outputs": e.body.get("outputs", {}), "host": e.body.get("host", {}),
              "command": e.body.get("command", [])}
    node: dict[str, Any] = {
        "@id": ids("entry", e.seq), "@type": "investigation:InvestigativeAction", "core:name": e.action,
        "core:description": json.dumps(record, sort_keys=True),
        "action:startTime": _time(e.time_ns), "action:endTime": _time(e.time_ns),
        "action:performer": {"@id": ids("examiner", e.examiner)},
        "action:instrument": [{"@id": tools[(n, str(v))]["@id"]} for n, v in sorted(e.body.get("tools", {}).items())],
    }
    if e.exhibit:
        node["action:object"] = [{"@id": ids("provenance", e.exhibit)}]
    results = [{"@id": f["@id"]} for k, f in files.items() if k.startswith(f"{e.seq}:")]
    if results:
        node["action:result"] = results
    if e.seq > 1:
        node["investigation:wasInformedBy"] = {"@id": ids("entry", e.seq - 1)}
    return node


def export_case(case: Case, out: str | Path | None, examiner: Examiner) -> dict[str, Any]:
    """Write the JSON-LD and record an 'exported' entry whose output is its sha256.

    The document describes the ledger up to (not including) the 'exported' entry that names it.
    """
    path = Path(out).absolute() if out else case.root / "exports" / f"custody-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.jsonld"
    if path.exists():
        raise CustodyError("{path}: already exists; choose a new file name", path=path)
    if not path.parent.is_dir():
        raise CustodyError("{parent}: no such directory", parent=path.parent)
    data = (json.dumps(build_graph(case), indent=2, sort_keys=True) + "\n").encode()
    digest = hashlib.sha256(data).hexdigest()
    try:
        key = str(path.relative_to(case.root))
    except ValueError:
        key = None
    tmp = path.with_name(f".{path.name}.tmp")
    details = {"format": "CASE/UCO JSON-LD", "path": str(path), "sha256": digest}
    with case.run("exported", examiner=examiner, details=details) as act:
        tmp.write_bytes(data)
        if key is not None:
            act.outputs[key] = digest
        tmp.replace(path)  # inside the transaction: a failed commit leaves the file, never the reverse
    return {"out": str(path), "sha256": digest}
