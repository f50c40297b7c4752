"""The batch manifest: which cases, which exhibits, which steps. ``docs/batch-manifest-schema.json`` is made from it.

YAML, parsed with line numbers so that every problem is reported as ``file:line:column: where:
what`` (exit 2). Checks that need no evidence (unknown fields, duplicate exhibit ids within a
case, duplicate case directories, exhibit id syntax) are made here; checks that need the disk
or a worker (the evidence path exists, the case directory holds this case, the password) are
per-exhibit failures in the run, so that one bad exhibit does not stop the others.

Print the schema: ``python -m evidencekit.batch.manifest > docs/batch-manifest-schema.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic import ValidationError as PydanticError

from evidencekit.errors import ValidationError

# The SOP loader's line-numbered reader: YAML through evidencekit.yamlsafe (bounded alias
# expansion, duplicate keys refused), with every node's line for the error messages.
from evidencekit.sop.yamlsrc import Problem, SopValidationError, Source, parse_yaml, pydantic_problems

Step = Literal["intake", "process", "timeline", "types", "yara", "hashsets"]
STEPS: tuple[Step, ...] = ("intake", "process", "timeline", "types", "yara", "hashsets")
SOP_PREFIX = "sop:"
SopStep = Annotated[str, StringConstraints(pattern=r"^sop:[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
DEFAULT_STEPS: tuple[Step, ...] = ("intake", "process", "timeline")
HashName = Literal["md5", "sha1", "sha256"]
DEFAULT_HASHES: tuple[HashName, ...] = ("md5", "sha256")  # as case process
EXHIBIT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
HASH_VALUE = r"^[A-Za-z0-9-]+:[0-9A-Fa-f]+$"


class ManifestError(SopValidationError):
    """One or more problems in a batch manifest; ``str()`` is the first (file:line:column), exit 2."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExhibitSpec(_Strict):
    """One exhibit: where the evidence is and what its label says."""

    id: str = Field(description="exhibit id, as `case add --exhibit` takes it")
    path: str = Field(description="the evidence (image, first segment, archive or folder); same path on every worker")
    seal: str | None = Field(None, description="seal number")
    description: str | None = Field(None, description="what the exhibit is")
    seized_from: str | None = None
    seized_at: str | None = None
    seized_on: str | None = None
    received_from: str | None = None
    expect: list[str] = Field(default_factory=list, description="acquisition hashes, ALG:HEX (the first is registered)")
    password_env: str | None = Field(None, description="name of an environment variable holding the password; "
                                                       "never the password itself")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not EXHIBIT_ID.match(value):
            raise ValueError("use 1-64 letters, digits, '.', '_', '/' or '-'")
        return value

    @field_validator("expect")
    @classmethod
    def _expect(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(HASH_VALUE, value):
                raise ValueError(f"{value!r} is not ALG:HEX")
        return values

    @field_validator("password_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError("must be the name of an environment variable")
        return value


class HashsetSpec(_Strict):
    """A hash set: an imported one by name, or a hash list file (imported on first use)."""

    name: str | None = Field(None, description="an imported hash set ('evidencekit hashset import')")
    file: str | None = Field(None, description="a hash list (plain, md5sum, hashdeep, NSRL; relative to the manifest)")
    kind: Literal["known-bad", "known-good"] = "known-bad"

    @model_validator(mode="after")
    def _one_source(self) -> HashsetSpec:
        if (self.name is None) == (self.file is None):
            raise ValueError("give exactly one of 'name' (an imported set) or 'file' (a hash list)")
        return self


class Options(_Strict):
    """How the steps run (defaults as the single commands)."""

    hashes: list[HashName] = Field(default_factory=lambda: list(DEFAULT_HASHES),
                                                            description="inventory hashes (case process --hash)")
    artifacts: str = Field("default", description="plaso artefacts for the timeline; 'none' for the file system only")
    unit_timeout: float | None = Field(None, gt=0, description="seconds any one unit may run; it stops itself "
                                                              "(plaso: a recorded warning, the timeline goes on; other "
                                                              "units: a recorded warning and the exhibit fails)")
    yara: str | None = Field(None, description="rules file or folder for the 'yara' step (relative to the manifest)")
    yara_timeout: int = Field(60, ge=1, description="seconds per file for the 'yara' step (scan yara --timeout)")
    hashsets: list[HashsetSpec] = Field(default_factory=list, description="hash sets for the 'hashsets' step")
    whole_below_mb: float = Field(64, ge=0, description="an exhibit whose evidence files are smaller (MB) is read "
                                                         "for intake and processing in one unit; 0: never")


def _default_steps() -> list[Step | SopStep]:
    return list(DEFAULT_STEPS)


class CaseSpec(_Strict):
    """One case: created when its directory is absent, reused when it holds this case."""

    dir: str
    number: str = Field(min_length=1)
    title: str = Field(min_length=1)
    authority: str = Field(min_length=1)
    authority_date: str | None = None
    exhibits: list[ExhibitSpec] = Field(min_length=1)
    steps: list[Step | SopStep] = Field(default_factory=lambda: _default_steps(),
                                        description="in this order: intake, process, timeline, types, yara, "
                                                    "hashsets, then any sop:<SOP id>; default: intake, process, "
                                                    "timeline")
    options: Options = Field(default_factory=Options)  # type: ignore[arg-type]


class Manifest(_Strict):
    """A batch: one or more cases, each with its exhibits."""

    examiner: str | None = Field(None, description="the acting examiner (else --examiner or EVIDENCEKIT_EXAMINER)")
    cases: list[CaseSpec] = Field(min_length=1)
    work_dir: str | None = Field(None, description="folder the workers write plaso storage into (shared storage; "
                                                   "default: <manifest name>.work beside the manifest)")


class LoadedManifest:
    """A validated manifest with its file, its sha256 (what the ledger records) and absolute paths."""

    def __init__(self, path: Path, sha256: str, manifest: Manifest):
        self.path, self.sha256, self.manifest = path, sha256, manifest
        # (case index, exhibit index) -> why that exhibit fails in a run (the others still run)
        self.exhibit_problems: dict[tuple[int, int], Problem] = {}

    def case_dir(self, case: CaseSpec) -> Path:
        return _absolute(self.path, case.dir)

    def evidence_path(self, exhibit: ExhibitSpec) -> str:
        return str(_absolute(self.path, exhibit.path))

    def relative(self, value: str) -> Path:
        """A path of the manifest (rules, hash lists, the work folder), relative to its folder."""
        return _absolute(self.path, value)

    def work_dir(self) -> Path:
        """The batch's work folder: plaso units write their storage there (shared, writable by the
        workers); the coordinator moves it into the case."""
        if self.manifest.work_dir is not None:
            return self.relative(self.manifest.work_dir)
        return self.path.parent / f"{self.path.stem}.work"


def _absolute(manifest: Path, value: str) -> Path:
    """Relative paths in a manifest are relative to the manifest's folder, not the current one."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (manifest.parent / path).absolute()


def load_manifest(path: str | Path) -> LoadedManifest:
    """Read and validate a manifest; ManifestError (file:line:column) for every problem found."""
    file = Path(path).absolute()
    try:
        raw = file.read_bytes()
    except OSError as err:
        raise ValidationError("{file}: cannot read the manifest: {cause}", file=file,
                              cause=err.strerror or err) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ManifestError([Problem(str(file), 1, 1, "", f"not UTF-8 text ({err.reason})")]) from None
    src = _parse(text, str(file))
    if not isinstance(src.data, dict):
        raise ManifestError([Problem(str(file), 1, 1, "", "a manifest is a mapping with 'cases'")])
    try:
        manifest = Manifest.model_validate(src.data)
    except PydanticError as err:
        raise ManifestError(pydantic_problems(src, err)) from None
    loaded = LoadedManifest(file, hashlib.sha256(raw).hexdigest(), manifest)
    problems = _cross_checks(src, loaded)
    if problems:
        raise ManifestError(problems)
    return loaded


def _parse(text: str, name: str) -> Source:
    try:
        return parse_yaml(text, name)
    except SopValidationError as err:
        raise ManifestError(err.problems) from None


def _cross_checks(src: Source, loaded: LoadedManifest) -> list[Problem]:
    problems = []
    dirs: dict[Path, int] = {}
    for i, case in enumerate(loaded.manifest.cases):
        where = loaded.case_dir(case)
        if where in dirs:
            problems.append(src.problem(["cases", i, "dir"], f"case directory {where} is also cases[{dirs[where]}]"))
        dirs.setdefault(where, i)
        problems += _step_problems(src, loaded, i, case)
        seen: dict[str, int] = {}
        for j, exhibit in enumerate(case.exhibits):
            if exhibit.id in seen:  # the first is run, this one fails (as a second `case add` would)
                loaded.exhibit_problems[(i, j)] = src.problem(
                    ["cases", i, "exhibits", j, "id"],
                    f"duplicate exhibit id {exhibit.id!r} (also exhibits[{seen[exhibit.id]}]); this one is not run")
            seen.setdefault(exhibit.id, j)
    return problems


def _step_problems(src: Source, loaded: LoadedManifest, i: int, case: CaseSpec) -> list[Problem]:
    where: list[str | int] = ["cases", i, "steps"]
    order = [s for s in case.steps if not s.startswith(SOP_PREFIX)]
    sops = case.steps[len(order):]
    if (order != sorted(order, key=STEPS.index) or len(set(case.steps)) != len(case.steps)
            or any(not s.startswith(SOP_PREFIX) for s in sops)):
        return [src.problem(where, f"list each step once, in the order {', '.join(STEPS)}, then sop:<id> steps")]
    problems = []
    if "yara" in order and case.options.yara is None:
        problems.append(src.problem(where, "the 'yara' step needs options.yara (a rules file or folder)"))
    elif case.options.yara is not None and not loaded.relative(case.options.yara).exists():
        problems.append(src.problem(["cases", i, "options", "yara"], f"{loaded.relative(case.options.yara)}: "
                                                                     "no such rules file or folder"))
    if "hashsets" in order and not case.options.hashsets:
        problems.append(src.problem(where, "the 'hashsets' step needs options.hashsets"))
    for j, spec in enumerate(case.options.hashsets):
        if spec.file is not None and not loaded.relative(spec.file).is_file():
            problems.append(src.problem(["cases", i, "options", "hashsets", j, "file"],
                                        f"{loaded.relative(spec.file)}: no such hash list"))
    for step in sops:
        from evidencekit.sop.library import find_sop

        try:
            find_sop(step[len(SOP_PREFIX):])
        except ValidationError as err:
            problems.append(src.problem(["cases", i, "steps", case.steps.index(step)], str(err)))
    return problems


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the manifest (``docs/batch-manifest-schema.json``)."""
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://evidencekit.org/schemas/batch-manifest-1.json"
    schema["title"] = "evidencekit batch manifest"
    return schema


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render_schema(), end="")
