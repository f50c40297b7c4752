"""The optional batch steps: ``types``, ``yara``, ``hashsets`` and ``sop:<id>``.

As in ``batch.steps``, each is split into what a worker computes and what the coordinator stores:

- ``types`` and ``yara``: a worker opens the evidence read-only and runs the content pass of
  ``scan types`` / ``scan yara --no-types`` (``scan.engine.ContentPass``); the coordinator maps
  the results to the inventory and records them with ``pipeline.scan.record_scan``, so the rows
  and the entry are those of the single command.
- ``hashsets``: the lookup reads only the inventory's hashes in the case database, not the
  evidence, so the coordinator runs ``pipeline.scan.check_exhibit`` itself (sending millions of
  hashes to a worker would cost more than the lookup: a sorted-array search).
- ``sop:<id>``: ``sop run`` without answers or a terminal (``sop.runner.run_sop``): its automated
  steps run and are recorded, it pauses at the first step needing an examiner. Its actions open
  the case, so it runs in the coordinator (docs/batch.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidencekit.case.examiners import Examiner
from evidencekit.case.store import Case
from evidencekit.errors import CaseError
from evidencekit.hashing import sha256_file

if TYPE_CHECKING:  # yara, libmagic and numpy are imported by the steps that use them
    from evidencekit.scan.engine import ContentPass, FileResult
    from evidencekit.scan.hashsets import HashSet
    from evidencekit.scan.yara import RuleSet

CONTENT_STEPS = ("types", "yara")
_RULES: dict[tuple[str, int], RuleSet] = {}  # a worker compiles a rules path once per batch


class CaseTools:
    """A case's rules and hash sets, made once for all its exhibits (in the coordinator)."""

    def __init__(self, options: Any, relative: Callable[[str], Path]):
        self.options, self.relative = options, relative
        self._content: dict[str, ContentPass] = {}
        self._sets: list[HashSet] | None = None

    def content(self, step: str) -> ContentPass:
        if step not in self._content:
            rules = str(self.relative(self.options.yara)) if step == "yara" else None
            self._content[step] = content_pass(rules, self.options.yara_timeout)
        return self._content[step]

    def hashsets(self) -> list[HashSet]:
        if self._sets is None:
            self._sets = resolve_hashsets(self.options.hashsets, self.relative)
        return self._sets

    def expect(self, step: str) -> dict[str, Any]:
        """What an earlier run must have used to count as this step done."""
        if step == "yara":
            scanner = self.content("yara").scanner
            return {"rules_sha256": scanner.ruleset.sha256 if scanner else None}
        if step == "hashsets":
            return {"hashsets": [hashset_name(spec, self.relative) for spec in self.options.hashsets]}
        return {}


def content_pass(rules: str | None, timeout: int) -> ContentPass:
    """The pass of ``scan types`` (``rules`` None) or of ``scan yara --no-types``."""
    from evidencekit.scan.engine import ContentPass
    from evidencekit.scan.yara import YaraScanner, compile_rules

    if rules is None:
        return ContentPass(None, types=True)
    key = (rules, int(Path(rules).stat().st_mtime_ns))
    if key not in _RULES:
        _RULES[key] = compile_rules(rules)
    return ContentPass(YaraScanner(_RULES[key], timeout=timeout), types=False)


def scan_entries(content: ContentPass, entries: Any, check: Any) -> tuple[list[FileResult], str | None]:
    """Worker half: the pass over ``entries`` (``check`` is called per file: the unit's time-out)."""
    out = []
    for res in content.run(entries, lambda record: check()):
        out.append(res)
    return out, content.scanner.ruleset.sha256 if content.scanner else None


def store_content(case: Case, examiner: Examiner, exhibit_id: str, content: ContentPass,
                  got: tuple[list[FileResult], str | None], started: int) -> dict[str, Any]:
    """Coordinator half: results mapped to the inventory and recorded as ``scan`` records them."""
    from evidencekit.pipeline.scan import collected, inventory_ids, record_scan

    results, rules_sha = got
    if content.scanner is not None and rules_sha != content.scanner.ruleset.sha256:
        raise CaseError("{source}: the rules changed during the batch (a worker compiled {rules_sha}); "
                        "nothing recorded", source=content.scanner.ruleset.source, rules_sha=rules_sha)
    ids = inventory_ids(case.db, exhibit_id)
    if not ids:
        raise CaseError("{root}: exhibit {exhibit_id} has no inventory yet; add 'process' to its steps",
                        root=case.root, exhibit_id=exhibit_id)
    return record_scan(case, exhibit_id, examiner, content, collected(ids, results), started)


def resolve_hashsets(specs: list[Any], relative: Callable[[str], Path]) -> list[HashSet]:
    """The manifest's hash sets: imported ones by name; hash lists imported on first use under a
    name made of the file's stem and hash (as an SOP's ``hashset_match`` does)."""
    from evidencekit.scan.hashsets import import_hash_set, open_hash_set, store_dir

    out = []
    for spec in specs:
        name = hashset_name(spec, relative)
        if spec.file is not None and not (store_dir() / name / "manifest.json").is_file():
            path = relative(spec.file)
            import_hash_set(name, path, spec.kind, description=f"hash list {path} (batch manifest)")
        out.append(open_hash_set(name))
    return out


def hashset_name(spec: Any, relative: Callable[[str], Path]) -> str:
    if spec.name is not None:
        return str(spec.name)
    path = relative(spec.file)
    return f"batch-{path.stem.replace('.', '-')}-{sha256_file(path)[:12]}"


def store_hashsets(case: Case, examiner: Examiner, exhibit_id: str, sets: list[HashSet]) -> dict[str, Any]:
    from evidencekit.pipeline.scan import check_exhibit

    return check_exhibit(case, exhibit_id, examiner, sets)


def run_sop_step(case: Case, examiner: Examiner, exhibit_id: str, sop_id: str) -> tuple[str, str]:
    """``sop run`` of ``sop_id`` on the exhibit, unattended: (completed | stopped | paused, message)."""
    from evidencekit.sop.library import find_sop
    from evidencekit.sop.runner import run_sop

    outcome = run_sop(case, exhibit_id, find_sop(sop_id), examiner)
    message = outcome.message or f"{sop_id} {outcome.status} on {exhibit_id}"
    return outcome.status, message


# -- what is done already (a rerun skips it) ---------------------------------------------------
def step_finished(case: Case, exhibit_id: str, step: str, tools: CaseTools) -> bool:
    """Whether the case holds ``step`` finished, whoever did it (``batch run`` skips it, ``batch
    status`` shows it done); reads the case only."""
    from evidencekit.batch import steps
    from evidencekit.batch.manifest import SOP_PREFIX

    if step.startswith(SOP_PREFIX):
        return sop_done(case, exhibit_id, step[len(SOP_PREFIX):])
    if step in ("types", "yara", "hashsets"):
        return analysis_done(case, exhibit_id, step, tools.expect(step), steps.processed_seq(case, exhibit_id))
    return steps.step_done(case, exhibit_id, step)


def analysis_done(case: Case, exhibit_id: str, step: str, expect: dict[str, Any], processed_seq: int) -> bool:
    """An 'analysed' entry of this kind after the exhibit's last processing, with the same rules
    (yara) or hash sets (hashsets)."""
    for (body,) in case.db.execute("SELECT body FROM ledger WHERE exhibit = ? AND action = 'analysed' "
                                     "AND seq > ? ORDER BY seq DESC", (exhibit_id, processed_seq)):
        entry = json.loads(body)
        details, inputs = entry.get("details", {}), entry.get("inputs", {})
        if details.get("analysis") != step:
            continue
        if step == "yara" and inputs.get("rules_sha256") != expect.get("rules_sha256"):
            continue
        if step == "hashsets" and sorted(k for k in inputs if k.startswith("hashset:")) != \
                sorted(f"hashset:{n}" for n in expect.get("hashsets", [])):
            continue
        return True
    return False


def sop_done(case: Case, exhibit_id: str, sop_id: str) -> bool:
    """The SOP's last run on the exhibit is completed or stopped (a paused run is continued)."""
    from evidencekit.sop.state import load_runs

    runs = load_runs(case.entries(), exhibit_id, sop_id)
    return bool(runs) and runs[-1].status != "open"


def now_ns() -> int:
    return time.time_ns()
