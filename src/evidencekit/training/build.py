"""Build scenarios: run a builder, then write the exercise files, the trainer key and SHA256SUMS."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from evidencekit.errors import ValidationError
from evidencekit.training import answers, catalog
from evidencekit.training.tools import BuildError, sha256_file
from evidencekit.yamlsafe import load_yaml

SUMS = "SHA256SUMS"


def build(names: list[str] | None, out_root: Path,
          progress: Callable[[str, int, int], None] | None = None) -> list[Path]:
    """Build the named scenarios (all when None) under ``out_root``; return their folders.

    ``progress(name, done, total)``: before each scenario (``name``, how many are built of how
    many) and, with ``name`` "", once all are."""
    out_root.mkdir(parents=True, exist_ok=True)
    done: list[Path] = []
    todo = names or catalog.names()
    for name in todo:
        if progress:
            progress(name, len(done), len(todo))
        done.append(build_one(name, out_root))
    if progress:
        progress("", len(done), len(todo))
    write_sums(out_root)
    write_index(out_root)
    return done


def build_one(name: str, out_root: Path) -> Path:
    texts = catalog.texts(name)
    target = out_root / name
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_root))
    try:
        work, out = staging / "work", staging / "out"
        work.mkdir()
        out.mkdir()
        facts = catalog.builder(name).build(work, out)
        missing = [q.answer for q in texts.questions if q.answer not in facts]
        if missing:
            raise BuildError(f"{name}: builder gave no answer for {', '.join(missing)}")
        write_exercise(texts, facts, out)
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_key(texts, facts, out_root / catalog.TRAINER_DIR / f"{name}.key.yaml")
    return target


def _dump(data: Any, path: Path) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")


def write_exercise(texts: catalog.Texts, facts: dict[str, Any], out: Path) -> None:
    """questions.yaml (salted answer hashes only), briefings, README with evidence hashes."""
    questions = []
    for q in texts.questions:
        salt = answers.salt_for(texts.name, q)
        accepted = [str(facts[q.answer]), *q.accept]
        hashes = sorted({answers.digest(salt, answers.canonical(q, a)) for a in accepted})
        entry: dict[str, Any] = {"id": q.id, "kind": q.kind, "points": q.points}
        if q.kind == "time":
            entry["digits"] = q.digits
        if q.kind in ("path", "text"):
            entry["case_sensitive"] = q.case_sensitive
        entry.update({"en": q.text["en"], "ru": q.text["ru"], "salt": salt, "answer_sha256": hashes})
        questions.append(entry)
    _dump({"scenario": texts.name, "format": 1, "title": texts.title, "evidence": list(texts.evidence),
           "questions": questions}, out / "questions.yaml")
    for lang in ("en", "ru"):
        (out / f"briefing.{lang}.md").write_text(
            f"# {texts.title[lang]}\n\n{texts.briefing[lang]}", encoding="utf-8")
    lines = [f"# {texts.title['en']} ({texts.name})", "", texts.readme.rstrip(), "", "## Evidence files", ""]
    for rel in texts.evidence:
        path = out / rel
        if path.is_file():
            lines.append(f"- `{rel}`: {path.stat().st_size} bytes, SHA-256 `{sha256_file(path)}`")
        else:
            lines.append(f"- `{rel}/`: folder (per-file SHA-256 in `../SHA256SUMS`)")
    lines += ["", "Exercise: `evidencekit training exercise " + texts.name + " [--lang ru]`; grading: "
              "`evidencekit training grade " + texts.name + " answers.yaml`. The answer key is not in "
              "this folder (`questions.yaml` holds only salted hashes of the answers). The full contents "
              f"and the key are in `../{catalog.TRAINER_DIR}/{texts.name}.md` (trainers only).", ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


def write_key(texts: catalog.Texts, facts: dict[str, Any], path: Path) -> None:
    """The trainer-only key (YAML for machines, Markdown with the full story for people)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _dump({"scenario": texts.name, "answers": [
        {"id": q.id, "kind": q.kind, "answer": facts[q.answer], "how": q.how} for q in texts.questions]}, path)
    lines = [f"# {texts.title['en']} ({texts.name}): trainer notes", "", "Spoilers: do not hand this file to "
             "trainees.", "", "## What is in the evidence", "", texts.contents.rstrip(), "", "## Answer key", ""]
    for q in texts.questions:
        lines += [f"- **{q.id}** {q.text['en']}", f"  - answer: `{facts[q.answer]}`", f"  - how: {q.how}"]
    path.with_suffix("").with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_sums(out_root: Path) -> Path:
    """SHA256SUMS over every file of every scenario folder (sha256sum -c format)."""
    lines = []
    for path in sorted(out_root.rglob("*")):
        rel = path.relative_to(out_root)
        if path.is_file() and rel.parts[0] in catalog.builders():
            lines.append(f"{sha256_file(path)}  {rel.as_posix()}")
    sums = out_root / SUMS
    sums.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sums


def write_index(out_root: Path) -> Path:
    """training_images/README.md: the scenarios present and how to use them."""
    lines = ["# Training images", "", "Sample evidence with known answers, built byte-identically by "
             "`evidencekit training build` (see docs/training.md). Verify with `sha256sum -c SHA256SUMS`.", "",
             "| scenario | evidence | questions |", "|---|---|---|"]
    for name in catalog.names():
        if (out_root / name / "questions.yaml").is_file():
            texts = catalog.texts(name)
            files = ", ".join(f"`{e}`" for e in texts.evidence)
            lines.append(f"| [{name}]({name}/README.md): {texts.title['en']} | {files} | {len(texts.questions)} |")
    lines += ["", f"`{catalog.TRAINER_DIR}/` holds the plaintext answer keys for trainers: remove it from copies "
              "handed to trainees. The grader needs only `questions.yaml` (salted answer hashes).", ""]
    index = out_root / "README.md"
    index.write_text("\n".join(lines), encoding="utf-8")
    return index


def load_key(name: str, images: Path | None = None) -> dict[str, Any]:
    """Read a trainer key (for trainers and tests): {question id: answer}."""
    path = (images or catalog.default_images_dir()) / catalog.TRAINER_DIR / f"{catalog.check_name(name)}.key.yaml"
    if not path.is_file():
        raise ValidationError("{path}: trainer key not found", path=path)
    data = load_yaml(path.read_text(encoding="utf-8"), str(path))
    return {a["id"]: a["answer"] for a in data["answers"]}
