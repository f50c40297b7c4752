"""CASE/UCO export with the inventory: every file an observable, valid for case_validate, streamed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

from evidencekit.case import Case, examiners
from evidencekit.exporters.case_inventory import export_case, write_graph


def _validator() -> str:
    return shutil.which("case_validate") or str(Path(sys.executable).with_name("case_validate"))


def test_inventory_files_are_observables_and_the_export_validates(processed_case: Case,
                                                                   examiner: examiners.Examiner,
                                                                   tmp_path: Path) -> None:
    out = processed_case.root / "exports" / "case.jsonld"
    result = export_case(processed_case, out, examiner)
    doc = json.loads(out.read_text())
    graph = doc["@graph"]
    files = [n for n in graph if n["@type"] == "observable:File" and n["core:description"].startswith("exhibit E1")]
    rows = processed_case.db.execute("SELECT path, stream, size, md5, sha256 FROM files ORDER BY seq").fetchall()
    assert len(files) == len(rows) == result["files"] > 0
    for node, (path, stream, size, md5, sha256) in zip(files, rows, strict=True):
        facet, *content = node["core:hasFacet"]
        assert facet["observable:filePath"] == path + (f":{stream}" if stream else "")
        assert facet.get("observable:sizeInBytes") == size
        got = {h["types:hashMethod"]: h["types:hashValue"]["@value"] for c in content for h in c["observable:hash"]}
        assert got == {k: v for k, v in (("MD5", md5), ("SHA256", sha256)) if v}
    exhibit_id = next(n["@id"] for n in graph if n["@type"] == "observable:ObservableObject")
    links = [n for n in graph if n["@type"] == "observable:ObservableRelationship"]
    assert len(links) == len(rows) and {n["core:target"][0]["@id"] for n in links} == {exhibit_id}
    entry = processed_case.entries()[-1]
    assert entry.action == "exported" and entry.body["outputs"] == {"exports/case.jsonld": result["sha256"]}
    proc = subprocess.run([_validator(), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0 and "Conforms: True" in proc.stdout, proc.stdout[-3000:]
    records = [n for n in json.loads(out.read_text())["@graph"] if n["@type"] == "investigation:ProvenanceRecord"]
    assert any("ledger entry" in r.get("core:description", "") for r in records) is False  # no outputs yet
    second = export_case(processed_case, processed_case.root / "exports" / "again.jsonld", examiner)
    again = json.loads(Path(second["out"]).read_text())["@graph"]
    assert any(n["@type"] == "investigation:ProvenanceRecord" and "ledger entry" in n.get("core:description", "")
               for n in again)  # the first export is now an output file with its provenance


class _Sink:
    def write(self, data: bytes) -> int:
        return len(data)


def _peak(case: Case) -> int:
    tracemalloc.start()
    write_graph(case, _Sink())  # type: ignore[arg-type]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _grow(case: Case, times: int) -> int:
    """Copy the inventory's real rows under new walk positions until it is ``times`` as large."""
    columns = [r[1] for r in case.db.execute("PRAGMA table_info(files)") if r[1] not in ("id", "seq")]
    base, top = case.db.execute("SELECT count(*), max(seq) FROM files WHERE seq <= 1000000").fetchone()
    have = case.db.execute("SELECT count(*) FROM files").fetchone()[0] // base
    with case.transaction():
        for copy in range(have, times):
            case.db.execute(f"INSERT INTO files (seq, {', '.join(columns)}) SELECT seq + ?, {', '.join(columns)} "
                            "FROM files WHERE seq <= ?", (1_000_000 + copy * (top + 1), top))
    return int(case.db.execute("SELECT count(*) FROM files").fetchone()[0])


def test_memory_stays_flat_as_the_inventory_grows(processed_case: Case) -> None:
    rows = _grow(processed_case, 30)  # past the cursor's batch size: the batch bounds what is held
    peak = _peak(processed_case)
    assert _grow(processed_case, 90) == 3 * rows
    assert _peak(processed_case) < peak * 1.25
