"""yara_scan, hashset_match: the scan layer (evidencekit.scan) on an inventoried exhibit."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from evidencekit.hashing import sha256_file
from evidencekit.sop.registry import StepContext, StepResult, action


class YaraParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: str  # file or folder of rules; relative paths are relative to the SOP file
    fail_on_match: bool = False  # a match is a finding; make it a failed check only if asked
    timeout: int = 60  # seconds per file
    allow_outside_includes: bool = False  # rules may include files outside their folder


class HashsetParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hashset: str | None = None  # name of an imported hash set ('evidencekit hashset import')
    file: str | None = None  # or a hash list shipped with the SOP (imported on first use)
    set_kind: Literal["known-bad", "known-good"] = "known-bad"
    fail_on_match: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> HashsetParams:
        if (self.hashset is None) == (self.file is None):
            raise ValueError("give exactly one of 'hashset' (an imported set) or 'file' (a hash list)")
        return self


@action("yara_scan", params=YaraParams)
def yara_scan(ctx: StepContext, params: YaraParams) -> StepResult:
    """Scan the exhibit's files with YARA rules; matches are recorded findings."""
    from evidencekit.pipeline.scan import scan_exhibit
    from evidencekit.scan.engine import ContentPass
    from evidencekit.scan.yara import YaraScanner, compile_rules

    ruleset = compile_rules(ctx.resolve(params.rules), params.allow_outside_includes)
    content = ContentPass(scanner=YaraScanner(ruleset, timeout=params.timeout), types=False)
    got = scan_exhibit(ctx.case, ctx.exhibit["id"], ctx.examiner, content)
    matches, files = int(got.get("matches", 0)), int(got.get("files_matched", 0))
    values = {"matches": matches, "files_matched": files, "files_scanned": got.get("files_scanned", 0),
              "rules_sha256": ruleset.sha256, "warnings": got.get("warnings", 0)}
    return StepResult.said(not (params.fail_on_match and matches), "yara_done", values=values, matches=matches,
                           files=files, scanned=values["files_scanned"])


@action("hashset_match", params=HashsetParams)
def hashset_match(ctx: StepContext, params: HashsetParams) -> StepResult:
    """Match the exhibit's file hashes against a hash set (known bad or known good)."""
    from evidencekit.pipeline.scan import check_exhibit
    from evidencekit.scan.hashsets import import_hash_set, open_hash_set, store_dir

    name = params.hashset
    if params.file is not None:
        path = ctx.resolve(params.file)
        name = f"sop-{path.stem.replace('.', '-')}-{sha256_file(path)[:12]}"
        if not (store_dir() / name / "manifest.json").is_file():
            import_hash_set(name, path, params.set_kind, description=f"shipped with SOP {ctx.sop.id}")
    assert name is not None
    hashset = open_hash_set(name)
    got = check_exhibit(ctx.case, ctx.exhibit["id"], ctx.examiner, [hashset])
    hits = int(got["results"][hashset.name]["hits"])
    values = {"matches": hits, "hashset": hashset.name, "kind": hashset.kind,
              "files_checked": got["files_checked"], "manifest_sha256": hashset.manifest_sha256}
    return StepResult.said(not (params.fail_on_match and hits), "hashset_done", values=values, hits=hits,
                           kind=hashset.kind, name=hashset.name, checked=got["files_checked"])
