"""The language of the command line: ``--lang``, else the locale ($LC_ALL, $LC_MESSAGES, $LANG).

Messages go through the ``cli`` catalogue of :mod:`evidencekit.i18n` (gettext ``.po`` files:
``evidencekit/locale/<lang>/LC_MESSAGES/cli.po``), with the catalogue's plural forms, so Russian
says "1 файл", "2 файла", "5 файлов". The msgid is the English text.
"""

from __future__ import annotations

import click

from evidencekit import errors, i18n

DOMAIN = "cli"
ERRORS_DOMAIN = "errors"  # the library's error messages (evidencekit/errors.py)
_STATE = {"lang": ""}


def reset() -> None:
    _STATE["lang"] = ""


def current() -> str:
    """The chosen language code (``en``, ``ru``, ...)."""
    if not _STATE["lang"]:
        _STATE["lang"] = i18n.choose(None)
    return _STATE["lang"]


def choose(ctx: click.Context | None, _param: object, value: str | None) -> str:
    """``--lang`` callback: an explicit language wins over one given earlier and the locale."""
    if value:
        _STATE["lang"] = i18n.choose(value)
    return current()


def choose_own(ctx: click.Context | None, param: object, value: str | None) -> str:
    """A command's own ``--lang`` (report, sop, training): it also sets the language of messages,
    and the command gets the language asked for, so that it can refuse one it has no catalogue for."""
    chosen = choose(ctx, param, value)
    return value or chosen


def _(message: str, **args: object) -> str:
    """``message`` in the chosen language, formatted with ``args``."""
    text = i18n.gettext(DOMAIN, current(), message)
    return text.format(**args) if args else text


def n_(singular: str, plural: str, n: int, **args: object) -> str:
    """The plural form for ``n`` in the chosen language, formatted with ``n`` and ``args``."""
    return i18n.ngettext(DOMAIN, current(), singular, plural, n).format(n=n, **args)


def error_line(err: BaseException) -> str:
    """An error's message in the chosen language, through the ``errors`` catalogue (templates and
    plural forms: see :mod:`evidencekit.errors`)."""
    return errors.render(err, i18n.translations(ERRORS_DOMAIN, current()))


LANG_OPTION = click.option("--lang", metavar="LANG", default=None, expose_value=False, is_eager=True,
                           callback=choose, help="Language of messages (en, ru); default: the locale.")
