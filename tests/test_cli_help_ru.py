"""Russian help and click's own messages: every help text of every command and option has a Russian
translation (a new command without one fails here), click's usage errors and headings are Russian
with --lang ru or a Russian locale, and English stays exactly as written."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest

from evidencekit import i18n
from evidencekit.cli import main
from evidencekit.cli.reference import walk
from evidencekit.cli.translated import CLICK_DOMAIN, HELP_DOMAIN, help_msgid

COMMANDS = [(path, command) for path, command, _ctx in walk(main)]
CYRILLIC = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidencekit", *args], capture_output=True, text=True,
                          env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": "", "COLUMNS": "100", **(env or {})})


def _help_texts(command: click.Command) -> list[str]:
    texts = [command.help, command.short_help] + [getattr(p, "help", None) for p in command.params]
    return [help_msgid(t) for t in texts if t]


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_help_text_has_a_russian_translation(path: tuple[str, ...], command: click.Command) -> None:
    russian = i18n.translations(HELP_DOMAIN, "ru")
    for text in _help_texts(command):
        got = russian.gettext(text)
        assert got != text and CYRILLIC & set(got.lower()), f"{' '.join(path)}: no Russian for {text!r}"


def test_help_in_russian_and_english_unchanged() -> None:
    ru = _cli("--lang", "ru", "files", "--help")
    assert ru.returncode == 0 and ru.stdout.startswith("Использование: ")
    assert "Перечислить все записи с хешами" in ru.stdout and "Параметры:" in ru.stdout
    assert "Показать эту справку и выйти." in ru.stdout and "[по умолчанию: jsonl]" in " ".join(ru.stdout.split())
    assert _cli("files", "--help", env={"LANG": "ru_RU.UTF-8"}).stdout == ru.stdout  # the locale chooses too
    assert _cli("files", "--help", "--lang", "ru").stdout == ru.stdout  # --lang after --help too
    en = _cli("files", "--help")
    assert en.stdout.startswith("Usage: ") and "Show this message and exit." in en.stdout
    assert help_msgid(main.get_command(click.Context(main), "files").help).split("\n")[0] in " ".join(  # type: ignore[union-attr]
        en.stdout.split())  # English is the docstring as written
    listing = _cli("--lang", "ru", "case", "--help").stdout
    assert "Команды:" in listing and "Зарегистрировать EVIDENCE как объект исследования" in listing
    assert "Показать версию и выйти." in _cli("--lang", "ru", "--help").stdout


def test_click_usage_errors_in_russian() -> None:
    missing = _cli("--lang", "ru", "files")
    assert missing.returncode == 2 and missing.stderr.splitlines()[-1] == "Ошибка: Не указан аргумент 'EVIDENCE'."
    assert "Использование: " in missing.stderr and "Справка: «" in missing.stderr
    option = _cli("files", "x", "--nosuch", env={"LC_ALL": "ru_RU.UTF-8"})
    assert option.stderr.splitlines()[-1] == "Ошибка: Нет такого параметра: '--nosuch'."
    choice = _cli("--lang", "ru", "files", "x", "--format", "zz")
    assert choice.stderr.splitlines()[-1].startswith("Ошибка: Недопустимое значение '--format': 'zz' — не одно из")
    english = _cli("files", "x", "--format", "zz")
    assert english.stderr.splitlines()[-1] == ("Error: Invalid value for '--format': 'zz' is not one of 'jsonl', "
                                               "'csv', 'bodyfile', 'dfxml'.")


@pytest.mark.parametrize(("n", "word"), [(1, "аргумент"), (2, "аргумента"), (5, "аргументов"), (22, "аргумента")])
def test_click_plurals_come_from_the_catalogue(n: int, word: str) -> None:
    got = i18n.ngettext(CLICK_DOMAIN, "ru", "Option {name!r} requires an argument.",
                        "Option {name!r} requires {nargs} arguments.", n).format(name="--x", nargs=n)
    assert got.startswith("Параметру '--x' нуж")
    assert got.endswith(f"{n} {word}.")


def test_one_process_keeps_each_invocations_language(capsys: pytest.CaptureFixture[str]) -> None:
    """click caches a command's --help option when it is first made: a Russian invocation must not
    leave its words to a later English one in the same process (the library used in-process)."""
    for lang, expected in (("ru", "Показать эту справку и выйти."), ("en", "Show this message and exit."),
                           ("ru", "Показать эту справку и выйти.")):
        with pytest.raises(SystemExit):
            main(["--lang", lang, "files", "--help"], prog_name="evidencekit")
        assert expected in capsys.readouterr().out
