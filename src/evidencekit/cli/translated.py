"""Help texts and click's own messages in the chosen language.

Help: every command and option keeps its English help (the msgid); :class:`TranslatedHelp`
puts the ``help`` catalogue's translation in its place while click formats the help or the
command list, and puts the English back after, so the language is chosen per invocation
(``--lang`` may come before or after ``--help``) and English stays exactly as written.

click's messages ("Usage:", "Missing argument", "No such option", "Show this message and exit.")
go through ``gettext`` in each click module, bound at import to the process-wide ``messages``
domain, which reads compiled ``.mo`` files from the system's locale folder. click has no hook
for another catalogue, so :func:`install_click_catalogue` points those module-level names at
the ``click`` catalogue of :mod:`evidencekit.i18n` (``locale/<lang>/LC_MESSAGES/click.po``).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from evidencekit import i18n

HELP_DOMAIN = "help"
CLICK_DOMAIN = "click"
CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui", "utils",
                 "shell_completion")


def _lang() -> str:
    from evidencekit.cli.lang import current

    return current()


def help_msgid(text: str | None) -> str:
    """The msgid of a help text: as click shows it (dedented, cut at a form feed)."""
    return inspect.cleandoc(text or "").partition("\f")[0].strip()


def translate_help(text: str | None) -> str | None:
    if not text:
        return text
    return i18n.gettext(HELP_DOMAIN, _lang(), help_msgid(text))


@contextmanager
def _translated(command: click.Command) -> Iterator[None]:
    """The command's and its options' help in the chosen language, for the time of a format."""
    saved: list[tuple[Any, str, Any]] = [(command, "help", command.help), (command, "short_help", command.short_help)]
    saved += [(p, "help", getattr(p, "help", None)) for p in command.params]
    if _lang() == i18n.SOURCE_LANG:
        yield
        return
    try:
        for obj, attr, value in saved:
            setattr(obj, attr, translate_help(value))
        yield
    finally:
        for obj, attr, value in saved:
            setattr(obj, attr, value)


def _early_lang(args: list[str]) -> None:
    """``--lang`` read before the other options: ``--help --lang ru`` prints its help in Russian,
    although click runs ``--help`` (eager) before the ``--lang`` after it."""
    from evidencekit.cli.lang import choose

    for i, arg in enumerate(args):
        if arg == "--":
            return
        if arg == "--lang" and i + 1 < len(args):
            choose(None, None, args[i + 1])
        elif arg.startswith("--lang="):
            choose(None, None, arg.partition("=")[2])


class TranslatedHelp(click.Command):
    """Formats help in the chosen language (see the module's docstring)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        _early_lang(args)
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _translated(self):
            super().format_help(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        with _translated(self):
            return super().get_short_help_str(limit)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        # click makes this option once per command, in the language of that first invocation:
        # give it this invocation's words (the library may run several invocations in one process)
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = _click_gettext("Show this message and exit.")
        return option


_CLASSES: dict[type, type] = {}


def use_translated_help(command: click.Command) -> None:
    """Give ``command`` and its subcommands :class:`TranslatedHelp` (a subclass of their own class),
    so that command modules keep declaring plain click commands."""
    cls = type(command)
    if not issubclass(cls, TranslatedHelp):
        if cls not in _CLASSES:
            _CLASSES[cls] = type(f"Translated{cls.__name__}", (TranslatedHelp, cls), {})
        command.__class__ = _CLASSES[cls]
    for sub in getattr(command, "commands", {}).values():
        use_translated_help(sub)


_IMPORTING = {"on": False}


@contextmanager
def english_while_importing() -> Iterator[None]:
    """click translates some words when a command is declared (a Path's name, "file", becomes its
    metavar FILE): a command module imported now must not keep this invocation's language."""
    _IMPORTING["on"] = True
    try:
        yield
    finally:
        _IMPORTING["on"] = False


def _click_lang() -> str:
    return i18n.SOURCE_LANG if _IMPORTING["on"] else _lang()


def _click_gettext(message: str) -> str:
    return i18n.gettext(CLICK_DOMAIN, _click_lang(), message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(CLICK_DOMAIN, _click_lang(), singular, plural, n)


def install_click_catalogue() -> None:
    """click's messages through the ``click`` catalogue in the chosen language (English unchanged)."""
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = _click_gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _click_ngettext  # type: ignore[attr-defined]
