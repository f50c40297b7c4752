"""Custody bundles: a directory or zip carrying the ledger, the public keys, the signed head, a
manifest of output hashes and the output files themselves, verifiable without the case database.

Layout::

    case.json      case id, number, title, authority, export time, exporting examiner
    ledger.jsonl   one entry per line (``LedgerEntry.to_dict``), in sequence order
    keys.json      {examiner id: {name, public_key (raw, base64), fingerprint}}
    head.json      the signed ledger head {seq, entry_hash, examiner, signature}
    manifest.json  {relative path: sha256} of every file under files/
    files/...      the exported and report files the ledger names (exports/…, reports/…)
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from evidencekit.case import chain_check, custody
from evidencekit.case.examiners import Examiner
from evidencekit.case.ledger import LedgerEntry
from evidencekit.case.store import META_FIELDS, Case
from evidencekit.errors import CustodyError
from evidencekit.hashing import sha256_file


def export_bundle(case: Case, out: str | Path, examiner: Examiner) -> dict[str, Any]:
    """Record an 'exported' entry, then write the bundle (a .zip when ``out`` ends in .zip)."""
    out = Path(out).absolute()
    if out.exists():
        raise CustodyError("{out}: already exists; choose a new bundle path", out=out)
    if not out.parent.is_dir():
        raise CustodyError("{parent}: no such directory", parent=out.parent)
    rows = custody.require_entries(case)
    files = {k: v for k, (_, v) in custody.latest_outputs(rows).items() if custody.is_file_output(k, v)}
    for key, expected in files.items():  # refuse to ship a file that no longer matches its entry
        if not (case.root / key).is_file() or sha256_file(case.root / key) != expected:
            raise CustodyError("{path}: does not match the hash the ledger recorded; run custody verify",
                               path=case.root / key)
    details = {"bundle": out.name, "format": "zip" if out.suffix == ".zip" else "directory", "files": sorted(files)}
    with case.run("exported", examiner=examiner, details=details) as act:
        pass
    assert act.entry is not None
    _write(case, out, files)
    return {"bundle": str(out), "entries": act.entry.seq, "files": len(files)}


def _write(case: Case, out: Path, files: dict[str, str]) -> None:
    keys = {r[0]: {"name": r[1], "public_key": r[2], "fingerprint": r[3]}
            for r in case.db.execute("SELECT id, name, public_key, fingerprint FROM examiners ORDER BY id")}
    head = case.db.execute("SELECT seq, entry_hash, examiner, signature FROM ledger_head").fetchone()
    docs: dict[str, bytes] = {
        "case.json": _json({"id": case.id, **{k: case.meta.get(k, "") for k in META_FIELDS}}),
        "ledger.jsonl": "".join(json.dumps(e.to_dict(), sort_keys=True) + "\n" for e in case.entries()).encode(),
        "keys.json": _json(keys),
        "head.json": _json(dict(zip(("seq", "entry_hash", "examiner", "signature"), head, strict=True))),
        "manifest.json": _json({f"files/{k}": v for k, v in sorted(files.items())}),
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        if out.suffix == ".zip":
            _write_zip(tmp / out.name, docs, case.root, files)
            (tmp / out.name).rename(out)
            tmp.rmdir()
        else:
            _write_dir(tmp, docs, case.root, files)
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def _write_dir(target: Path, docs: dict[str, bytes], root: Path, files: dict[str, str]) -> None:
    for name, data in docs.items():
        (target / name).write_bytes(data)
    for key in files:
        dest = target / "files" / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / key, dest)


def _write_zip(target: Path, docs: dict[str, bytes], root: Path, files: dict[str, str]) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in docs.items():
            zf.writestr(name, data)
        for key in files:
            zf.write(root / key, f"files/{key}")


class BundleReader:
    """Read a bundle from a directory or a zip file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._zip = zipfile.ZipFile(self.path) if self.path.is_file() and zipfile.is_zipfile(self.path) else None
        if self._zip is None and not (self.path / "ledger.jsonl").is_file():
            raise CustodyError("{path}: not a custody bundle (no ledger.jsonl) and not a case",
                               path=self.path)

    def names(self) -> set[str]:
        if self._zip is not None:
            return set(self._zip.namelist())
        return {str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file()}

    def read(self, name: str) -> bytes | None:
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (self.path / name).read_bytes()
        except (KeyError, OSError):
            return None

    def doc(self, name: str) -> Any:
        data = self.read(name)
        if data is None:
            raise CustodyError("{path}: bundle lacks {name}", path=self.path, name=name)
        try:
            return json.loads(data)
        except ValueError as err:
            raise CustodyError("{path}: {name} is not valid JSON ({cause})", path=self.path, name=name,
                               cause=err) from err


def bundle_view(path: str | Path) -> chain_check.LedgerView:
    """The ledger view of a bundle, with its output files checked against the signed entries."""
    reader = BundleReader(path)
    case = reader.doc("case.json")
    data = reader.read("ledger.jsonl") or b""
    try:
        rows = [LedgerEntry.from_dict(json.loads(line)) for line in io.StringIO(data.decode()) if line.strip()]
    except (ValueError, KeyError, TypeError) as err:
        raise CustodyError("{path}: ledger.jsonl is malformed ({cause})", path=path, cause=err) from err
    keys = {k: v["public_key"] for k, v in reader.doc("keys.json").items()}
    head_doc = reader.doc("head.json")
    head = chain_check.Head(head_doc["seq"], head_doc["entry_hash"], head_doc["examiner"], head_doc["signature"])
    notes = ["results stored in the case database (db:… outputs) are not part of a bundle and are not re-checked"]
    extra = custody._key_store_findings(keys, notes) + _case_doc_findings(case, rows)
    return chain_check.LedgerView(case["id"], rows, keys, head, _bundle_outputs(reader), extra, notes)


def _case_doc_findings(case: dict[str, Any], rows: list[LedgerEntry]) -> list[chain_check.Finding]:
    """case.json must say what the signed 'created' entry says."""
    created = next((e for e in rows if e.action == "created"), None)
    if created is None:
        return []
    return [chain_check.Finding("case", f"case.json {key} altered: entry {created.seq} says {signed!r}, "
                             f"case.json says {case.get(key, '')!r}")
            for key in META_FIELDS if (signed := created.body.get("details", {}).get(key, "")) != case.get(key, "")]


def _bundle_outputs(reader: BundleReader) -> Any:
    def check(rows: list[LedgerEntry]) -> list[chain_check.Finding]:
        found: list[chain_check.Finding] = []
        manifest = reader.doc("manifest.json")
        present = reader.names()
        for key, (seq, value) in custody.latest_outputs(rows).items():
            if not custody.is_file_output(key, value):
                continue
            data = reader.read(f"files/{key}")
            if data is None:
                if f"files/{key}" in manifest or seq <= _exported_seq(rows):
                    found.append(chain_check.Finding("output", f"exported file {key} (entry {seq}) missing from bundle"))
                continue
            got = hashlib.sha256(data).hexdigest()
            if got != value:
                found.append(chain_check.Finding("output", f"exported file {key} (entry {seq}) altered: "
                                              f"sha256 expected {value} got {got}"))
        for name in sorted(n for n in present if n.startswith("files/") and n not in manifest):
            found.append(chain_check.Finding("output", f"bundle file {name} is not in the manifest"))
        return found

    return check


def _exported_seq(rows: list[LedgerEntry]) -> int:
    return max((e.seq for e in rows if e.action == "exported"), default=0)


def verify_bundle(path: str | Path) -> chain_check.Report:
    return chain_check.verify(bundle_view(path))
