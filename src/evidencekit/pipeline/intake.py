"""Registering an exhibit: reference the evidence by path and by the hash of its decoded media."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.case.examiners import Examiner
from evidencekit.case.store import Case
from evidencekit.errors import CaseError, ValidationError
from evidencekit.hashing import ALGORITHMS, HEX_LENGTHS, parse_hash_value
from evidencekit.references import IntegrityCheck, Reference, references_from
from evidencekit.sources import Credentials

EXHIBIT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Seizure:
    """What the exhibit label says: description, seal, where, when and from whom."""

    description: str | None = None
    seal: str | None = None
    seized_from: str | None = None
    seized_at: str | None = None
    seized_on: str | None = None
    received_from: str | None = None
    # The zone the seized machine's clock ran in (IANA name): FAT and zip DOS times are read in it.
    source_tz: str | None = None


def parse_acquisition_hash(text: str) -> tuple[str, str]:
    """``ALG:HEX`` -> (alg, lowercase hex); ValidationError when malformed."""
    return parse_hash_value(text, "acquisition hash")


def media_digests(ev: Any, algorithms: Iterable[str], progress: Callable[[int], None] | None = None) -> dict[str, str]:
    """Hashes of what the evidence is: decoded media, archive file, or directory tree manifest."""
    from evidencekit.verify import media_digests as digests

    return digests(ev, tuple(algorithms), progress)


def reference_hashes(exhibit: Any) -> list[Reference]:
    """Every hash the exhibit's media must match: registered at intake, the acquisition hash the
    examiner stated, the container's stored hashes, and hashes in sidecar files (in that order)."""
    refs = references_from("registered", dict(exhibit.hashes))
    if exhibit.acquisition_alg and exhibit.acquisition_hash:
        refs += references_from("acquisition", {exhibit.acquisition_alg: exhibit.acquisition_hash})
    refs += references_from("container", {k: v for k, v in exhibit.stored_hashes.items() if k in HEX_LENGTHS and v})
    refs += references_from("sidecar", dict(exhibit.sidecar_hashes))
    return refs


def add_exhibit(
    case: Case,
    path: str | os.PathLike[str],
    exhibit_id: str,
    examiner: Examiner,
    seizure: Seizure | None = None,
    acquisition_hash: str | None = None,
    progress: Callable[[int], None] | None = None,
    copy: bool = False,
    name_encoding: str | None = None,
    credentials: Credentials | None = None,
) -> dict[str, Any]:
    """Open the evidence read-only, hash its decoded media, record the exhibit and a 'received' entry.

    The evidence is referenced where it is; with ``copy`` its files are first copied into
    ``evidence/<exhibit>/`` of the case (each hashed while copied) and the copy is registered.
    ``name_encoding`` (cp1251, cp866, koi8-r) is the code page the exhibit's archive or folder names
    that are not UTF-8 are read in, from now on; the entry records it. ``credentials``: the key of
    an encrypted volume or backup, checked but never stored.
    """
    from evidencekit.sources.names import check_name_encoding

    extra: dict[str, Any] = {}
    encoding = check_name_encoding(name_encoding)
    if encoding:
        extra["name_encoding"] = encoding
    if not EXHIBIT_ID.match(exhibit_id):
        raise ValidationError("exhibit id {exhibit_id!r}: use 1-64 letters, digits, '.', '_', '/' or '-'",
                              exhibit_id=exhibit_id)
    if case.db.execute("SELECT 1 FROM exhibits WHERE id = ?", (exhibit_id,)).fetchone():
        raise CaseError("{path}: exhibit {exhibit} is already registered", path=case.root, exhibit=exhibit_id)
    acq = parse_acquisition_hash(acquisition_hash) if acquisition_hash else None
    if seizure is not None and seizure.source_tz:
        from evidencekit.times import zone

        zone(seizure.source_tz)  # ValidationError when unknown
    original = str(Path(path).absolute())
    if not copy:
        return _register(case, original, exhibit_id, examiner, seizure or Seizure(), acq, progress, extra, credentials)
    copied_path, copied = copy_evidence(case, original, exhibit_id)
    try:
        return _register(case, copied_path, exhibit_id, examiner, seizure or Seizure(), acq, progress,
                         {**extra, "copied_from": original, "copied_files_sha256": copied}, credentials)
    except BaseException:
        shutil.rmtree(Path(copied_path).parent, ignore_errors=True)
        raise


def _register(
    case: Case, evidence_path: str, exhibit_id: str, examiner: Examiner, seizure: Seizure,
    acq: tuple[str, str] | None, progress: Callable[[int], None] | None, extra: dict[str, Any],
    credentials: Credentials | None = None,
) -> dict[str, Any]:
    from evidencekit.sources import open_evidence

    # locked_ok: the media is hashed as it is; a key, when given, is checked here (never stored)
    with open_evidence(evidence_path, credentials, locked_ok=True, source_tz=seizure.source_tz,
                       name_encoding=extra.get("name_encoding")) as ev:
        digests = media_digests(ev, ALGORITHMS, progress)
        _refuse_empty_media(ev, digests)
        stored = dict(ev.acquisition.stored_hashes) if ev.acquisition else {}
        sidecars, notes = sidecar_hashes(ev)
        row = _exhibit_row(exhibit_id, ev, digests, stored, seizure, acq)
        row["sidecar_hashes"] = json.dumps({alg: ref[0] for alg, ref in sidecars.items()}, sort_keys=True)
        if extra.get("name_encoding"):
            row["name_encoding"] = extra["name_encoding"]
        if sidecars:
            extra = {**extra, "sidecars": {alg: ref[1] for alg, ref in sidecars.items()}}
        if notes:
            extra = {**extra, "sidecar_notes": notes}
        if ev.device:
            extra = {**extra, "device": dict(ev.device)}
        if ev.devices:
            extra = {**extra, "devices": {name: dict(device) for name, device in ev.devices.items()}}
    refs = [r for r in reference_hashes(_RowView(row)) if r.origin != "registered"]
    mismatches = IntegrityCheck("intake", tuple(refs), digests).mismatches
    details = {k: v for k, v in vars(seizure).items() if v}
    details.update(path=evidence_path, kind=row["kind"], format_chain=json.loads(row["format_chain"]),
                   media_size=row["media_size"],
                   acquisition_check=("mismatch" if mismatches else "match") if refs else "no acquisition hash",
                   mismatches=mismatches, **extra)
    inputs = {"media_" + k: v for k, v in digests.items()}
    inputs.update({f"{r.origin}_{r.algorithm}": r.value for r in refs})
    with case.run("received", examiner=examiner, exhibit=exhibit_id, details=details, inputs=inputs) as act:
        cols = ", ".join(row)
        act.db.execute(f"INSERT INTO exhibits ({cols}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
    return {"exhibit": exhibit_id, "hashes": digests, "acquisition_check": details["acquisition_check"],
            "mismatches": mismatches}


def _refuse_empty_media(ev: Any, digests: dict[str, str]) -> None:
    """A hash of zero bytes signed for a file that holds some is a false statement: refuse it."""
    if ev.kind == "directory" or digests.get("sha256") != EMPTY_SHA256:
        return
    held = sum(os.stat(f).st_size for f in (ev.segment_files or [ev.path]) if os.path.isfile(f))
    if held:
        raise CaseError("{path}: its media hashes as zero bytes although the file holds {held:,} bytes "
                        "(truncated or damaged container): not registered", path=ev.path, held=held)


def copy_evidence(case: Case, path: str, exhibit_id: str) -> tuple[str, dict[str, str]]:
    """Copy every file of the evidence (all segments) into ``evidence/<exhibit>/``; sha256 of each."""
    from evidencekit.sources import open_evidence

    with open_evidence(path) as ev:
        if ev.kind == "directory":
            raise CaseError("{path}: --copy takes image and archive files, not a folder", path=path)
        files = [Path(p) for p in (ev.segment_files or [ev.path])]
    dest = case.root / "evidence" / exhibit_id.replace("/", "_")
    if dest.exists():
        raise CaseError("{dest}: already exists", dest=dest)
    dest.parent.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        copied = {f.name: _copy_hashed(f, tmp / f.name) for f in files}
        tmp.rename(dest)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CaseError("{path}: copying the evidence into {dest} failed: {cause}", path=path, dest=dest,
                        cause=err) from err
    return str(dest / Path(path).name), copied


def _copy_hashed(src: Path, dst: Path) -> str:
    digest = hashlib.sha256()
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        while chunk := fin.read(1 << 20):
            digest.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    os.chmod(dst, 0o444)
    return digest.hexdigest()


def sidecar_hashes(ev: Any) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Hashes of the whole evidence stated in sidecar files ({alg: (hex, source)}) and notes."""
    from evidencekit.verify import media_is_file, sidecar_references

    notes: list[str] = []
    found: dict[str, tuple[str, str]] = {}
    for ref in sidecar_references(ev, notes):
        if ref.subject is not None and not (ref.subject == ev.path and media_is_file(ev)):
            continue  # a hash of one segment file: not the media
        if ref.algorithm in found and found[ref.algorithm][0] != ref.value:
            notes.append(f"{ref.source}: {ref.algorithm} differs from {found[ref.algorithm][1]}; the first is kept")
            continue
        found.setdefault(ref.algorithm, (ref.value, ref.source))
    return found, notes


class _RowView:
    def __init__(self, row: dict[str, Any]):
        self.hashes = {k: row[k] for k in ALGORITHMS if row.get(k)}
        self.acquisition_alg = row["acquisition_alg"]
        self.acquisition_hash = row["acquisition_hash"]
        self.stored_hashes = json.loads(row["stored_hashes"])
        self.sidecar_hashes = json.loads(row.get("sidecar_hashes", "{}"))


def _exhibit_row(
    exhibit_id: str, ev: Any, digests: dict[str, str], stored: dict[str, str], seizure: Seizure,
    acq: tuple[str, str] | None,
) -> dict[str, Any]:
    row: dict[str, Any] = {"id": exhibit_id, "path": str(ev.path), "kind": ev.kind}
    row.update(vars(seizure))
    row.update(
        acquisition_alg=acq[0] if acq else None, acquisition_hash=acq[1] if acq else None,
        stored_hashes=json.dumps({k.lower(): v.lower() for k, v in stored.items()}, sort_keys=True),
        media_size=ev.media_size, md5=digests.get("md5"), sha1=digests.get("sha1"),
        sha256=digests.get("sha256"), format_chain=json.dumps(list(ev.format_chain)),
        segment_files=json.dumps([str(s) for s in ev.segment_files]), added_ns=time.time_ns(),
        status="registered",
    )
    return row
