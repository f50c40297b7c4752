"""The scenario catalogue: builder modules, texts (briefings, questions) and where images live."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

from evidencekit import settings
from evidencekit.errors import ValidationError

KINDS = ("text", "path", "hash", "time", "count")
TRAINER_DIR = "trainer"


class Builder(Protocol):
    NAME: str
    TOOLS: tuple[str, ...]

    def build(self, work: Path, out: Path) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    text: dict[str, str]
    answer: str  # key into the builder's facts
    how: str = ""
    digits: int = 0
    case_sensitive: bool = False
    points: int = 1
    accept: tuple[str, ...] = ()


@dataclass(frozen=True)
class Texts:
    name: str
    title: dict[str, str]
    briefing: dict[str, str]
    readme: str  # what trainees may read: formats and how it was built
    contents: str  # the full story (spoilers): for trainers and engineers, kept in trainer/
    filesystem: str
    evidence: tuple[str, ...]
    questions: tuple[Question, ...] = field(default_factory=tuple)


def builders() -> dict[str, str]:
    """Scenario name -> builder module (plugin registry kind ``training``; the module exposes
    ``build(work, out) -> facts``)."""
    from evidencekit.registry import registry

    return {item.name: item.target for item in registry().items("training")}


def names() -> list[str]:
    return list(builders())


def check_name(name: str) -> str:
    if name not in builders():
        raise ValidationError("unknown training scenario '{name}' (known: {listing})", name=name,
                              listing=', '.join(builders()))
    return name


def builder(name: str) -> Builder:
    return importlib.import_module(builders()[check_name(name)])  # type: ignore[return-value]


def texts(name: str) -> Texts:
    """Briefings, readme and questions of a scenario (package data)."""
    raw = yaml.safe_load(resources.files("evidencekit.training").joinpath(
        f"texts/{check_name(name)}.yaml").read_text(encoding="utf-8"))
    case_sensitive = raw["filesystem"] in ("ext4", "ext2", "ext3")
    questions = tuple(
        Question(id=q["id"], kind=q["kind"], text={"en": q["en"], "ru": q["ru"]}, answer=q["answer"],
                 how=q.get("how", ""), digits=int(q.get("digits", 0)),
                 case_sensitive=bool(q.get("case_sensitive", case_sensitive if q["kind"] == "path" else False)),
                 points=int(q.get("points", 1)), accept=tuple(q.get("accept", ())))
        for q in raw["questions"])
    return Texts(name=name, title=raw["title"], briefing=raw["briefing"], readme=raw["readme"], contents=raw["contents"],
                 filesystem=raw["filesystem"], evidence=tuple(raw["evidence"]), questions=questions)


def default_images_dir() -> Path:
    """$EVIDENCEKIT_TRAINING_IMAGES, else training_images/ of the source checkout."""
    chosen = settings.get().training_images
    if chosen is not None:
        return chosen
    return Path(__file__).resolve().parents[3] / "training_images"


def scenario_dir(name: str, images: Path | None = None) -> Path:
    return (images or default_images_dir()) / check_name(name)
