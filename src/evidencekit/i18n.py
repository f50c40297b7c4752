"""Message catalogues: gettext ``.po`` files, one per domain and language.

Catalogues live in ``evidencekit/locale/<lang>/LC_MESSAGES/<domain>.po`` (domains: ``cli``,
``report``, ...). English is the source language (the msgids), so it needs no catalogue. The
``.po`` files are read with Babel at first use and compiled in memory: there is no build step to
forget, and adding Kazakh or Uzbek is adding ``kk/`` or ``uz/`` catalogues, not code.

Plural forms come from each catalogue's ``Plural-Forms`` header, so ``ngettext`` gives Russian
its three forms ("1 знак", "2 знака", "5 знаков").
"""

from __future__ import annotations

import functools
import gettext as _gettext
import io
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locale")
SOURCE_LANG = "en"


def available() -> tuple[str, ...]:
    """Languages with at least one catalogue, plus English."""
    found = {p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir()} if LOCALE_DIR.is_dir() else set()
    return tuple(sorted(found | {SOURCE_LANG}))


def choose(explicit: str | None = None) -> str:
    """The language: ``explicit`` (``--lang``), else the locale ($LC_ALL, $LC_MESSAGES, $LANG), else English."""
    langs = available()
    if explicit:
        code = explicit.split("_")[0].split(".")[0].lower()
        return code if code in langs else SOURCE_LANG
    from evidencekit import settings

    value = settings.get().locale
    if value:
        code = value.split("_")[0].split(".")[0].lower()
        return code if code in langs else SOURCE_LANG
    return SOURCE_LANG


@functools.cache
def translations(domain: str, lang: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``domain`` in ``lang`` (identity for English or a missing catalogue)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    if lang == SOURCE_LANG or not po.is_file():
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=domain)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def gettext(domain: str, lang: str, message: str) -> str:
    return translations(domain, lang).gettext(message)


def ngettext(domain: str, lang: str, singular: str, plural: str, n: int) -> str:
    return translations(domain, lang).ngettext(singular, plural, n)
