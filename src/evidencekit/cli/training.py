"""`evidencekit training`: build sample evidence, print exercises, grade answer sheets."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evidencekit.cli.common import progress_bar
from evidencekit.cli.lang import _
from evidencekit.training import build as builder
from evidencekit.training import catalog, grader

IMAGES_OPTION = click.option(
    "--images", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder holding the built scenarios (default: $EVIDENCEKIT_TRAINING_IMAGES or training_images/).")


@click.group("training")
def training() -> None:
    """Training scenarios: sample evidence with known answers, exercises and a grader."""


@training.command("list")
@IMAGES_OPTION
def list_cmd(images: Path | None) -> None:
    """List the scenarios and whether they are built."""
    for name in catalog.names():
        built = (catalog.scenario_dir(name, images) / "questions.yaml").is_file()
        click.echo(f"{name:20} {catalog.texts(name).title['en']}{'' if built else '  (not built)'}")


@training.command("build")
@click.argument("scenario", required=False, type=click.Choice(catalog.names()))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: the training_images/ folder).")
def build_cmd(scenario: str | None, out: Path | None) -> None:
    """Build SCENARIO (all when omitted) byte-identically with Debian tools."""
    target = out or catalog.default_images_dir()
    with progress_bar(_("building scenarios"), unit="scenarios") as bar:
        def progress(name: str, done: int, total: int) -> None:
            bar.update(done, total)
            if name:
                bar.describe(_("building {name}", name=name))

        done = builder.build([scenario] if scenario else None, target, progress=progress)
    for folder in done:
        click.echo(str(folder))
    click.echo(str(target / builder.SUMS))


@training.command("exercise")
@click.argument("scenario", type=click.Choice(catalog.names()))
@click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True,
              help="Language of the briefing and questions.")
@IMAGES_OPTION
def exercise_cmd(scenario: str, lang: str, images: Path | None) -> None:
    """Print the briefing and the questions of SCENARIO."""
    click.echo(grader.exercise_text(scenario, lang, images), nl=False)


@training.command("grade")
@click.argument("scenario", type=click.Choice(catalog.names()))
@click.argument("answers", type=click.Path(dir_okay=False, path_type=Path))
@IMAGES_OPTION
@click.option("--show-expected", is_flag=True,
              help="Trainers: show the expected answer of every question not answered correctly "
                   "(needs the trainer/ key folder).")
@click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True,
              help="Language of the feedback.")
def grade_cmd(scenario: str, answers: Path, images: Path | None, show_expected: bool, lang: str) -> None:
    """Score the answer sheet ANSWERS (YAML: q1: ..., q2: ...) with feedback per question.

    Exits 0 on full marks, 1 otherwise.
    """
    result = grader.grade(scenario, answers, images, lang)
    expected = builder.load_key(scenario, images) if show_expected else {}
    for fb in result.feedback:
        shown = f" (expected: {expected[fb.id]})" if fb.id in expected and fb.status != "correct" else ""
        click.echo(f"{fb.id:4} {fb.earned}/{fb.points}  {fb.status:9}  {fb.message}{shown}")
    click.echo(_("score: {score}/{total}", score=result.score, total=result.total))
    sys.exit(0 if result.score == result.total else 1)


COMMANDS = [training]
