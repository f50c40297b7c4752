"""Russian in the command line: --lang and the locale, plurals from the catalogue, a Russian
"yes" where "y" is accepted, and Russian words never broken inside by the table renderer."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from rich.console import Console
from rich.table import Table

from evidencekit import i18n
from evidencekit.cli.sop_prompt import parse_yes_no


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidencekit", *args], capture_output=True, text=True,
                          env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": "", **(env or {})})


@pytest.mark.parametrize(("n", "points", "digits"), [
    (1, "1 балл", "1 знак дробной части"), (2, "2 балла", "2 знака дробной части"),
    (5, "5 баллов", "5 знаков дробной части"), (11, "11 баллов", "11 знаков дробной части"),
    (21, "21 балл", "21 знак дробной части"), (104, "104 балла", "104 знака дробной части"),
])
def test_russian_plurals(n: int, points: str, digits: str) -> None:
    assert i18n.ngettext("cli", "ru", "{n} pt", "{n} pts", n).format(n=n) == points
    assert i18n.ngettext("cli", "ru", "{n} fractional digit", "{n} fractional digits", n).format(n=n) == digits
    assert i18n.ngettext("cli", "en", "{n} pt", "{n} pts", n).format(n=n) == (f"{n} pt" if n == 1 else f"{n} pts")


def test_lang_option_and_locale_choose_the_language() -> None:
    error = _cli("--lang", "ru", "case", "status", "/nonexistent/case")
    assert error.returncode == 2 and error.stderr.startswith("evidencekit: ошибка: ")
    assert _cli("case", "status", "/nonexistent/case", env={"LANG": "ru_RU.UTF-8"}).stderr.startswith(
        "evidencekit: ошибка: ")
    assert _cli("case", "status", "/nonexistent/case", "--lang", "en",
                env={"LANG": "ru_RU.UTF-8"}).stderr.startswith("evidencekit: error: ")
    exercise = _cli("training", "exercise", "usb-data-theft", env={"LC_ALL": "ru_RU.UTF-8"})
    assert exercise.returncode == 0 and "## Вопросы" in exercise.stdout and "1 балл)" in exercise.stdout


def test_grader_feedback_in_russian_uses_the_plural_forms(tmp_path) -> None:
    sheet = tmp_path / "answers.yaml"
    sheet.write_text("q1: WRONG\n")
    graded = _cli("training", "grade", "usb-data-theft", str(sheet), "--lang", "ru")
    assert graded.returncode == 1 and "оценка: 0/" in graded.stdout and "неверно" in graded.stdout
    times = [line for line in graded.stdout.splitlines() if "сравнение в UTC" in line]
    assert all("знака дробной" in t or "знаков дробной" in t for t in times)


def test_a_russian_yes_is_a_yes() -> None:
    assert [parse_yes_no(w) for w in ("y", "Yes", "д", "Да", "n", "нет", "Н", "maybe")] == \
        [True, True, True, True, False, False, False, None]


def test_table_does_not_break_russian_words() -> None:
    from evidencekit.cli.sop import _longest_word

    words = "Проверка целостности упаковки вещественного доказательства"
    table = Table()
    table.add_column("Шаг", overflow="fold", min_width=_longest_word(["Шаг", words]))
    table.add_column("Подробности", overflow="fold")
    table.add_row(words, "засвидетельствовано")
    console = Console(width=40, record=True, color_system=None)
    console.print(table)
    lines = console.export_text().splitlines()
    cells = " ".join(line.split("│")[1] for line in lines if line.count("│") >= 3)
    assert all(word in cells.split() for word in words.split())  # every word whole on some line
